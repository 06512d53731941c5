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
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { exitWithin, fatalLine, gtidBinlogPos, makeWorkspace, startDaemon, startSluice, until, waitForCheckpoint, withDaemon, type RunningDaemon } from './helpers/daemon.ts';
import { prng } from './helpers/change-generator.ts';
import { killWhenRecordLands } from './helpers/crash-scenario.ts';
import { testMariaDb } from './helpers/servers.ts';
import { readCommittedRows } from './helpers/warehouse.ts';
import { assertSnapshotLanded, rowsRead, snapshotDone, snapshotState, writeRandomChange, type MadeChange, type SnapshotTableSpec } from './helpers/snapshot-check.ts';

const TABLES: SnapshotTableSpec[] = [
  { name: 'plain', ddl: '(id INT PRIMARY KEY, v VARCHAR(20))', key: ['id'], keyOf: (n) => [n] },
  { name: 'composite', ddl: '(a VARCHAR(10), b INT, v VARCHAR(20), PRIMARY KEY (a, b))', key: ['a', 'b'], keyOf: (n) => [`k${n % 17}`, Math.floor(n / 17)] },
  { name: 'bytes', ddl: '(k VARBINARY(8) PRIMARY KEY, v VARCHAR(20))', key: ['k'], keyOf: (n) => [Buffer.from([n >> 8, n & 0xff, 0])] },
  // No primary key: a unique NOT NULL string key, compared in its case-insensitive collation.
  { name: 'unique_text', ddl: '(code VARCHAR(12) NOT NULL, v VARCHAR(20), UNIQUE KEY (code)) COLLATE utf8mb4_general_ci', key: ['code'], keyOf: (n) => [`${n % 2 ? 'Ä' : 'a'}-${n}`] },
];
const ROWS_BEFORE = 900;

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
  const made: MadeChange[] = [];
  const random = prng(7);
  const db = await server.rootConnection(tag);
  let writing = true;
  const counter = { nextNew: ROWS_BEFORE };
  const writeOne = (): Promise<void> => writeRandomChange(db, TABLES, random, counter, made);
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

  await assertSnapshotLanded({ workspace, db, hiveDb: `ods_${tag}`, tables: TABLES, rowsBefore: ROWS_BEFORE, made });
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
  assert.deepEqual((await new LocalCatalog(workspace.catalogDir).getTable(tag, 't'))?.primaryKey, ['id'], 'the table the snapshot created records the primary key');
  const again = startDaemon(workspace, server);
  assert.equal(await exitWithin(again, 30_000, 'a done initial_only snapshot stops again at once'), 0, again.output().slice(-3000));
  assert.equal((await readCommittedRows(new LocalCatalog(workspace.catalogDir), new LocalFileSystem(workspace.warehouse), tag, 't')).length, 250);
});
