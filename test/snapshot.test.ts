// The snapshot (snapshot.mode: initial, docs/snapshot.md): rows that exist before the first start
// land in the changelog tables as op 'read', chunk by chunk while the stream runs, with no gap and
// no duplicate against the stream: writes go on all the while (inserts, updates and deletes of keys
// in chunks already read, being read and not yet read), the daemon is killed with SIGKILL a few times
// mid-snapshot (once the instant a checkpoint record lands), and at the end
// - the latest state per key (highest _seq) equals the source table, row by row;
// - every change the writer made is in the changelog exactly once, and no _seq repeats;
// - no key is read twice, and a key the writer never touched is read exactly once, as it was.
// Integer, composite (string + integer), binary, and unique NOT NULL string keys; and a table with
// no key is refused at the start, naming the fix.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type mysql from 'mysql2/promise';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { CheckpointStore } from '../src/checkpoint/checkpoint-store.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import type { SnapshotState } from '../src/sources/snapshot/snapshot-progress.ts';
import { type DaemonWorkspace, exitWithin, fatalLine, gtidBinlogPos, makeWorkspace, startDaemon, startSluice, until, waitForCheckpoint, withDaemon, type RunningDaemon } from './helpers/daemon.ts';
import { prng } from './helpers/change-generator.ts';
import { killWhenRecordLands } from './helpers/crash-scenario.ts';
import { testMariaDb } from './helpers/servers.ts';
import { readCommittedRows, type TableRow } from './helpers/warehouse.ts';

interface TableSpec {
  name: string;
  ddl: string;
  /** Key columns, and the one value column. */
  key: string[];
  /** The key of the n-th row, as SQL literals in key order. */
  keyOf(n: number): (string | number | Buffer)[];
}

const TABLES: TableSpec[] = [
  { name: 'plain', ddl: '(id INT PRIMARY KEY, v VARCHAR(20))', key: ['id'], keyOf: (n) => [n] },
  { name: 'composite', ddl: '(a VARCHAR(10), b INT, v VARCHAR(20), PRIMARY KEY (a, b))', key: ['a', 'b'], keyOf: (n) => [`k${n % 17}`, Math.floor(n / 17)] },
  { name: 'bytes', ddl: '(k VARBINARY(8) PRIMARY KEY, v VARCHAR(20))', key: ['k'], keyOf: (n) => [Buffer.from([n >> 8, n & 0xff, 0])] },
  // No primary key: a unique NOT NULL string key, compared in its case-insensitive collation.
  { name: 'unique_text', ddl: '(code VARCHAR(12) NOT NULL, v VARCHAR(20), UNIQUE KEY (code)) COLLATE utf8mb4_general_ci', key: ['code'], keyOf: (n) => [`${n % 2 ? 'Ä' : 'a'}-${n}`] },
];
const ROWS_BEFORE = 900;

/** A key as text, the same for a source row and a Hive row. */
function keyText(values: unknown[]): string {
  return JSON.stringify(values.map((value) => (Buffer.isBuffer(value) ? value.toString('hex') : String(value))));
}

async function snapshotState(workspace: DaemonWorkspace): Promise<SnapshotState | undefined> {
  const record = await new CheckpointStore(workspace.stateDir).latest().catch(() => undefined);
  return record?.sources.snapshot as SnapshotState | undefined;
}

function snapshotDone(state: SnapshotState | undefined): boolean {
  return state !== undefined && Object.values(state.position.tables).every((table) => table.done);
}

function rowsRead(state: SnapshotState | undefined): number {
  return Object.values(state?.position.tables ?? {}).reduce((sum, table) => sum + table.rows, 0);
}

test('initial snapshot: existing rows land once as op read, hand over to the stream with no gap and no duplicate, across kill -9', { timeout: 300_000 }, async () => {
  const server = await testMariaDb();
  const tag = `snap${Date.now() % 1_000_000}`;
  const setup = await server.rootConnection();
  await setup.query(`CREATE DATABASE ${tag}`);
  for (const table of TABLES) {
    await setup.query(`CREATE TABLE ${tag}.${table.name} ${table.ddl}`);
    const values = Array.from({ length: ROWS_BEFORE }, (_, n) => [...table.keyOf(n), `before${n}`]);
    await setup.query(`INSERT INTO ${tag}.${table.name} VALUES ?`, [values]);
  }
  await setup.end();
  const workspace = makeWorkspace(server, {
    // Not used: a first start with a snapshot streams from the binlog's end.
    start: 'earliest',
    routing: `  include: ['${tag}.*']\n  rules:\n    - match: '^${tag}\\.(\\w+)$'\n      target: ods_${tag}.$1`,
    intervalSeconds: 0.2,
    extra: 'snapshot:\n  mode: initial\n  chunkRows: 9\n',
  });

  // The writer: every change it makes, as [table, op, key, v], in order.
  const made: [string, string, string, string | null][] = [];
  const random = prng(7);
  const db = await server.rootConnection(tag);
  let nextNew = ROWS_BEFORE;
  let writing = true;
  const writeOne = async (): Promise<void> => {
    const table = TABLES[Math.floor(random() * TABLES.length)]!;
    const where = table.key.map((column) => `${column} = ?`).join(' AND ');
    const roll = random();
    // Keys all over the table: in chunks already read, being read, and not read yet.
    const n = Math.floor(random() * nextNew);
    const key = table.keyOf(n);
    if (roll < 0.3) {
      const fresh = table.keyOf(nextNew++);
      await db.query(`INSERT INTO ${table.name} VALUES (?)`, [[...fresh, `new${nextNew}`]]);
      made.push([table.name, 'insert', keyText(fresh), `new${nextNew}`]);
    } else if (roll < 0.8) {
      const v = `upd${made.length}`;
      const [result] = await db.query<mysql.ResultSetHeader>(`UPDATE ${table.name} SET v = ? WHERE ${where}`, [v, ...key]);
      if (result.affectedRows > 0) made.push([table.name, 'update', keyText(key), v]);
    } else {
      const [result] = await db.query<mysql.ResultSetHeader>(`DELETE FROM ${table.name} WHERE ${where}`, key);
      if (result.affectedRows > 0) made.push([table.name, 'delete', keyText(key), null]);
    }
  };
  // Started once the first run has recorded where its stream starts: every change it makes is then
  // the stream's, and the snapshot reads them or not depending on when it gets to their keys.
  let writer: Promise<void> = Promise.resolve();
  const startWriter = (): void => {
    writer = (async () => {
      while (writing) {
        await writeOne();
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
  };

  try {
    // Three runs killed mid-snapshot, each once a checkpoint shows more rows read than the last.
    let killedAt = 0;
    for (let run = 0; run < 3; run++) {
      const daemon: RunningDaemon = startDaemon(workspace, server);
      if (run === 0) {
        await until('the first checkpoint', daemon, () => snapshotState(workspace));
        startWriter();
      }
      const reached = await until(`run ${run}: the snapshot moves on past ${killedAt} rows`, daemon, async () => {
        const state = await snapshotState(workspace);
        return rowsRead(state) > killedAt + 30 || snapshotDone(state) ? state : undefined;
      });
      // The middle run dies the instant a record lands (between record and commit), the others at once.
      if (run === 1) assert.ok(await killWhenRecordLands(workspace, daemon, 30_000), 'a record landed');
      daemon.child.kill('SIGKILL');
      await daemon.exited;
      assert.ok(!snapshotDone(reached), `run ${run} was killed mid-snapshot (make the tables bigger if not): ${JSON.stringify(reached.position)}`);
      killedAt = rowsRead(reached);
    }
    const { daemon: last, exit } = await withDaemon(workspace, server, async (last) => {
      await until('the snapshot is done', last, async () => snapshotDone(await snapshotState(workspace)) || undefined, 120_000);
      writing = false;
      await writer;
      await waitForCheckpoint(workspace, await gtidBinlogPos(server), 60_000, last);
    });
    assert.equal(exit.code, 0, last.output().slice(-3000));
    assert.match(last.output(), /snapshot done: every table is read/);
  } finally {
    writing = false;
    await writer.catch(() => undefined);
  }

  const catalog = new LocalCatalog(workspace.catalogDir);
  const fs = new LocalFileSystem(workspace.warehouse);
  const allSeqs = new Set<string>();
  for (const table of TABLES) {
    const [sourceRows] = await db.query<mysql.RowDataPacket[]>(`SELECT * FROM ${table.name}`);
    const rows = await readCommittedRows(catalog, fs, `ods_${tag}`, table.name);
    const keyOfRow = (row: TableRow | mysql.RowDataPacket): string => keyText(table.key.map((column) => row[column]));
    for (const row of rows) {
      assert.ok(!allSeqs.has(String(row._seq)), `_seq ${row._seq} appears once`);
      allSeqs.add(String(row._seq));
    }

    // The latest state per key equals the source table.
    const latest = new Map<string, TableRow>();
    for (const row of rows) {
      const key = keyOfRow(row);
      const seen = latest.get(key);
      if (!seen || BigInt(String(row._seq)) > BigInt(String(seen._seq))) latest.set(key, row);
    }
    const state = new Map([...latest].filter(([, row]) => row._op !== 'delete').map(([key, row]) => [key, String(row.v)]));
    const expected = new Map(sourceRows.map((row) => [keyOfRow(row), String(row.v)]));
    assert.deepEqual(new Map([...state].sort()), new Map([...expected].sort()), `${table.name}: the latest state per key is the source's`);

    // Every change the writer made is there once, and nothing else came from the stream.
    const streamed = rows.filter((row) => row._op !== 'read').map((row) => [row._op, keyOfRow(row), row._op === 'delete' ? null : String(row.v)]);
    const wanted = made.filter(([name]) => name === table.name).map(([, op, key, v]) => [op, key, v]);
    const sortRows = (list: unknown[][]): string[] => list.map((entry) => JSON.stringify(entry)).sort();
    assert.deepEqual(sortRows(streamed), sortRows(wanted), `${table.name}: the stream's changes are the writer's, each once`);

    // No key is read twice; an untouched key is read once, as it was before the start.
    const read = rows.filter((row) => row._op === 'read');
    const readKeys = read.map(keyOfRow);
    assert.equal(new Set(readKeys).size, readKeys.length, `${table.name}: no key is read twice`);
    const touched = new Set(made.filter(([name]) => name === table.name).map(([, , key]) => key));
    const readValues = new Map(read.map((row) => [keyOfRow(row), String(row.v)]));
    for (let n = 0; n < ROWS_BEFORE; n++) {
      const key = keyText(table.keyOf(n));
      if (!touched.has(key)) assert.equal(readValues.get(key), `before${n}`, `${table.name}: untouched row ${key} is read once, as it was`);
    }
  }
  await db.end();
});

test('a captured table without a key is refused at the first start, naming the table and the fix', { timeout: 60_000 }, async () => {
  const server = await testMariaDb();
  const tag = `snapnokey${Date.now() % 1_000_000}`;
  const setup = await server.rootConnection();
  await setup.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.heap (v INT); INSERT INTO ${tag}.heap VALUES (1), (1)`);
  await setup.end();
  const workspace = makeWorkspace(server, {
    start: 'latest',
    routing: `  include: ['${tag}.*']`,
    extra: 'snapshot:\n  mode: initial\n',
  });
  const daemon = startDaemon(workspace, server);
  const code = await exitWithin(daemon, 30_000, 'a table without a key stops the start');
  assert.notEqual(code, 0);
  const fatal = fatalLine(daemon);
  assert.equal(fatal.code, 'SLUICE_TABLE_KEY', daemon.output().slice(-2000));
  assert.match(fatal.msg, new RegExp(`${tag}\\.heap has no primary key.*ADD PRIMARY KEY`));
});

test('initial_only: reads every table, stops by itself with a final checkpoint, and a restart stops again at once', { timeout: 120_000 }, async () => {
  const server = await testMariaDb();
  const tag = `snaponly${Date.now() % 1_000_000}`;
  const setup = await server.rootConnection(undefined);
  await setup.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t (id BIGINT UNSIGNED PRIMARY KEY, d DATETIME(6), v TEXT)`);
  const values = Array.from({ length: 250 }, (_, n) => [String(18446744073709551615n - BigInt(n)), `2026-01-0${1 + (n % 9)} 10:00:00.00000${n % 10}`, n % 7 ? `v${n}` : null]);
  await setup.query(`INSERT INTO ${tag}.t VALUES ?`, [values]);
  await setup.end();
  const workspace = makeWorkspace(server, {
    start: 'latest',
    routing: `  include: ['${tag}.*']`,
    extra: 'snapshot:\n  mode: initial_only\n  chunkRows: 40\n',
  });
  const daemon = startDaemon(workspace, server);
  assert.equal(await exitWithin(daemon, 60_000, 'initial_only stops once every table is read'), 0, daemon.output().slice(-3000));
  assert.match(daemon.output(), /snapshot of [^ ]+ done: 250 rows/);
  assert.ok(snapshotDone(await snapshotState(workspace)), 'the final checkpoint records the snapshot done');
  const shown = startSluice(['checkpoint', 'show', '--config', workspace.configFile], { cwd: workspace.dir, env: { SLUICE_TEST_PASSWORD: server.password } });
  assert.equal((await shown.exited).code, 0, shown.output());
  assert.match(shown.output(), /snapshot: +1 of 1 table\(s\) done, 250 row\(s\) read\n/);
  const rows = await readCommittedRows(new LocalCatalog(workspace.catalogDir), new LocalFileSystem(workspace.warehouse), tag, 't');
  assert.deepEqual(
    rows.map((row) => [row._op, row.id, row.d, row.v]).sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
    values.map((row) => ['read', ...row]).sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
    'every row once, as op read, with exact values',
  );
  const again = startDaemon(workspace, server);
  assert.equal(await exitWithin(again, 30_000, 'a done initial_only snapshot stops again at once'), 0, again.output().slice(-3000));
  assert.equal((await readCommittedRows(new LocalCatalog(workspace.catalogDir), new LocalFileSystem(workspace.warehouse), tag, 't')).length, 250);
});
