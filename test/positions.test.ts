// Losing the place is the worst thing a CDC tool can do silently. A purged position is a clear
// error; a GTID position resumes on another server with the same history (failover).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { CheckpointStore } from '../src/checkpoint/checkpoint-store.ts';
import { type DaemonWorkspace, gtidBinlogPos, latestCheckpoint, makeWorkspace, metricsPort, startDaemon, waitForCheckpoint, withDaemon } from './helpers/daemon.ts';
import { purgeBinlogsTo } from './helpers/purge-binlogs.ts';
import { bySequence, readCommittedRows } from './helpers/warehouse.ts';
import { startMariaDb, type MariaDbServer } from './servers/mariadb.ts';

async function runUntilCaughtUp(workspace: DaemonWorkspace, server: MariaDbServer): Promise<void> {
  const { daemon, exit } = await withDaemon(workspace, server, async (running) => {
    await metricsPort(running);
    await waitForCheckpoint(workspace, await gtidBinlogPos(server), 60_000, running);
  });
  assert.equal(exit.code, 0, daemon.output().slice(-2000));
}

test('a checkpoint whose binlog was purged stops with the position, how far the server purged, and what to do', { timeout: 120_000 }, async () => {
  const server = await startMariaDb({ dir: mkdtempSync(join(tmpdir(), 'sluice-purge-')) });
  try {
    const db = await server.rootConnection();
    await db.query('CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY)');
    const workspace = makeWorkspace(server, { start: 'earliest', routing: "  include: ['shop.*']" });
    await db.query('INSERT INTO shop.t VALUES (1)');
    await runUntilCaughtUp(workspace, server);
    await db.query('FLUSH BINARY LOGS; INSERT INTO shop.t VALUES (2); FLUSH BINARY LOGS');
    const [status] = (await db.query('SHOW MASTER STATUS')) as unknown as [{ File: string }[]];
    await purgeBinlogsTo(db, status[0]!.File);
    await db.query('INSERT INTO shop.t VALUES (3)');
    await db.end();

    const daemon = startDaemon(workspace, server);
    const exit = await daemon.exited;
    // 78: a restart cannot bring the binlog back, so systemd must not restart (RestartPreventExitStatus).
    assert.equal(exit.code, 78);
    const output = daemon.output();
    assert.match(output, /no longer has binlog position mysql-bin\.\d+:\d+ \(GTID 0-1-\d+\)/);
    assert.match(output, /purged up to GTID 0-1-\d+/);
    assert.match(output, new RegExp(`oldest binlog file it has is ${status[0]!.File.replace('.', '\\.')}`));
    assert.match(output, /sluice checkpoint set/);
    assert.match(output, /SLUICE_BINLOG_POSITION_PURGED/);

    // A table stopped at the purged position, with the checkpoint itself still on the server: the
    // start must read from the table's position, and says that the position is the table's.
    const old = (await latestCheckpoint(workspace))!;
    const headGtid = await gtidBinlogPos(server);
    const stoppedWorkspace = makeWorkspace(server, { start: 'earliest', routing: "  include: ['shop.*']" });
    await new CheckpointStore(stoppedWorkspace.stateDir).write({
      ...old,
      source: { kind: 'binlog', position: { file: status[0]!.File, offset: 4, gtidSet: headGtid }, nextSequence: '10' },
      tables: { stopped: { 'shop.t': { since: old.source, code: 'SLUICE_SCHEMA_UNSUPPORTED', message: 'a change Hive cannot follow', at: 'mysql-bin.000001:999', stoppedAt: new Date().toISOString() } } },
    });
    const retried = startDaemon(stoppedWorkspace, server);
    assert.equal((await retried.exited).code, 78);
    assert.match(retried.output(), /no longer has binlog position mysql-bin\.\d+:\d+ \(GTID 0-1-\d+\)/);
    assert.match(retried.output(), /the stopped table\(s\) shop\.t \(since mysql-bin\.\d+:\d+ \(GTID 0-1-\d+\)\) hold their changes up to/);
    assert.match(retried.output(), /sluice checkpoint skip-table <table>/);
  } finally {
    await server.stop();
  }
});

test('after failover the GTID checkpoint resumes on the replica: every change once', { timeout: 180_000 }, async () => {
  const primary = await startMariaDb({ dir: mkdtempSync(join(tmpdir(), 'sluice-primary-')), serverId: 1 });
  const replica = await startMariaDb({ dir: mkdtempSync(join(tmpdir(), 'sluice-replica-')), serverId: 2, extraArgs: ['--log-slave-updates=ON'] });
  try {
    const onReplica = await replica.rootConnection();
    // The replica starts from the primary's current state (both fresh, the same grants).
    const [[{ pos }]] = (await (await primary.rootConnection()).query('SELECT @@gtid_binlog_pos AS pos')) as unknown as [[{ pos: string }]];
    await onReplica.query(`SET GLOBAL gtid_slave_pos = '${pos}'`);
    await onReplica.query(
      `CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = ${primary.port}, MASTER_USER = '${primary.user}', ` +
        `MASTER_PASSWORD = '${primary.password}', MASTER_USE_GTID = slave_pos; START SLAVE`,
    );
    const onPrimary = await primary.rootConnection();
    await onPrimary.query('CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v VARCHAR(10))');
    const workspace = makeWorkspace(primary, { start: `{ gtid: '${pos}' }`, routing: "  include: ['shop.*']" });
    await onPrimary.query("INSERT INTO shop.t VALUES (1, 'a'), (2, 'b'); UPDATE shop.t SET v = 'c' WHERE id = 1");
    await runUntilCaughtUp(workspace, primary);

    await onPrimary.query("INSERT INTO shop.t VALUES (3, 'd'); DELETE FROM shop.t WHERE id = 2");
    const [[{ end }]] = (await onPrimary.query('SELECT @@gtid_binlog_pos AS end')) as unknown as [[{ end: string }]];
    const [[{ waited }]] = (await onReplica.query(`SELECT MASTER_GTID_WAIT('${end}', 30) AS waited`)) as unknown as [[{ waited: number }]];
    assert.equal(Number(waited), 0, 'the replica caught up');
    await onPrimary.end();
    await primary.stop(); // the primary is gone

    // The same workspace, pointed at the replica: only the server moved.
    const { readFileSync, writeFileSync } = await import('node:fs');
    writeFileSync(workspace.configFile, readFileSync(workspace.configFile, 'utf8').replace(`port: ${primary.port}`, `port: ${replica.port}`));
    await runUntilCaughtUp(workspace, replica);
    await onReplica.end();

    const rows = bySequence(await readCommittedRows(new LocalCatalog(workspace.catalogDir), new LocalFileSystem(workspace.warehouse), 'shop', 't'));
    assert.deepEqual(
      rows.map((row) => [row._op, row.id, row.v]),
      [
        ['insert', '1', 'a'],
        ['insert', '2', 'b'],
        ['update', '1', 'c'],
        ['insert', '3', 'd'],
        ['delete', '2', 'b'],
      ],
    );
  } finally {
    await replica.stop();
    await primary.stop();
  }
});
