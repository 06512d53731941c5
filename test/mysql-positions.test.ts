// MySQL 9.7's positions on the real server, beside the MariaDB ones in positions.test.ts: a GTID
// checkpoint whose binlog was purged is refused with what was lost and what to do, by `sluice check`
// before a start and by the daemon at one; with gtid_mode=OFF, file and offset carry a run across a
// clean stop and a kill -9 with nothing doubled, and a snapshot (snapshot.mode) is refused at the
// start, since only a GTID set tells when a change the stream read is visible to a chunk's read.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { exitWithin, fatalLine, latestCheckpoint, makeWorkspace, metricsPort, startDaemon, startSluice, until, waitForChangesRead, type DaemonWorkspace, type RunningDaemon } from './helpers/daemon.ts';
import { gtidExecuted, runUntilMySqlCaughtUp, startPrivateMySql } from './helpers/mysql-gtid.ts';
import { bySequence, readCommittedRows } from './helpers/warehouse.ts';

async function changes(workspace: DaemonWorkspace, database: string): Promise<unknown[][]> {
  const rows = bySequence(await readCommittedRows(new LocalCatalog(workspace.catalogDir), new LocalFileSystem(workspace.warehouse), database, 't'));
  return rows.map((row) => [row._op, row.id, row.v]);
}

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

test('gtid_mode=OFF: file+offset checkpoints resume across a clean stop and a kill -9, every change once', { timeout: 180_000 }, async () => {
  const server = await startPrivateMySql('nogtid', { gtid: false });
  const db = await server.rootConnection();
  const head = async (): Promise<{ file: string; offset: number }> => {
    const [[status]] = (await db.query('SHOW BINARY LOG STATUS')) as unknown as [[{ File: string; Position: number }]];
    return { file: status.File, offset: Number(status.Position) };
  };
  const expected: unknown[][] = [];
  // A failed wait must not leave a daemon running: the test process would wait for it for ever.
  const daemons: RunningDaemon[] = [];
  const start = (workspace: DaemonWorkspace) => {
    const daemon = startDaemon(workspace, server);
    daemons.push(daemon);
    return daemon;
  };
  const write = async (sql: string, ...landed: unknown[][]) => {
    await db.query(sql);
    expected.push(...landed);
  };
  try {
    await db.query('CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v VARCHAR(20))');
    // A start at a file and offset: 'latest' would be the head when the daemon looks, after the first writes.
    const from = await head();
    const workspace = makeWorkspace(server, { start: `{ file: '${from.file}', position: ${from.offset} }`, routing: "  include: ['shop.*']", intervalSeconds: 600 });

    // Run 1 ends with a clean stop: its final checkpoint is the head, as file and offset, no GTIDs.
    const first = start(workspace);
    await metricsPort(first);
    await write("INSERT INTO shop.t VALUES (1, 'a'), (2, 'b')", ['insert', '1', 'a'], ['insert', '2', 'b']);
    await write("UPDATE shop.t SET v = 'c' WHERE id = 1", ['update', '1', 'c']);
    await waitForChangesRead(first, 3);
    first.child.kill('SIGTERM');
    assert.equal((await first.exited).code, 0, first.output().slice(-3000));
    assert.deepEqual((await latestCheckpoint(workspace))?.source.position, await head(), 'the final checkpoint is the head, by file and offset');

    // Run 2 resumes there, reads what came while it was down, and is killed before it checkpoints.
    await write("INSERT INTO shop.t VALUES (3, 'd'); DELETE FROM shop.t WHERE id = 2", ['insert', '3', 'd'], ['delete', '2', 'b']);
    await db.query('FLUSH BINARY LOGS'); // the next change is in another file than the checkpoint's
    await write("UPDATE shop.t SET v = 'e' WHERE id = 3", ['update', '3', 'e']);
    const second = start(workspace);
    await waitForChangesRead(second, 3);
    second.child.kill('SIGKILL');
    await second.exited;
    assert.match(second.output(), /checkpoint at mysql-bin\.\d+:\d+/);

    // Run 3 resumes from the same file and offset again and goes on.
    writeFileSync(workspace.configFile, readFileSync(workspace.configFile, 'utf8').replace('intervalSeconds: 600', 'intervalSeconds: 0.3'));
    const third = start(workspace);
    try {
      await metricsPort(third);
      await write("INSERT INTO shop.t VALUES (4, 'f')", ['insert', '4', 'f']);
      const end = await head();
      await until('a checkpoint at the head', third, async () => {
        const position = (await latestCheckpoint(workspace))?.source.position;
        return position?.file === end.file && position.offset >= end.offset ? position : undefined;
      });
    } finally {
      third.child.kill('SIGTERM');
      assert.equal((await third.exited).code, 0, third.output().slice(-3000));
    }
    assert.deepEqual(await changes(workspace, 'shop'), expected, 'every change once, in commit order');

    // A snapshot needs GTIDs on MySQL: refused at the start, naming the setting, gtid_mode and the fix.
    const snapshotting = makeWorkspace(server, { start: 'latest', routing: "  include: ['shop.*']", extra: 'snapshot:\n  mode: initial\n' });
    const refused = start(snapshotting);
    assert.notEqual(await exitWithin(refused, 30_000, 'a snapshot without GTIDs stops the start'), 0);
    const fatal = fatalLine(refused);
    assert.equal(fatal.code, 'SLUICE_SNAPSHOT', refused.output().slice(-2000));
    assert.match(fatal.msg, /snapshot\.mode: initial needs gtid_mode=ON on MySQL/);
    assert.match(fatal.msg, /gtid_mode=OFF/);
    assert.match(fatal.msg, /Fix: turn GTIDs on/);
    assert.equal(await latestCheckpoint(snapshotting), undefined, 'nothing is recorded');
  } finally {
    for (const daemon of daemons) daemon.child.kill('SIGKILL');
    await db.end();
    await server.stop();
  }
});

test('after failover the MySQL GTID checkpoint resumes on a replica of the same GTID set: every change once', { timeout: 180_000 }, async () => {
  const primary = await startPrivateMySql('primary', { serverId: 1 });
  const replica = await startPrivateMySql('replica', { serverId: 2 }); // log_replica_updates is on by default
  try {
    const onPrimary = await primary.rootConnection();
    const onReplica = await replica.rootConnection();
    // The replica starts from the primary's current state: what it has (the same grants) counts as applied.
    const start = await gtidExecuted(primary);
    await onReplica.query('RESET BINARY LOGS AND GTIDS');
    await onReplica.query('SET GLOBAL gtid_purged = ?', [start]);
    await onReplica.query(
      `CHANGE REPLICATION SOURCE TO SOURCE_HOST = '127.0.0.1', SOURCE_PORT = ${primary.port}, SOURCE_USER = '${primary.user}', ` +
        `SOURCE_PASSWORD = '${primary.password}', SOURCE_AUTO_POSITION = 1, GET_SOURCE_PUBLIC_KEY = 1; START REPLICA`,
    );
    await onPrimary.query('CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v VARCHAR(10))');
    const workspace = makeWorkspace(primary, { start: `{ gtid: '${start}' }`, routing: "  include: ['shop.*']" });
    await onPrimary.query("INSERT INTO shop.t VALUES (1, 'a'), (2, 'b'); UPDATE shop.t SET v = 'c' WHERE id = 1");
    await runUntilMySqlCaughtUp(workspace, primary);

    await onPrimary.query("INSERT INTO shop.t VALUES (3, 'd'); DELETE FROM shop.t WHERE id = 2");
    const end = await gtidExecuted(primary);
    const [[{ waited }]] = (await onReplica.query('SELECT WAIT_FOR_EXECUTED_GTID_SET(?, 30) AS waited', [end])) as unknown as [[{ waited: number }]];
    assert.equal(Number(waited), 0, 'the replica caught up');
    await onPrimary.end();
    await primary.stop(); // the primary is gone

    // The same workspace, pointed at the replica: only the server moved.
    writeFileSync(workspace.configFile, readFileSync(workspace.configFile, 'utf8').replace(`port: ${primary.port}`, `port: ${replica.port}`));
    await onReplica.query("INSERT INTO shop.t VALUES (4, 'e')"); // written on the replica, under its own UUID
    await runUntilMySqlCaughtUp(workspace, replica);
    await onReplica.end();
    assert.deepEqual(await changes(workspace, 'shop'), [
      ['insert', '1', 'a'],
      ['insert', '2', 'b'],
      ['update', '1', 'c'],
      ['insert', '3', 'd'],
      ['delete', '2', 'b'],
      ['insert', '4', 'e'],
    ]);
  } finally {
    await replica.stop();
    await primary.stop();
  }
});
