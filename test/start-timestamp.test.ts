// Starting at a timestamp: the first transaction the binlog wrote at or after it, found by reading
// event headers, against the real private MariaDB and MySQL 9.7 (whose GTID set there is the file's
// Previous_gtids plus the GTIDs before it, so the checkpoints after it hold GTIDs, as a failover
// needs). The binlog counts whole seconds, so each test waits more than a second between the
// transactions before the instant and the ones after it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { isSluiceError } from '../src/core/errors.ts';
import type { PeekedEvent } from '../src/sources/binlog/position/binlog-peek.ts';
import { parseInstant } from '../src/core/instant.ts';
import type { ServerFacts } from '../src/sources/binlog/server/preflight.ts';
import { findFirstTransactionAt, type BinlogReader } from '../src/sources/binlog/position/timestamp-search.ts';
import type { BinlogHiveRecord as CheckpointRecord } from '../src/pipeline/binlog-to-hive-record.ts';
import { type DaemonWorkspace, gtidBinlogPos, latestCheckpoint, makeWorkspace, type RunningDaemon, startDaemon, waitForCheckpoint, withDaemon } from './helpers/daemon.ts';
import { gtidExecuted, waitForMySqlCheckpoint } from './helpers/mysql-gtid.ts';
import { REPO_ROOT, testMariaDb, testMysql } from './helpers/servers.ts';
import { bySequence, readCommittedRows } from './helpers/warehouse.ts';
import type { MariaDbServer } from './servers/mariadb.ts';
import type { MySqlServer } from './servers/mysql.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What differs between the servers for these tests: how the head's GTIDs read, and when a checkpoint has them. */
interface Source {
  name: string;
  server: () => Promise<MariaDbServer>;
  /** The server's GTIDs up to its head (MariaDB's position, MySQL's executed set). */
  head: (server: MariaDbServer) => Promise<string>;
  waitForCheckpoint: (server: MariaDbServer, workspace: DaemonWorkspace, head: string, daemon: RunningDaemon) => Promise<CheckpointRecord>;
  /** A GTID position as sluice writes it in messages. */
  gtid: string;
}

const SOURCES: Source[] = [
  {
    name: 'MariaDB',
    server: testMariaDb,
    head: gtidBinlogPos,
    waitForCheckpoint: (_server, workspace, head, daemon) => waitForCheckpoint(workspace, head, 30_000, daemon),
    gtid: '0-1-\\d+',
  },
  {
    name: 'MySQL 9.7',
    server: testMysql,
    head: (server) => gtidExecuted(server as MySqlServer),
    waitForCheckpoint: (server, workspace, head, daemon) => waitForMySqlCheckpoint(server as MySqlServer, workspace, head, daemon, 30_000),
    gtid: '[0-9a-f-]{36}:[^)]+',
  },
];

function sluice(server: MariaDbServer, ...args: string[]) {
  return spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, SLUICE_TEST_PASSWORD: server.password },
  });
}

/**
 * T1 before the instant, T2 and T3 after it, in a fresh database. T1 ends more than a second before
 * the instant, so its header second is earlier than the instant's; T2 and T3 come after it.
 */
async function writeAroundAnInstant(source: Source, server: MariaDbServer, tag: string): Promise<{ instant: string; end: string }> {
  const db = await server.rootConnection();
  try {
    await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t (id INT PRIMARY KEY, v VARCHAR(20))`);
    await db.query(`INSERT INTO ${tag}.t VALUES (1, 'one'), (2, 'two')`); // T1
    await sleep(1100);
    const instant = new Date().toISOString();
    await db.query(`BEGIN; INSERT INTO ${tag}.t VALUES (3, 'three'); UPDATE ${tag}.t SET v = 'uno' WHERE id = 1; COMMIT`); // T2
    await db.query(`DELETE FROM ${tag}.t WHERE id = 2`); // T3
    return { instant, end: await source.head(server) };
  } finally {
    await db.end();
  }
}

/** Exactly T2's and T3's row changes, in order. */
const AFTER_THE_INSTANT = [
  ['insert', '3', 'three'],
  ['update', '1', 'uno'],
  ['delete', '2', 'two'],
];

async function committedChanges(workspace: DaemonWorkspace, tag: string): Promise<unknown[][]> {
  const rows = bySequence(await readCommittedRows(new LocalCatalog(workspace.catalogDir), new LocalFileSystem(workspace.warehouse), tag, 't'));
  return rows.map((row) => [row._op, row.id, row.v]);
}

/** Runs the daemon until a checkpoint holds `end` (so the checkpoints record GTIDs), then stops it. */
async function runUntil(source: Source, server: MariaDbServer, workspace: DaemonWorkspace, end: string): Promise<{ output: string; record: CheckpointRecord }> {
  let record: CheckpointRecord | undefined;
  const { daemon, exit } = await withDaemon(workspace, server, async (running) => (record = await source.waitForCheckpoint(server, workspace, end, running)));
  assert.deepEqual(exit, { code: 0, signal: null }, daemon.output().slice(-2000));
  return { output: daemon.output(), record: record! };
}

for (const source of SOURCES) {
  describe(`start at a timestamp, on the private ${source.name}`, () => {
    test('source.start { timestamp } reads exactly the transactions written at or after it, by GTID', { timeout: 120_000 }, async () => {
      const server = await source.server();
      const tag = `tsa${Date.now() % 1_000_000}`;
      const { instant, end } = await writeAroundAnInstant(source, server, tag);
      const workspace = makeWorkspace(server, { start: `{ timestamp: '${instant}' }`, routing: `  include: ['${tag}.*']` });
      const { output, record } = await runUntil(source, server, workspace, end);
      assert.match(output, new RegExp(`configured start timestamp ${instant}: the first transaction at or after it was written at \\S+Z, at mysql-bin\\.\\d+:\\d+ \\(GTID ${source.gtid}\\)`));
      assert.deepEqual(await committedChanges(workspace, tag), AFTER_THE_INSTANT);
      // On MySQL waitForMySqlCheckpoint already asks the checkpoint's GTID set to contain the head's.
      if (source.name === 'MariaDB') assert.equal(record.source.position.gtidSet, end, 'the checkpoints record GTIDs');
    });

    test('checkpoint set --timestamp moves the checkpoint there, and the daemon reads from it', { timeout: 120_000 }, async () => {
      const server = await source.server();
      const tag = `tsb${Date.now() % 1_000_000}`;
      const { instant, end } = await writeAroundAnInstant(source, server, tag);
      // earliest would read T1 too: only the moved checkpoint keeps it out.
      const workspace = makeWorkspace(server, { start: 'earliest', routing: `  include: ['${tag}.*']` });
      // The same instant written in another zone names the same transaction.
      const zoned = new Date(parseInstant(instant)! + 2 * 3600_000).toISOString().replace('Z', '+02:00');
      const moved = sluice(server, 'checkpoint', 'set', '--config', workspace.configFile, '--timestamp', zoned);
      assert.equal(moved.status, 0, moved.stderr);
      assert.match(moved.stdout, new RegExp(`checkpoint 1 written: the next start resumes at GTID ${source.gtid} \\(timestamp ${zoned.replace('+', '\\+')}: the first transaction at or after it`));
      await runUntil(source, server, workspace, end);
      assert.deepEqual(await committedChanges(workspace, tag), AFTER_THE_INSTANT);
    });

    test('a timestamp older than the oldest binlog is an error naming it and the oldest time left', { timeout: 60_000 }, async () => {
      const server = await source.server();
      const old = '2001-01-01T00:00:00Z';
      const tooOld = new RegExp(
        `no longer has the binlog at timestamp ${old}: its oldest binlog file mysql-bin\\.\\d+ begins at \\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z.*\\[SLUICE_BINLOG_POSITION_PURGED\\]`,
      );
      const workspace = makeWorkspace(server, { start: `{ timestamp: '${old}' }`, routing: "  include: ['nothing.*']" });
      const daemon = startDaemon(workspace, server);
      assert.equal((await daemon.exited).code, 78, daemon.output().slice(-2000));
      assert.match(daemon.output(), /no longer has the binlog at timestamp 2001-01-01T00:00:00Z: its oldest binlog file/);
      assert.match(daemon.output(), /SLUICE_BINLOG_POSITION_PURGED/);

      const refused = sluice(server, 'checkpoint', 'set', '--config', workspace.configFile, '--timestamp', old);
      assert.equal(refused.status, 78, refused.stdout);
      assert.match(refused.stderr, tooOld);
      assert.equal(await latestCheckpoint(workspace), undefined, 'nothing was written');

      const unzoned = sluice(server, 'checkpoint', 'set', '--config', workspace.configFile, '--timestamp', '2026-11-25T10:00:00');
      assert.match(unzoned.stderr, /--timestamp '2026-11-25T10:00:00': expected an ISO 8601 instant with its zone.*\[SLUICE_CHECKPOINT_TARGET\]/);
    });

    test('a timestamp after the last transaction starts at the head, and says so', { timeout: 60_000 }, async () => {
      const server = await source.server();
      const tag = `tsc${Date.now() % 1_000_000}`;
      const db = await server.rootConnection();
      await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO ${tag}.t VALUES (1, 'before')`);
      const head = await source.head(server);
      const workspace = makeWorkspace(server, { start: "{ timestamp: '2999-01-01T00:00:00+01:00' }", routing: `  include: ['${tag}.*']` });
      const daemon = startDaemon(workspace, server);
      try {
        await source.waitForCheckpoint(server, workspace, head, daemon);
        await db.query(`INSERT INTO ${tag}.t VALUES (2, 'after')`);
        await source.waitForCheckpoint(server, workspace, await source.head(server), daemon);
      } finally {
        daemon.child.kill('SIGTERM');
        await db.end();
      }
      assert.equal((await daemon.exited).code, 0, daemon.output().slice(-2000));
      assert.match(daemon.output(), /no transaction in the binlog was written at or after it \(the newest was written at \S+Z\), so reading starts at the head of the binlog/);
      assert.deepEqual(await committedChanges(workspace, tag), [['insert', '2', 'after']]);
    });
  });
}

describe('the timestamp search, on a made-up binlog', () => {
  const event = (name: string, file: string, offset: number, timestamp: number, statement?: string): PeekedEvent => ({
    name,
    file,
    offset,
    end: offset + 10,
    timestamp,
    ...(statement ? { statement } : {}),
  });
  // Three files begun at 100, 200 and 300; no GTIDs, so transactions open with BEGIN and DDL stands alone.
  const binlog: PeekedEvent[] = [
    event('format', 'b.1', 4, 100),
    event('query', 'b.1', 20, 150, 'BEGIN'),
    event('xid', 'b.1', 30, 150),
    event('rotate', 'b.1', 40, 199),
    event('format', 'b.2', 4, 200),
    event('query', 'b.2', 20, 210, 'BEGIN'),
    event('query', 'b.2', 30, 260, 'SAVEPOINT a'),
    event('query', 'b.2', 40, 260, 'COMMIT'),
    event('query', 'b.2', 50, 270, 'CREATE TABLE x (id INT)'),
    event('rotate', 'b.2', 60, 280),
    event('format', 'b.3', 4, 300),
    event('query', 'b.3', 20, 310, 'BEGIN'),
    event('xid', 'b.3', 30, 320),
  ];
  const facts = {
    binlogFiles: [{ name: 'b.1', size: 50 }, { name: 'b.2', size: 70 }, { name: 'b.3', size: 40 }],
    head: { file: 'b.3', offset: 40 },
  } as ServerFacts;
  function reader(events = binlog): BinlogReader & { opened: string[] } {
    const opened: string[] = [];
    return {
      opened,
      async fileStartTime(file) {
        opened.push(file);
        return events.find((entry) => entry.file === file)!.timestamp;
      },
      async scan(file, visit) {
        opened.push(`scan ${file}`);
        for (const entry of events.slice(events.findIndex((candidate) => candidate.file === file))) if (visit(entry)) return;
        throw new Error('scanned past the end of the binlog');
      },
    };
  }

  test('picks the file by its start time, then the first group at or after the second', async () => {
    const search = reader();
    assert.deepEqual(await findFirstTransactionAt(search, 's', facts, 255, 'x'), { kind: 'transaction', file: 'b.2', offset: 50, eventTime: 270 });
    assert.deepEqual(search.opened, ['b.1', 'b.2', 'b.3', 'scan b.2']);
    // A group is timed by its first event: the BEGIN at 210, not the COMMIT at 260.
    assert.deepEqual(await findFirstTransactionAt(reader(), 's', facts, 205, 'x'), { kind: 'transaction', file: 'b.2', offset: 20, eventTime: 210 });
    // At a file's very start second, the file before it may still hold that second's transactions.
    assert.deepEqual(await findFirstTransactionAt(reader(), 's', facts, 150, 'x'), { kind: 'transaction', file: 'b.1', offset: 20, eventTime: 150 });
    assert.deepEqual(await findFirstTransactionAt(reader(), 's', facts, 100, 'x'), { kind: 'transaction', file: 'b.1', offset: 20, eventTime: 150 });
    assert.deepEqual(await findFirstTransactionAt(reader(), 's', facts, 320, 'x'), { kind: 'head', lastEventTime: 310 });
  });

  test('a file begun by a session with a backdated SET TIMESTAMP does not hide the files before it', async () => {
    const backdated: PeekedEvent[] = [
      event('format', 'c.1', 4, 100),
      event('mariadbgtid', 'c.1', 20, 150),
      event('xid', 'c.1', 30, 150),
      event('rotate', 'c.1', 40, 199),
      event('format', 'c.2', 4, 200),
      event('mariadbgtid', 'c.2', 20, 210),
      event('query', 'c.2', 30, 210, 'ALTER TABLE x ADD y INT'),
      event('mariadbgtid', 'c.2', 40, 260),
      event('xid', 'c.2', 50, 261),
      event('rotate', 'c.2', 60, 50),
      event('format', 'c.3', 4, 50),
      event('mariadbgtid', 'c.3', 20, 50),
      event('xid', 'c.3', 30, 50),
      event('rotate', 'c.3', 40, 399),
      event('format', 'c.4', 4, 400),
    ];
    const files = ['c.1', 'c.2', 'c.3', 'c.4'];
    const search = reader(backdated);
    const found = await findFirstTransactionAt(search, 's', { binlogFiles: files.map((name) => ({ name, size: 1 })), head: { file: 'c.4', offset: 14 } } as ServerFacts, 250, 'x');
    assert.deepEqual(found, { kind: 'transaction', file: 'c.2', offset: 40, eventTime: 260 });
    assert.deepEqual(search.opened, ['c.1', 'c.3', 'c.4', 'c.2', 'scan c.2']);
  });

  test('an instant before the oldest file is refused with the oldest time', async () => {
    await assert.rejects(findFirstTransactionAt(reader(), 's', facts, 99, '1970-01-01T00:01:39Z'), (error: unknown) => {
      assert.ok(isSluiceError(error, 'SLUICE_BINLOG_POSITION_PURGED'));
      assert.match(error.message, /its oldest binlog file b\.1 begins at 1970-01-01T00:01:40Z/);
      return true;
    });
  });

  test('instants need their zone; fractions and offsets are exact', () => {
    assert.equal(parseInstant('2026-11-25T10:00:00Z'), Date.UTC(2026, 10, 25, 10));
    assert.equal(parseInstant('2026-11-25T18:00:00.250+08:00'), Date.UTC(2026, 10, 25, 10, 0, 0, 250));
    assert.equal(parseInstant('2026-11-25 05:30-0430'), Date.UTC(2026, 10, 25, 10, 0));
    for (const bad of ['2026-11-25T10:00:00', '2026-11-25', '2026-02-30T00:00:00Z', '2026-11-25T24:00:00Z', 'yesterday', '1795600000']) {
      assert.equal(parseInstant(bad), undefined, bad);
    }
  });
});
