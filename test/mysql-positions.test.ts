// MySQL 9.7's positions on the real server, beside the MariaDB ones in positions.test.ts: a GTID
// checkpoint whose binlog was purged is refused with what was lost and what to do, by `sluice check`
// before a start and by the daemon at one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeWorkspace, startDaemon, startSluice } from './helpers/daemon.ts';
import { gtidExecuted, runUntilMySqlCaughtUp, startPrivateMySql } from './helpers/mysql-gtid.ts';

test('a MySQL GTID checkpoint whose binlog was purged: check and the daemon name the position, gtid_purged and the way on', { timeout: 120_000 }, async () => {
  // A private server: purging the shared one's binlogs would take other tests' positions away.
  const server = await startPrivateMySql('purge');
  try {
    const db = await server.rootConnection();
    await db.query('CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY)');
    const workspace = makeWorkspace(server, { start: `{ gtid: '${await gtidExecuted(server)}' }`, routing: "  include: ['shop.*']" });
    await db.query('INSERT INTO shop.t VALUES (1)');
    await runUntilMySqlCaughtUp(workspace, server);
    const checkpointed = await gtidExecuted(server);

    // Transaction 2 goes into a file that is purged: the checkpoint lacks exactly its GTID.
    await db.query('FLUSH BINARY LOGS');
    await db.query('INSERT INTO shop.t VALUES (2)');
    const [[{ lost }]] = (await db.query('SELECT GTID_SUBTRACT(@@GLOBAL.gtid_executed, ?) AS lost', [checkpointed])) as unknown as [[{ lost: string }]];
    await db.query('FLUSH BINARY LOGS');
    const [[head]] = (await db.query('SHOW BINARY LOG STATUS')) as unknown as [[{ File: string }]];
    await db.query(`PURGE BINARY LOGS TO '${head.File}'`);
    await db.query('INSERT INTO shop.t VALUES (3)');
    const [[{ purged }]] = (await db.query('SELECT @@GLOBAL.gtid_purged AS purged')) as unknown as [[{ purged: string }]];
    await db.end();

    const said = (output: string) => {
      assert.match(output, /no longer has binlog position mysql-bin\.\d+:\d+ \(GTID [0-9a-f-]{36}:1-\d+\)/);
      assert.ok(output.includes(`it purged the GTIDs ${purged.replace(/\n/g, '')} (gtid_purged), of which the position lacks ${lost}`), output);
      assert.ok(output.includes(`The oldest binlog file it has is ${head.File}`), output);
      assert.match(output, /take a new snapshot of the tables, point sluice at a server that still has them \(same GTIDs\), or move the checkpoint with `sluice checkpoint set`/);
      assert.match(output, /SLUICE_BINLOG_POSITION_PURGED/);
    };
    // Before a start: `sluice check` fails on the checkpoint's position.
    const check = startSluice(['check', '--config', workspace.configFile], { cwd: workspace.dir, env: { SLUICE_TEST_PASSWORD: server.password } });
    assert.equal((await check.exited).code, 1, check.output());
    const line = check.output().split('\n').find((entry) => entry.includes('checkpoint position')) ?? '';
    assert.match(line, /^FAIL {2}checkpoint position: /);
    said(line);

    // At a start: exit 78, which systemd does not restart (a restart cannot bring the binlog back).
    const daemon = startDaemon(workspace, server);
    assert.equal((await daemon.exited).code, 78, daemon.output().slice(-3000));
    said(daemon.output());
  } finally {
    await server.stop();
  }
});
