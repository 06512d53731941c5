// The snapshot's watermark window, step by step against the real MariaDB (sources/snapshot/
// snapshot-merge.ts), with the stream played by the test: a chunk is handed on only at a boundary at
// or past its high watermark; a row whose key the stream changed since the chunk was asked for is
// left out (its change is newer than what was read); a TRUNCATE or a DDL naming the table while the
// chunk is under way has the chunk read again; progress moves only when rows are handed on; a table
// is read up to its last key at its first chunk, so one that grows at its end is still done.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type mysql from 'mysql2/promise';
import { pino } from 'pino';
import type { ChangeEvent, SourceColumn } from '../src/core/change-event.ts';
import { SluiceMetrics } from '../src/runtime/metrics.ts';
import type { BinlogPosition } from '../src/sources/binlog/position/binlog-position.ts';
import { readBinlogHead } from '../src/sources/binlog/server/binlog-head.ts';
import type { MergedChange } from '../src/sources/binlog/stream/stream-merge.ts';
import { readTableKey, type TableKey } from '../src/sources/table/table-key.ts';
import { SnapshotMerge } from '../src/sources/snapshot/snapshot-merge.ts';
import { freshProgress, type SnapshotState } from '../src/sources/snapshot/snapshot-progress.ts';
import { testMariaDb } from './helpers/servers.ts';

const COLUMNS: SourceColumn[] = [
  { name: 'id', mysqlType: 'int(11)', charset: null },
  { name: 'v', mysqlType: 'varchar(20)', charset: 'utf8mb4' },
];

async function head(connection: mysql.Connection): Promise<BinlogPosition> {
  const at = (await readBinlogHead(connection))!;
  const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT @@gtid_binlog_pos AS gtid');
  return { ...at, gtidSet: String(rows[0]!.gtid) };
}

function change(table: string, op: ChangeEvent['op'], before: string[] | null, after: string[] | null): ChangeEvent {
  const [schema, name] = table.split('.') as [string, string];
  return { schema, table: name, op, columns: COLUMNS, before, after, commitTs: 0, position: { file: 'x', offset: 0 }, sequence: 0n };
}

const values = (changes: MergedChange[] | undefined): string[] => (changes ?? []).map((entry) => `${entry.op}:${entry.after!.join('=')}`);

/** The snapshot of one MariaDB table, read through `connection` in chunks of `chunkRows`. */
async function snapshotOf(connection: mysql.Connection, table: string, chunkRows: number, key?: TableKey): Promise<SnapshotMerge> {
  return new SnapshotMerge({
    connection,
    isMariaDb: true,
    progress: freshProgress([table]),
    keys: new Map([[table, key ?? (await readTableKey(connection, table))]]),
    chunkRows,
    chunkBytes: 1 << 20,
    held: () => false,
    logger: pino({ level: 'silent' }),
    metrics: new SluiceMetrics(),
  });
}

/** The merge's wakes: `wake` to attach, `next(seen)` resolves once woken past `seen` (the chunk is read). */
function wakes(): { wake: () => void; fail: (error: Error) => void; count: () => number; next: (seen: number) => Promise<void> } {
  let woken = 0;
  let failure: Error | undefined;
  return {
    wake: () => woken++,
    fail: (error) => (failure = error),
    count: () => woken,
    next: async (seen) => {
      const deadline = Date.now() + 10_000;
      while (woken === seen && !failure) {
        assert.ok(Date.now() < deadline, 'the chunk was read');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(failure, undefined);
    },
  };
}

test('a chunk lands at its high watermark, without the rows whose keys the stream changed meanwhile; TRUNCATE and DDL read it again', { timeout: 60_000 }, async () => {
  const server = await testMariaDb();
  const db = `win${Date.now() % 1_000_000}`;
  const table = `${db}.t`;
  const connection = await server.rootConnection();
  const reader = await server.rootConnection();
  await connection.query(`CREATE DATABASE ${db}; CREATE TABLE ${table} (id INT PRIMARY KEY, v VARCHAR(20))`);
  // A point of the stream before the rows' transaction: before any high watermark of theirs.
  const start = await head(connection);
  await connection.query(`INSERT INTO ${table} VALUES (1,'a'),(2,'b'),(3,'c'),(4,'d'),(5,'e')`);

  const merge = await snapshotOf(reader, table, 3);
  const woken = wakes();
  const nextWake = (): Promise<void> => woken.next(woken.count());
  let waiting = nextWake();
  merge.attach(woken.wake, woken.fail, start);
  try {
    await waiting;
    // Rows 1-3 are read. Then the "stream" hands on an update of 2, made after the read.
    await connection.query(`UPDATE ${table} SET v = 'b2' WHERE id = 2`);
    merge.onChange(change(table, 'update', ['2', 'b'], ['2', 'b2']));
    // A boundary before the high watermark: nothing yet.
    assert.equal(merge.atBoundary(start, undefined), undefined, 'nothing before the high watermark');
    const afterUpdate = await head(connection);
    const state = (merge.statesAt(10n).snapshot as SnapshotState).position;
    assert.equal(state.tables[table]!.rows, 0, 'no progress before rows are handed on');
    waiting = nextWake();
    const first = merge.atBoundary(afterUpdate, undefined);
    assert.deepEqual(values(first), ['read:1=a', 'read:3=c'], 'row 2 changed in the window: its change stands for it');
    const progress = (merge.statesAt(12n).snapshot as SnapshotState).position;
    assert.deepEqual(progress.tables[table], { rows: 2, after: ['3'], until: ['5'] }, 'the table is read up to its last key at the first chunk');
    assert.equal(progress.rowsUpTo, '12');

    // The next chunk (4, 5) is asked for at that boundary. A TRUNCATE marker of the table: read again.
    // Row 6, inserted after the first chunk's read, is past the table's last key then: the stream's.
    await waiting;
    await connection.query(`INSERT INTO ${table} VALUES (6, 'f')`);
    merge.onChange(change(table, 'insert', null, ['6', 'f']));
    merge.onChange({ ...change(table, 'truncate', null, null), columns: [] });
    waiting = nextWake();
    assert.equal(merge.atBoundary(await head(connection), undefined), undefined, 'a truncated chunk is not handed on');
    await waiting;
    // A DDL of another table changes nothing; one naming this table has the chunk read again.
    await connection.query(`ALTER TABLE ${table} ADD COLUMN w INT`);
    waiting = nextWake();
    assert.equal(merge.atBoundary(await head(connection), `ALTER TABLE t ADD COLUMN w INT`), undefined, 'a chunk read before a DDL of its table is read again');
    await waiting;
    const last = merge.atBoundary(await head(connection), 'CREATE TABLE other (id INT)');
    assert.deepEqual(
      (last ?? []).map((entry) => entry.after!.join('=')),
      ['4=d=', '5=e='],
      'the chunk read after the DDL, with its columns, up to the last key of the first chunk',
    );
    assert.deepEqual(
      last![0]!.columns.map((column) => column.name),
      ['id', 'v', 'w'],
    );
    const done = (merge.statesAt(20n).snapshot as SnapshotState).position;
    assert.deepEqual(done.tables[table], { rows: 4, after: ['5'], until: ['5'], done: true }, 'a chunk that reaches that key is the last');
  } finally {
    merge.close();
    await reader.end();
    await connection.end();
  }
});

test('a table dropped before its chunk is read has nothing left to read: its snapshot is done, not stuck', { timeout: 60_000 }, async () => {
  const server = await testMariaDb();
  const db = `gone${Date.now() % 1_000_000}`;
  const table = `${db}.t`;
  const connection = await server.rootConnection();
  await connection.query(`CREATE DATABASE ${db}; CREATE TABLE ${table} (id INT PRIMARY KEY); INSERT INTO ${table} VALUES (1), (2)`);
  const key = await readTableKey(connection, table);
  await connection.query(`DROP TABLE ${table}`);
  let woken = false;
  const merge = await snapshotOf(connection, table, 10, key);
  merge.attach(
    () => (woken = true),
    (error) => assert.fail(error),
    undefined,
  );
  try {
    const deadline = Date.now() + 10_000;
    while (!woken) {
      assert.ok(Date.now() < deadline, 'the chunk was read');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual(merge.atBoundary(await head(connection), undefined), []);
    assert.deepEqual((merge.statesAt(1n).snapshot as SnapshotState).position.tables[table], { rows: 0, done: true });
  } finally {
    merge.close();
    await connection.end();
  }
});

test('the next chunk is read only when the stream has room for it: chunks handed on wait in its queue, not in memory without bound', { timeout: 60_000 }, async () => {
  const server = await testMariaDb();
  const db = `room${Date.now() % 1_000_000}`;
  const table = `${db}.t`;
  const connection = await server.rootConnection();
  await connection.query(`CREATE DATABASE ${db}; CREATE TABLE ${table} (id INT PRIMARY KEY); INSERT INTO ${table} VALUES (1), (2), (3), (4)`);
  const merge = await snapshotOf(connection, table, 2);
  let woken = 0;
  let room = true;
  const wokenWithin = async (ms: number): Promise<boolean> => {
    const seen = woken;
    const deadline = Date.now() + ms;
    while (woken === seen && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    return woken !== seen;
  };
  let read = wokenWithin(10_000);
  merge.attach(
    () => woken++,
    (error) => assert.fail(error),
    await head(connection),
    () => room,
  );
  try {
    assert.ok(await read, 'the first chunk is read while the queue has room');
    // The first chunk goes into a stream whose queue is now full: the next read waits.
    room = false;
    read = wokenWithin(1_000);
    assert.deepEqual(values(merge.atBoundary(await head(connection), undefined)), ['read:1', 'read:2']);
    assert.equal(await read, false, 'no chunk is read while the queue has no room');
    read = wokenWithin(10_000);
    room = true;
    assert.ok(await read, 'the next chunk is read once the queue has drained');
    assert.deepEqual(values(merge.atBoundary(await head(connection), undefined)), ['read:3', 'read:4']);
  } finally {
    merge.close();
    await connection.end();
  }
});

test('a table that grows at its end faster than chunks read it is still done: it is read up to its last key at the first chunk, later rows are the stream\'s', { timeout: 60_000 }, async () => {
  const server = await testMariaDb();
  const db = `grow${Date.now() % 1_000_000}`;
  const table = `${db}.t`;
  const connection = await server.rootConnection();
  const reader = await server.rootConnection();
  await connection.query(`CREATE DATABASE ${db}; CREATE TABLE ${table} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20)); INSERT INTO ${table} (v) VALUES ('a'), ('b'), ('c'), ('d'), ('e')`);
  const merge = await snapshotOf(reader, table, 2);
  const woken = wakes();
  merge.attach(woken.wake, woken.fail, await head(connection));
  try {
    const handedOn: string[] = [];
    // Each chunk reads 2 rows while 3 more are inserted at the table's end (the stream hands them on):
    // read to wherever the end is now, the table would never be done.
    for (let chunk = 0; chunk < 10 && !(merge.statesAt(0n).snapshot as SnapshotState).position.tables[table]!.done; chunk++) {
      await woken.next(chunk);
      const [inserted] = await connection.query<mysql.ResultSetHeader>(`INSERT INTO ${table} (v) VALUES ('x'), ('y'), ('z')`);
      for (let id = inserted.insertId; id < inserted.insertId + 3; id++) merge.onChange(change(table, 'insert', null, [String(id), 'x']));
      handedOn.push(...values(merge.atBoundary(await head(connection), undefined)));
    }
    assert.deepEqual(handedOn, ['read:1=a', 'read:2=b', 'read:3=c', 'read:4=d', 'read:5=e'], 'the rows there at the first chunk, each once');
    assert.deepEqual((merge.statesAt(0n).snapshot as SnapshotState).position.tables[table], { rows: 5, after: ['5'], until: ['5'], done: true });
  } finally {
    merge.close();
    await reader.end();
    await connection.end();
  }
});
