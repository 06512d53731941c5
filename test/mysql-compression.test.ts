// MySQL's compressed transactions (binlog_transaction_compression=ON): each one reaches the binlog as
// one zstd TRANSACTION_PAYLOAD event holding its BEGIN, TableMaps, rows and Xid. On the real MySQL 9.7,
// compressed by a session's own setting and by the global one (which preflight accepts), they must
// land exactly as plain ones do, with their GTID or file:offset, the checkpoint after each at the
// payload's end, a kill -9 in the middle of a large one losing and doubling nothing, and a timestamp
// search reading over them. Each test has a server of its own: compressed transactions stay in its
// binlog for good.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import type mysql from 'mysql2/promise';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { latestCheckpoint, makeWorkspace, metricsPort, startDaemon, until, waitForChangesRead, withDaemon, type DaemonWorkspace, type RunningDaemon } from './helpers/daemon.ts';
import { gtidExecuted, startPrivateMySql, waitForMySqlCheckpoint } from './helpers/mysql-gtid.ts';
import { REPO_ROOT } from './helpers/servers.ts';
import { bySequence, readCommittedRows } from './helpers/warehouse.ts';

const LARGE = 200_000;

/** The changes of a table as they landed, in stream order: `_op` then the columns named. */
async function landed(workspace: DaemonWorkspace, database: string, table: string, columns: string[]): Promise<unknown[][]> {
  const rows = bySequence(await readCommittedRows(new LocalCatalog(workspace.catalogDir), new LocalFileSystem(workspace.warehouse), database, table));
  return rows.map((row) => [row._op, ...columns.map((column) => row[column])]);
}

/** The TRANSACTION_PAYLOAD events of the binlog file being written, with where each starts and ends. */
async function payloadEvents(db: mysql.Connection): Promise<{ file: string; start: number; end: number; info: string }[]> {
  const [[status]] = (await db.query('SHOW BINARY LOG STATUS')) as unknown as [[{ File: string }]];
  const [events] = await db.query(`SHOW BINLOG EVENTS IN '${status.File}'`);
  return (events as { Event_type: string; Pos: number; End_log_pos: number; Info: string }[])
    .filter((event) => event.Event_type === 'Transaction_payload')
    .map((event) => ({ file: status.File, start: Number(event.Pos), end: Number(event.End_log_pos), info: event.Info }));
}

async function head(db: mysql.Connection): Promise<{ file: string; offset: number }> {
  const [[status]] = (await db.query('SHOW BINARY LOG STATUS')) as unknown as [[{ File: string; Position: number }]];
  return { file: status.File, offset: Number(status.Position) };
}

/** `count` rows of t from `first` on, in one INSERT ... SELECT: values that compress well, as real rows often do. */
function insertMany(database: string, first: number, count: number): string {
  return `INSERT INTO ${database}.t WITH RECURSIVE s(i) AS (SELECT ${first} UNION ALL SELECT i + 1 FROM s WHERE i < ${first + count - 1}) ` +
    "SELECT i, CONCAT('value-', i % 100), i * 7919 FROM s";
}

/** What insertMany writes, as the changes land ([op, id, v, n], all text). */
function insertedRows(first: number, count: number): unknown[][] {
  return Array.from({ length: count }, (_, index) => ['insert', String(first + index), `value-${(first + index) % 100}`, String((first + index) * 7919)]);
}

test('compressed transactions (a session\'s and the global setting) land exactly; checkpoint set --timestamp reads over them', { timeout: 180_000 }, async () => {
  const server = await startPrivateMySql('compression');
  const tag = `cmp${Date.now() % 1_000_000}`;
  const db = await server.rootConnection();
  let global: mysql.Connection | undefined;
  try {
    await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t (id INT PRIMARY KEY, v VARCHAR(40), n BIGINT); CREATE TABLE ${tag}.u (id INT PRIMARY KEY, note TEXT); CREATE TABLE ${tag}.m (id INT PRIMARY KEY, v VARCHAR(20), w VARCHAR(20))`);
    await db.query('SET SESSION binlog_transaction_compression = ON; SET SESSION cte_max_recursion_depth = 1000000');
    // Before the instant: a compressed transaction the timestamp search has to read over.
    await db.query(insertMany(tag, 900_001, 3));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const instant = new Date().toISOString();

    const t: unknown[][] = [];
    const u: unknown[][] = [];
    // A session's compression: many rows; updates and deletes; a transaction over two tables.
    await db.query(insertMany(tag, 1, 1000));
    for (const change of insertedRows(1, 1000)) t.push(change);
    await db.query(`BEGIN; UPDATE ${tag}.t SET v = CONCAT('updated-', id) WHERE id <= 100; DELETE FROM ${tag}.t WHERE id > 900 AND id <= 1000; COMMIT`);
    for (let id = 1; id <= 100; id++) t.push(['update', String(id), `updated-${id}`, String(id * 7919)]);
    for (let id = 901; id <= 1000; id++) t.push(['delete', String(id), `value-${id % 100}`, String(id * 7919)]);
    await db.query(`BEGIN; INSERT INTO ${tag}.u VALUES (1, 'one'), (2, 'two'); UPDATE ${tag}.t SET n = -5 WHERE id = 5; DELETE FROM ${tag}.u WHERE id = 2; COMMIT`);
    u.push(['insert', '1', 'one'], ['insert', '2', 'two'], ['delete', '2', 'two']);
    t.push(['update', '5', 'updated-5', '-5']);
    // An XA transaction: its prepared part compressed, committed later by a statement of its own.
    await db.query(`XA START 'cx1'; INSERT INTO ${tag}.u VALUES (10, 'xa'); XA END 'cx1'; XA PREPARE 'cx1'`);
    await db.query(`INSERT INTO ${tag}.u VALUES (11, 'between')`);
    await db.query(`XA COMMIT 'cx1'`);
    u.push(['insert', '10', 'xa'], ['insert', '11', 'between']);
    // A partial row image inside a compressed transaction stops its table, as a plain one does.
    await db.query(`INSERT INTO ${tag}.m VALUES (1, 'full', 'w')`);
    await db.query(`SET SESSION binlog_row_image = MINIMAL; UPDATE ${tag}.m SET v = 'minimal' WHERE id = 1; SET SESSION binlog_row_image = FULL`);

    // The global setting, for a session that sets nothing: a large transaction, small compressed.
    await db.query('SET GLOBAL binlog_transaction_compression = ON');
    global = await server.rootConnection();
    await global.query('SET SESSION cte_max_recursion_depth = 1000000');
    const beforeLarge = await gtidExecuted(server);
    await global.query(insertMany(tag, 10_001, LARGE));
    for (const change of insertedRows(10_001, LARGE)) t.push(change);
    const [[{ large }]] = (await db.query('SELECT GTID_SUBTRACT(@@GLOBAL.gtid_executed, ?) AS large', [beforeLarge])) as unknown as [[{ large: string }]];
    await db.query('SET GLOBAL binlog_transaction_compression = OFF; SET SESSION binlog_transaction_compression = OFF');
    // A plain transaction after them.
    await db.query(`INSERT INTO ${tag}.u VALUES (3, 'plain')`);
    u.push(['insert', '3', 'plain']);

    const payloads = await payloadEvents(db);
    assert.equal(payloads.length, 9, 'nine compressed transactions in the binlog (an XA transaction\'s prepared part among them)');
    const largest = payloads.at(-1)!;
    const decompressed = Number(/decompressed_size=(\d+)/.exec(largest.info)?.[1]);
    assert.ok(largest.end - largest.start < decompressed / 2, `the large transaction is compressed (${largest.end - largest.start} of ${decompressed} bytes)`);

    // The timestamp search reads event headers over the compressed transactions (it used to stop on them).
    const workspace = makeWorkspace(server, { start: 'earliest', routing: `  include: ['${tag}.*']`, intervalSeconds: 0.3 });
    const moved = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), 'checkpoint', 'set', '--config', workspace.configFile, '--timestamp', instant], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, SLUICE_TEST_PASSWORD: server.password },
    });
    assert.equal(moved.status, 0, moved.stdout + moved.stderr);
    assert.match(moved.stdout, /the next start resumes at GTID/);

    const end = await gtidExecuted(server);
    const { daemon, exit } = await withDaemon(workspace, server, async (running) => waitForMySqlCheckpoint(server, workspace, end, running));
    assert.equal(exit.code, 0, daemon.output().slice(-3000));

    const landedT = await landed(workspace, tag, 't', ['id', 'v', 'n']);
    assert.equal(landedT.length, t.length, 'as many changes of t as were written');
    assert.deepEqual(landedT, t, 'every change of t once, in commit order, equal to what was written');
    assert.deepEqual(await landed(workspace, tag, 'u', ['id', 'note']), u);
    // Stopped in the stretch it was read in: what it staged there is dropped, nothing written with NULLs.
    assert.deepEqual(await landed(workspace, tag, 'm', ['id', 'v', 'w']), []);
    const stopped = (await latestCheckpoint(workspace))?.tables?.stopped ?? {};
    assert.deepEqual(Object.keys(stopped), [`${tag}.m`]);
    assert.equal(stopped[`${tag}.m`]!.code, 'SLUICE_BINLOG_ROW_IMAGE');
    assert.match(stopped[`${tag}.m`]!.message, /the update rows event of \S+ at mysql-bin\.\d+:\d+ \(GTID [0-9a-f-]+:\d+\) does not carry every column \(v, w missing from the before image; id, w missing from the after image\)/);
    // Each change names its transaction's GTID, as an uncompressed one does.
    const positions = bySequence(await readCommittedRows(new LocalCatalog(workspace.catalogDir), new LocalFileSystem(workspace.warehouse), tag, 't'))
      .slice(-LARGE)
      .map((row) => row._position);
    assert.deepEqual([...new Set(positions)], [large], 'the large transaction\'s rows carry its GTID');
  } finally {
    await db.query('SET GLOBAL binlog_transaction_compression = OFF').catch(() => undefined);
    await global?.end();
    await db.end();
    await server.stop();
  }
});

test('a kill -9 in the middle of a large compressed transaction loses and doubles nothing (file+offset, MINIMAL metadata); checkpoints stop at the payload\'s end', { timeout: 180_000 }, async () => {
  // binlog_row_metadata=MINIMAL: each TableMap inside the payload waits for its columns to be looked up.
  const server = await startPrivateMySql('compression-crash', { gtid: false, rowMetadata: 'MINIMAL' });
  const tag = `cmk${Date.now() % 1_000_000}`;
  const db = await server.rootConnection();
  const daemons: RunningDaemon[] = [];
  try {
    await db.query(`CREATE DATABASE ${tag}; CREATE TABLE ${tag}.t (id INT PRIMARY KEY, v VARCHAR(40), n BIGINT)`);
    const from = await head(db);
    const workspace = makeWorkspace(server, { start: `{ file: '${from.file}', position: ${from.offset} }`, routing: `  include: ['${tag}.*']`, intervalSeconds: 0.3 });
    const t: unknown[][] = [];
    await db.query(`INSERT INTO ${tag}.t VALUES (1, 'plain', 1)`);
    t.push(['insert', '1', 'plain', '1']);
    await db.query('SET SESSION binlog_transaction_compression = ON; SET SESSION cte_max_recursion_depth = 1000000');
    await db.query(insertMany(tag, 10_001, LARGE));
    for (const change of insertedRows(10_001, LARGE)) t.push(change);
    await db.query(`BEGIN; UPDATE ${tag}.t SET v = 'changed' WHERE id BETWEEN 10001 AND 10100; DELETE FROM ${tag}.t WHERE id > 10100 AND id <= 10200; COMMIT`);
    for (let id = 10_001; id <= 10_100; id++) t.push(['update', String(id), 'changed', String(id * 7919)]);
    for (let id = 10_101; id <= 10_200; id++) t.push(['delete', String(id), `value-${id % 100}`, String(id * 7919)]);
    const [largePayload, lastPayload] = await payloadEvents(db);
    assert.ok(largePayload && lastPayload, 'two compressed transactions');
    assert.deepEqual(await head(db), { file: lastPayload.file, offset: lastPayload.end }, 'the binlog ends with the second compressed transaction');

    // Run 1 is killed while it hands on the large transaction's rows: its checkpoint is before it.
    const first = startDaemon(workspace, server);
    daemons.push(first);
    await waitForChangesRead(first, 20_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const atKill = (await latestCheckpoint(workspace))?.source.position;
    assert.ok(atKill === undefined || atKill.offset <= largePayload.start, `no checkpoint inside or past the large transaction at the kill (${JSON.stringify(atKill)}, payload at ${largePayload.start})`);

    // Run 2 resumes there and catches up: its last checkpoint is the last payload's end, the head.
    const second = startDaemon(workspace, server);
    daemons.push(second);
    await metricsPort(second);
    const checkpoint = await until('a checkpoint at the head', second, async () => {
      const position = (await latestCheckpoint(workspace))?.source.position;
      return position?.file === lastPayload.file && position.offset >= lastPayload.end ? position : undefined;
    });
    assert.deepEqual({ file: checkpoint.file, offset: checkpoint.offset }, { file: lastPayload.file, offset: lastPayload.end }, 'the checkpoint after a compressed transaction is its payload\'s end');
    second.child.kill('SIGTERM');
    assert.equal((await second.exited).code, 0, second.output().slice(-3000));

    const rows = bySequence(await readCommittedRows(new LocalCatalog(workspace.catalogDir), new LocalFileSystem(workspace.warehouse), tag, 't'));
    const changes = rows.map((row) => [row._op, row.id, row.v, row.n]);
    assert.equal(changes.length, t.length, 'as many changes as were written: none lost, none doubled');
    assert.deepEqual(changes, t, 'every change once, in commit order');
    // Without GTIDs a change names its transaction by where it is: the payload event's start.
    assert.deepEqual([...new Set(rows.slice(1, 1 + LARGE).map((row) => row._position))], [`${largePayload.file}:${largePayload.start}`]);
  } finally {
    for (const daemon of daemons) daemon.child.kill('SIGKILL');
    await db.end();
    await server.stop();
  }
});
