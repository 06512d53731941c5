// The snapshot on Oracle MySQL 9.7 (docs/snapshot.md): initial_only reads a table with a composite
// key while nothing writes, lands every row once as op read with exact values, and stops by itself;
// and a snapshot under writes from several connections (each chunk read waits for the stream's GTID
// set to be committed: sources/snapshot/gtid-wait.ts) ends with the source's rows, every change once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { exitWithin, makeWorkspace, startDaemon, until, withDaemon } from './helpers/daemon.ts';
import { prng } from './helpers/change-generator.ts';
import { gtidExecuted, waitForMySqlCheckpoint } from './helpers/mysql-gtid.ts';
import { assertSnapshotLanded, rowsRead, snapshotDone, snapshotState, writeRandomChange, type MadeChange, type SnapshotTableSpec } from './helpers/snapshot-check.ts';
import { testMysql } from './helpers/servers.ts';
import { readCommittedRows } from './helpers/warehouse.ts';

test('MySQL 9.7: initial_only reads a composite-key table once, as op read, and stops by itself', { timeout: 180_000 }, async () => {
  const server = await testMysql();
  const tag = `snapmy${Date.now() % 1_000_000}`;
  const setup = await server.rootConnection();
  await setup.query(`CREATE DATABASE ${tag}`);
  await setup.query(`CREATE TABLE ${tag}.t (a VARCHAR(8), b INT, v DECIMAL(12,3), PRIMARY KEY (a, b))`);
  const values = Array.from({ length: 120 }, (_, n) => [`k${n % 7}`, n, `${n}.125`]);
  await setup.query(`INSERT INTO ${tag}.t VALUES ?`, [values]);
  await setup.end();
  const workspace = makeWorkspace(server, { start: 'latest', routing: `  include: ['${tag}.*']`, extra: 'snapshot:\n  mode: initial_only\n  chunkRows: 11\n' });
  const daemon = startDaemon(workspace, server);
  assert.equal(await exitWithin(daemon, 90_000, 'initial_only stops once every table is read'), 0, daemon.output().slice(-3000));
  const rows = await readCommittedRows(new LocalCatalog(workspace.catalogDir), new LocalFileSystem(workspace.warehouse), tag, 't');
  const text = (list: unknown[][]): string[] => list.map((row) => JSON.stringify(row.map(String))).sort();
  assert.deepEqual(text(rows.map((row) => [row._op, row.a, row.b, row.v])), text(values.map((row) => ['read', ...row])));
});

const TABLES: SnapshotTableSpec[] = [
  { name: 'plain', ddl: '(id INT PRIMARY KEY, v VARCHAR(20))', key: ['id'], keyOf: (n) => [n] },
  { name: 'composite', ddl: '(a VARCHAR(10), b INT, v VARCHAR(20), PRIMARY KEY (a, b))', key: ['a', 'b'], keyOf: (n) => [`k${n % 13}`, Math.floor(n / 13)] },
];
const ROWS_BEFORE = 600;
const WRITERS = 4;

test('MySQL 9.7: initial snapshot under writes from several connections: the latest state per key is the source, every change once', { timeout: 300_000 }, async () => {
  const server = await testMysql();
  const tag = `snapmyw${Date.now() % 1_000_000}`;
  const setup = await server.rootConnection();
  await setup.query(`CREATE DATABASE ${tag}`);
  for (const table of TABLES) {
    await setup.query(`CREATE TABLE ${tag}.${table.name} ${table.ddl}`);
    await setup.query(`INSERT INTO ${tag}.${table.name} VALUES ?`, [Array.from({ length: ROWS_BEFORE }, (_, n) => [...table.keyOf(n), `before${n}`])]);
  }
  const workspace = makeWorkspace(server, { start: 'latest', routing: `  include: ['${tag}.*']`, intervalSeconds: 0.2, extra: 'snapshot:\n  mode: initial\n  chunkRows: 7\n' });
  const made: MadeChange[] = [];
  const counter = { nextNew: ROWS_BEFORE };
  const connections = await Promise.all(Array.from({ length: WRITERS }, () => server.rootConnection(tag)));
  let writing = true;
  let writers: Promise<void>[] = [];
  try {
    const { daemon, exit } = await withDaemon(workspace, server, async (daemon) => {
      // Writers start once the stream's start is recorded: every change they make is the stream's.
      await until('the first checkpoint', daemon, () => snapshotState(workspace));
      writers = connections.map(async (db, index) => {
        const random = prng(11 + index);
        while (writing) await writeRandomChange(db, TABLES, random, counter, made);
      });
      const state = await until('the snapshot is done', daemon, async () => {
        const now = await snapshotState(workspace);
        return snapshotDone(now) ? now : undefined;
      }, 180_000);
      writing = false;
      await Promise.all(writers);
      assert.equal(rowsRead(state) > 0, true);
      await waitForMySqlCheckpoint(server, workspace, await gtidExecuted(server), daemon);
    });
    assert.equal(exit.code, 0, daemon.output().slice(-3000));
    assert.match(daemon.output(), /snapshot done: every table is read/);
    assert.ok(made.length > 50, `the writers made changes during the snapshot (${made.length})`);
  } finally {
    writing = false;
    await Promise.all(writers.map((writer) => writer.catch(() => undefined)));
    await Promise.all(connections.map((connection) => connection.end()));
  }
  await setup.end();
  const source = await server.rootConnection(tag);
  try {
    await assertSnapshotLanded({ workspace, db: source, hiveDb: tag, tables: TABLES, rowsBefore: ROWS_BEFORE, made });
  } finally {
    await source.end();
  }
});
