// The snapshot on MySQL 9.7 waits, before it reads a chunk, until the server has committed the
// stream's GTID set where the chunk's window opened (sources/snapshot/gtid-wait.ts). MySQL writes a
// transaction to the binlog before its rows are visible; a read in between would miss a change the
// stream has already handed on. That instant cannot be held open from a test, so the stream is
// played here with a GTID set whose last transaction is not committed yet (a session commits it
// later with SET gtid_next): the read must not happen before that commit, and must see it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type mysql from 'mysql2/promise';
import { pino } from 'pino';
import { SluiceError } from '../src/core/errors.ts';
import { SluiceMetrics } from '../src/runtime/metrics.ts';
import type { BinlogPosition } from '../src/sources/binlog/position/binlog-position.ts';
import { readBinlogHead } from '../src/sources/binlog/server/binlog-head.ts';
import type { MergedChange } from '../src/sources/binlog/stream/stream-merge.ts';
import { SnapshotMerge } from '../src/sources/snapshot/snapshot-merge.ts';
import { freshProgress } from '../src/sources/snapshot/snapshot-progress.ts';
import { readTableKey } from '../src/sources/table/table-key.ts';
import { testMysql } from './helpers/servers.ts';

async function head(connection: mysql.Connection): Promise<BinlogPosition> {
  const at = (await readBinlogHead(connection))!;
  const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT @@gtid_executed AS gtid');
  return { ...at, gtidSet: String(rows[0]!.gtid).replace(/\s+/g, '') };
}

function mergeFor(connection: mysql.Connection, table: string, key: Awaited<ReturnType<typeof readTableKey>>, timeoutSeconds: number): SnapshotMerge {
  return new SnapshotMerge({
    connection,
    isMariaDb: false,
    waitForGtids: { server: 'mysql-under-test:3306', timeoutSeconds },
    progress: freshProgress([table]),
    keys: new Map([[table, key]]),
    chunkRows: 10,
    chunkBytes: 1 << 20,
    held: () => false,
    logger: pino({ level: 'silent' }),
    metrics: new SluiceMetrics(),
  });
}

/** Whether a session of the server is inside WAIT_FOR_EXECUTED_GTID_SET for `gtid`. */
async function waitingFor(connection: mysql.Connection, gtid: string): Promise<boolean> {
  const [rows] = await connection.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM information_schema.processlist WHERE info LIKE 'SELECT WAIT_FOR_EXECUTED_GTID_SET%' AND info LIKE ?", [`%${gtid}%`]);
  return Number(rows[0]!.n) > 0;
}

async function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, what);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const values = (changes: MergedChange[] | undefined): string[] => (changes ?? []).map((entry) => `${entry.op}:${entry.after!.join('=')}`);

test('MySQL: a chunk is read only once the stream GTID set at its window is committed, and shows that commit', { timeout: 120_000 }, async () => {
  const server = await testMysql();
  const db = `gtidwait${Date.now() % 1_000_000}`;
  const table = `${db}.t`;
  const connection = await server.rootConnection();
  const reader = await server.rootConnection();
  const writer = await server.rootConnection();
  await connection.query(`CREATE DATABASE ${db}`);
  await connection.query(`CREATE TABLE ${table} (id INT PRIMARY KEY, v VARCHAR(20))`);
  await connection.query(`INSERT INTO ${table} VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
  // The stream has handed on a transaction the server has not made visible yet: its GTID is in the
  // stream's set at the window's opening, and not in gtid_executed.
  const pendingGtid = `${randomUUID()}:1`;
  const start = await head(connection);
  const low: BinlogPosition = { ...start, gtidSet: `${start.gtidSet},${pendingGtid}` };
  let woken = 0;
  let failure: Error | undefined;
  const merge = mergeFor(reader, table, await readTableKey(reader, table), 60);
  merge.attach(
    () => woken++,
    (error) => (failure = error),
    low,
  );
  try {
    await until('the chunk read waits for the stream GTID set', () => waitingFor(connection, pendingGtid));
    assert.equal(woken, 0, 'no chunk is read while a transaction the stream handed on is not committed');
    assert.equal(failure, undefined);
    // Now that transaction commits (as the stream saw it: an update of key 2).
    await writer.query(`SET gtid_next = '${pendingGtid}'`);
    await writer.query('BEGIN');
    await writer.query(`UPDATE ${table} SET v = 'b2' WHERE id = 2`);
    await writer.query('COMMIT');
    await writer.query("SET gtid_next = 'AUTOMATIC'");
    await until('the chunk is read once the transaction is committed', () => woken > 0 || failure !== undefined);
    assert.equal(failure, undefined);
    const rows = merge.atBoundary(await head(connection), undefined);
    assert.deepEqual(values(rows), ['read:1=a', 'read:2=b2', 'read:3=c'], 'the read shows the change the stream handed on before the window');
  } finally {
    merge.close();
    await Promise.all([reader.end(), writer.end(), connection.end()]);
  }
});

test('MySQL: a GTID set that is never committed fails the chunk read with a retriable SLUICE_SNAPSHOT naming the server and the set', { timeout: 60_000 }, async () => {
  const server = await testMysql();
  const db = `gtidlate${Date.now() % 1_000_000}`;
  const table = `${db}.t`;
  const connection = await server.rootConnection();
  await connection.query(`CREATE DATABASE ${db}`);
  await connection.query(`CREATE TABLE ${table} (id INT PRIMARY KEY)`);
  const never = `${randomUUID()}:7`;
  const start = await head(connection);
  let failure: Error | undefined;
  let woken = false;
  const merge = mergeFor(connection, table, await readTableKey(connection, table), 1);
  merge.attach(
    () => (woken = true),
    (error) => (failure = error),
    { ...start, gtidSet: `${start.gtidSet},${never}` },
  );
  try {
    await until('the read fails once the wait times out', () => failure !== undefined || woken);
    assert.ok(failure instanceof SluiceError, String(failure));
    assert.equal(failure.code, 'SLUICE_SNAPSHOT');
    assert.equal(failure.retriable, true);
    assert.match(failure.message, /mysql-under-test:3306/);
    assert.ok(failure.message.includes(never), failure.message);
  } finally {
    merge.close();
    await connection.end();
  }
});
