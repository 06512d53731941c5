// binlog_row_metadata=MINIMAL: the TableMap names no columns, so they come from information_schema
// and the schema history. Against a private MariaDB started with MINIMAL (the suite's shared one runs
// FULL): the same changes land exactly as under FULL; events written under three schemas replay into
// the right columns although information_schema only shows the last, also across SIGKILLs; a replay
// after a restart uses the history, and without one a change sluice cannot work back over is a clear
// error naming table, statement and position.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type mysql from 'mysql2/promise';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { SCHEMA_HISTORY_FILE } from '../src/sources/binlog/schema/schema-history.ts';
import { type DaemonWorkspace, gtidBinlogPos, gtidSeq, latestCheckpoint, makeWorkspace, type RunningDaemon, startDaemon, stopTableAndDaemon, waitForCheckpoint, withDaemon } from './helpers/daemon.ts';
import { addAndDropColumnsMidStream } from './helpers/add-drop-column.ts';
import { REPO_ROOT, TEST_MARIADB_DIR } from './helpers/servers.ts';
import { bySequence, readCommittedRows, type TableRow } from './helpers/warehouse.ts';
import { startMariaDb, type MariaDbServer } from './servers/mariadb.ts';

const MINIMAL_DIR = `${process.env.SLUICE_TEST_MARIADB_DIR ?? TEST_MARIADB_DIR}-minimal`;
const METADATA_COLUMNS = new Set(['_op', '_event_time', '_position', '_seq', '_source', 'dt']);

let server: MariaDbServer;

before(async () => {
  server = await startMariaDb({ dir: MINIMAL_DIR, rowMetadata: 'MINIMAL' });
  const root = await server.rootConnection();
  // The server is this file's own: a fresh binlog makes `start: earliest` cheap and exact.
  await root.query("SET GLOBAL binlog_row_metadata = 'MINIMAL'; RESET MASTER");
  // So that a test's start position (@@gtid_binlog_pos) is never empty.
  await root.query('CREATE DATABASE IF NOT EXISTS minimal_marker; DROP DATABASE minimal_marker');
  await root.end();
});

after(async () => {
  await server?.stop();
});

async function rowsOf(workspace: DaemonWorkspace, database: string, table: string): Promise<TableRow[]> {
  return bySequence(await readCommittedRows(new LocalCatalog(workspace.catalogDir), new LocalFileSystem(workspace.warehouse), database, table));
}

async function runToEnd(workspace: DaemonWorkspace, timeoutMs = 60_000): Promise<void> {
  const end = await gtidBinlogPos(server);
  await withDaemon(workspace, server, async (daemon) => {
    await waitForCheckpoint(workspace, end, timeoutMs, daemon);
    // A record from before a kill may already be at the end: its commits are done by the recovery
    // that precedes this line, and a stop before it would leave them undone.
    while (!daemon.output().includes('starting binlog capture')) {
      if (daemon.child.exitCode !== null) throw new Error(`daemon exited before it started capture:\n${daemon.output().slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
}

/** Inserts, updates and deletes of every kind of value that needs care, into `db`.t. */
async function valueWorkload(connection: mysql.Connection, db: string): Promise<void> {
  await connection.query(`CREATE DATABASE ${db}`);
  await connection.query(
    `CREATE TABLE ${db}.t (id INT PRIMARY KEY, u BIGINT UNSIGNED, s BIGINT, d DECIMAL(30,10), dtm DATETIME(6), ts TIMESTAMP(3) NULL,
      e ENUM('a','b c','it''s','é'), st SET('x','y','z'), j JSON, b BLOB, l VARCHAR(20) CHARACTER SET latin1, tx TEXT,
      f FLOAT, y YEAR, bt BIT(5), ti TINYINT UNSIGNED, si SMALLINT, bin BINARY(4), vb VARBINARY(10))`,
  );
  await connection.query(
    `INSERT INTO ${db}.t VALUES
      (1, 18446744073709551615, -9223372036854775808, -12345678901234567890.0123456789, '2024-02-29 23:59:59.999999', '2030-06-01 12:00:00.123',
       'it''s', 'x,z', '{"k": [1, 2.5, "v"]}', X'00FF10', 'caf\xe9', 'héllo ☃', 0.1, 2155, b'10101', 255, -32768, X'01', X'0000'),
      (2, 0, 9223372036854775807, 0.0000000001, '0000-00-00 00:00:00.000000', NULL, 'b c', '', '[]', '', '', '', -3.4e38, 1901, b'0', 0, 32767, X'00000000', ''),
      (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
  );
  await connection.query(`UPDATE ${db}.t SET u = 18446744073709551614, e = 'é', st = 'y', j = JSON_OBJECT('a', NULL), b = X'DEADBEEF', d = 1.5 WHERE id = 2`);
  await connection.query(`UPDATE ${db}.t SET u = 1, dtm = '1970-01-01 00:00:00.000001', tx = REPEAT('long ', 1000), l = 'x' WHERE id = 3`);
  await connection.query(`DELETE FROM ${db}.t WHERE id = 1`);
  await connection.query(`INSERT INTO ${db}.t (id, e, st) VALUES (4, 'a', 'x,y,z')`);
}

describe('binlog_row_metadata=MINIMAL', () => {
  test('inserts, updates and deletes land exactly as under FULL, value for value', { timeout: 120_000 }, async () => {
    const tag = `v${Date.now() % 1_000_000}`;
    const root = await server.rootConnection();
    const start = await gtidBinlogPos(server);
    // The setting is read per session: each half of the workload gets a connection of its own.
    await root.query("SET GLOBAL binlog_row_metadata = 'FULL'");
    const full = await server.rootConnection();
    await valueWorkload(full, `${tag}_full`);
    await full.end();
    await root.query("SET GLOBAL binlog_row_metadata = 'MINIMAL'");
    const minimal = await server.rootConnection();
    await valueWorkload(minimal, `${tag}_min`);
    await minimal.end();
    // The two halves really differ: only the FULL TableMaps carry the column names (and members).
    const [events] = await root.query('SHOW BINLOG EVENTS');
    const tableMapBytes = (table: string) =>
      (events as { Event_type: string; Info: string; Pos: number; End_log_pos: number }[])
        .filter((event) => event.Event_type === 'Table_map' && event.Info.includes(`(${table})`))
        .map((event) => Number(event.End_log_pos) - Number(event.Pos));
    assert.ok(Math.max(...tableMapBytes(`${tag}_min.t`)) + 60 < Math.min(...tableMapBytes(`${tag}_full.t`)), 'MINIMAL TableMaps are smaller');
    await root.end();

    const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}_*.*']`, intervalSeconds: 0.3 });
    await runToEnd(workspace);

    const catalog = new LocalCatalog(workspace.catalogDir);
    const columnsOf = async (db: string) => (await catalog.getTable(db, 't'))?.columns.map((column) => `${column.name} ${column.type}`);
    assert.deepEqual(await columnsOf(`${tag}_min`), await columnsOf(`${tag}_full`), 'the same Hive columns and types');
    // The primary key: from the TableMap under FULL, from information_schema under MINIMAL.
    assert.deepEqual((await catalog.getTable(`${tag}_full`, 't'))?.primaryKey, ['id']);
    assert.deepEqual((await catalog.getTable(`${tag}_min`, 't'))?.primaryKey, ['id']);
    const project = (rows: TableRow[]) => rows.map((row) => Object.fromEntries(Object.entries(row).filter(([name]) => !METADATA_COLUMNS.has(name) || name === '_op')));
    const fullRows = project(await rowsOf(workspace, `${tag}_full`, 't'));
    const minimalRows = project(await rowsOf(workspace, `${tag}_min`, 't'));
    assert.equal(fullRows.length, 7);
    assert.deepEqual(minimalRows, fullRows);
    // The values themselves, where a wrong column or a lossy decode would show.
    assert.deepEqual(
      minimalRows.map((row) => [row._op, row.id, row.u, row.d, row.e, row.st]),
      [
        ['insert', '1', '18446744073709551615', '-12345678901234567890.0123456789', "it's", 'x,z'],
        ['insert', '2', '0', '0.0000000001', 'b c', ''],
        ['insert', '3', null, null, null, null],
        ['update', '2', '18446744073709551614', '1.5000000000', 'é', 'y'],
        ['update', '3', '1', null, null, null],
        ['delete', '1', '18446744073709551615', '-12345678901234567890.0123456789', "it's", 'x,z'],
        ['insert', '4', null, null, 'a', 'x,y,z'],
      ],
    );
    assert.ok(existsSync(join(workspace.stateDir, SCHEMA_HISTORY_FILE)), 'the schema history is kept beside the checkpoints');
  });

  describe('a replay across ADD COLUMN and DROP COLUMN that information_schema no longer shows', () => {
    const db = `r${Date.now() % 1_000_000}`;
    const PHASE_ROWS = 6000;
    const expected: (string | null)[][] = [];
    let firstRuns: TableRow[] = [];

    before(async () => {
      const connection = await server.rootConnection();
      // Who writes what: a model of the table, from which every expected change follows.
      const current = new Map<number, Record<string, string | null>>();
      let columns = ['id', 'a', 'b', 'e'];
      const record = (op: string, row: Record<string, string | null>) => expected.push([op, row.id!, row.a ?? null, row.b ?? null, row.c ?? null, row.e ?? null]);
      const insertRange = async (from: number, to: number) => {
        for (let first = from; first <= to; first += 500) {
          const values: string[] = [];
          for (let id = first; id <= Math.min(to, first + 499); id++) {
            const row: Record<string, string | null> = { id: String(id), a: `a${id}`, e: id % 2 ? 'p' : 'q' };
            if (columns.includes('b')) row.b = String(id * 10);
            if (columns.includes('c')) row.c = `${id % 1000}.25`;
            current.set(id, row);
            record('insert', row);
            values.push(`(${columns.map((column) => (row[column] === undefined ? 'NULL' : `'${row[column]}'`)).join(', ')})`);
          }
          await connection.query(`INSERT INTO ${db}.t (${columns.join(', ')}) VALUES ${values.join(', ')}`);
        }
      };
      const update = async (id: number, changes: Record<string, string>) => {
        const row = { ...current.get(id)!, ...changes };
        current.set(id, row);
        record('update', row);
        await connection.query(`UPDATE ${db}.t SET ${Object.entries(changes).map(([column, value]) => `${column} = '${value}'`).join(', ')} WHERE id = ${id}`);
      };
      const remove = async (id: number) => {
        record('delete', current.get(id)!);
        current.delete(id);
        await connection.query(`DELETE FROM ${db}.t WHERE id = ${id}`);
      };
      await connection.query(`CREATE DATABASE ${db}`);
      await connection.query(`CREATE TABLE ${db}.t (id INT PRIMARY KEY, a VARCHAR(10), b INT, e ENUM('p','q'))`);
      await insertRange(1, PHASE_ROWS);
      await update(1, { a: 'A1', b: '11' });
      await remove(2);
      await connection.query(`ALTER TABLE ${db}.t ADD COLUMN c DECIMAL(6,2) AFTER id`);
      columns = ['id', 'c', 'a', 'b', 'e'];
      for (const row of current.values()) row.c = null;
      await insertRange(PHASE_ROWS + 1, 2 * PHASE_ROWS);
      await update(3, { c: '9.50', a: 'A3' });
      await remove(4);
      await connection.query(`ALTER TABLE ${db}.t DROP COLUMN b`);
      columns = ['id', 'c', 'a', 'e'];
      for (const row of current.values()) delete row.b;
      await insertRange(2 * PHASE_ROWS + 1, 3 * PHASE_ROWS);
      await update(5, { e: 'p', c: '1.00' });
      await remove(6);
      const [shown] = await connection.query(`SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) AS names FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 't'`, [db]);
      assert.equal((shown as { names: string }[])[0]!.names, 'id,c,a,e', 'information_schema shows only the last schema');
      await connection.end();
    });

    const project = (rows: TableRow[]) => rows.map((row) => [row._op, row.id, row.a, row.b, row.c, row.e]);

    test('started from the earliest position, every change lands in its columns', { timeout: 180_000 }, async () => {
      const workspace = makeWorkspace(server, { start: 'earliest', routing: `  include: ['${db}.*']`, intervalSeconds: 0.3 });
      await runToEnd(workspace, 120_000);
      const catalog = new LocalCatalog(workspace.catalogDir);
      assert.deepEqual(
        (await catalog.getTable(db, 't'))?.columns.map((column) => `${column.name} ${column.type}`),
        ['id int', 'a string', 'b int', 'e string', '_op string', '_event_time timestamp', '_position string', '_seq bigint', '_source string', 'c decimal(6,2)'],
      );
      firstRuns = await rowsOf(workspace, db, 't');
      assert.equal(firstRuns.length, expected.length);
      assert.deepEqual(project(firstRuns), expected);
    });

    test('SIGKILLed at checkpoints on the way and restarted, the result is exactly the same', { timeout: 240_000 }, async () => {
      assert.ok(firstRuns.length > 0, 'runs after the uninterrupted replay');
      const end = await gtidBinlogPos(server);
      const workspace = makeWorkspace(server, { start: 'earliest', routing: `  include: ['${db}.*']`, intervalSeconds: 0.05 });
      let killsBeforeEnd = 0;
      for (let kill = 0; kill < 4 && gtidSeq((await latestCheckpoint(workspace))?.source.position.gtidSet) < gtidSeq(end); kill++) {
        const daemon = startDaemon(workspace, server);
        const killed = await killAtNextRecord(workspace, daemon, 30_000);
        await daemon.exited;
        assert.ok(killed, `the daemon ended or wrote no checkpoint before kill ${kill}:\n${daemon.output().slice(-3000)}`);
        if (gtidSeq((await latestCheckpoint(workspace))?.source.position.gtidSet) < gtidSeq(end)) killsBeforeEnd++;
      }
      await runToEnd(workspace, 120_000);
      assert.ok(killsBeforeEnd > 0, 'at least one kill landed before the end of the replay');
      assert.deepEqual(await rowsOf(workspace, db, 't'), firstRuns, 'the same rows, sequence numbers and positions');
    });
  });

  test('a replay after a restart decodes old events with the columns the history kept; without it, a clear error', { timeout: 180_000 }, async () => {
    const db = `h${Date.now() % 1_000_000}`;
    const connection = await server.rootConnection();
    await connection.query(`CREATE DATABASE ${db}; CREATE TABLE ${db}.t (id INT PRIMARY KEY, a VARCHAR(10), b INT)`);
    const start = await gtidBinlogPos(server);
    const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${db}.*']`, intervalSeconds: 0.2 });
    let dropAt = '';
    await withDaemon(workspace, server, async (daemon) => {
      // The daemon reads each change as it happens, so information_schema answers for the moment.
      await connection.query(`INSERT INTO ${db}.t VALUES (1, 'one', 10)`);
      await waitForCheckpoint(workspace, await gtidBinlogPos(server), 30_000, daemon);
      await connection.query(`ALTER TABLE ${db}.t ADD COLUMN c INT AFTER id`);
      await connection.query(`INSERT INTO ${db}.t VALUES (2, 20, 'two', 200)`);
      await waitForCheckpoint(workspace, await gtidBinlogPos(server), 30_000, daemon);
      await connection.query(`ALTER TABLE ${db}.t DROP COLUMN b`);
      dropAt = await gtidBinlogPos(server);
      await connection.query(`INSERT INTO ${db}.t VALUES (3, 30, 'three')`);
      await waitForCheckpoint(workspace, await gtidBinlogPos(server), 30_000, daemon);
    }).finally(() => connection.end());
    const live = (await rowsOf(workspace, db, 't')).map((row) => [row._op, row.id, row.a, row.b, row.c]);
    assert.deepEqual(live, [
      ['insert', '1', 'one', '10', null],
      ['insert', '2', 'two', '200', '20'],
      ['insert', '3', 'three', null, '30'],
    ]);

    // Back to the start, as an operator replaying would: the same events, the columns of their time.
    const moved = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), 'checkpoint', 'set', '--config', workspace.configFile, '--gtid', start], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, SLUICE_TEST_PASSWORD: server.password },
    });
    assert.equal(moved.status, 0, moved.stderr);
    await runToEnd(workspace);
    const replayed = (await rowsOf(workspace, db, 't')).map((row) => [row._op, row.id, row.a, row.b, row.c]);
    assert.deepEqual(replayed, [...live, ...live], 'the replay appends the same three changes again');

    // The same start without the history: the first row's columns can only be worked back from
    // information_schema over the DROP COLUMN, which says nothing of the dropped column. That stops
    // the table (here, with sink.onTableError: daemon, the daemon).
    const fresh = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${db}.*']`, sinkExtra: '  onTableError: daemon' });
    const failed = startDaemon(fresh, server);
    assert.equal((await failed.exited).code, 1);
    assert.match(failed.output(), new RegExp(`table ${db}\\.t at binlog position [^:]+:\\d+ \\(GTID [^)]+\\): the binlog names no columns there`));
    assert.match(failed.output(), new RegExp(`the statement at mysql-bin\\.\\d+:\\d+ \\(GTID 0-1-${gtidSeq(dropAt)}\\) changed it in between: ALTER TABLE ${db}\\.t DROP COLUMN b`));
    assert.match(failed.output(), /SLUICE_SCHEMA_HISTORY/);
    assert.equal(await new LocalCatalog(fresh.catalogDir).getTable(db, 't'), undefined, 'nothing was written');

    // With the history copied over, the same start replays.
    mkdirSync(fresh.stateDir, { recursive: true });
    cpSync(join(workspace.stateDir, SCHEMA_HISTORY_FILE), join(fresh.stateDir, SCHEMA_HISTORY_FILE));
    await runToEnd(fresh);
    assert.deepEqual((await rowsOf(fresh, db, 't')).map((row) => [row._op, row.id, row.a, row.b, row.c]), live);

    // A history that does not describe the rows (here: damaged by hand) is refused, not used.
    const damaged = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${db}.*']` });
    const history = JSON.parse(readFileSync(join(workspace.stateDir, SCHEMA_HISTORY_FILE), 'utf8')) as { entries: { schema?: { columns: { name: string }[] } }[] };
    history.entries[0]!.schema!.columns = history.entries[0]!.schema!.columns.filter((column) => column.name !== 'b');
    mkdirSync(damaged.stateDir, { recursive: true });
    writeFileSync(join(damaged.stateDir, SCHEMA_HISTORY_FILE), JSON.stringify(history));
    // By default the table is stopped and the stream goes on; the record names it.
    const refused = startDaemon(damaged, server);
    await stopTableAndDaemon(damaged, refused, `${db}.t`);
    assert.equal((await latestCheckpoint(damaged))?.tables?.stopped?.[`${db}.t`]?.code, 'SLUICE_SCHEMA_HISTORY');
    assert.match(refused.output(), new RegExp(`table ${db}\\.t at binlog position [^:]+:\\d+ \\(GTID [^)]+\\): the binlog's TableMap has 3 columns, and sluice's columns for the table \\(from information_schema, as of .*?\\) are 2: id, a`));
    assert.match(refused.output(), /SLUICE_SCHEMA_HISTORY/);
  });

  test('a table first seen before changes it has not read yet: its columns are worked back from information_schema over ADD and RENAME COLUMN', { timeout: 120_000 }, async () => {
    const db = `w${Date.now() % 1_000_000}`;
    const connection = await server.rootConnection();
    await connection.query(`CREATE DATABASE ${db}; CREATE TABLE ${db}.t (id INT PRIMARY KEY, a VARCHAR(10))`);
    const start = await gtidBinlogPos(server);
    await connection.query(`INSERT INTO ${db}.t VALUES (1, 'one')`);
    await connection.query(`ALTER TABLE ${db}.t ADD COLUMN b INT AFTER id`);
    await connection.query(`INSERT INTO ${db}.t VALUES (2, 20, 'two')`);
    await connection.query(`ALTER TABLE ${db}.t RENAME COLUMN a TO aa`);
    await connection.query(`INSERT INTO ${db}.t VALUES (3, 30, 'three')`);
    await connection.end();
    const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${db}.*']` });
    await runToEnd(workspace);
    assert.deepEqual(
      (await rowsOf(workspace, db, 't')).map((row) => [row._op, row.id, row.a, row.b, row.aa]),
      [
        ['insert', '1', 'one', null, null],
        ['insert', '2', 'two', '20', null],
        ['insert', '3', null, '30', 'three'],
      ],
    );
  });

  test('ADD COLUMN (at the end and in the middle) and DROP COLUMN mid-stream keep every value in its column, as under FULL', { timeout: 120_000 }, async () => {
    await addAndDropColumnsMidStream(server);
  });
});

/** SIGKILLs the daemon the instant a new checkpoint record lands; false when it exits or nothing lands in time. */
async function killAtNextRecord(workspace: DaemonWorkspace, daemon: RunningDaemon, timeoutMs: number): Promise<boolean> {
  const before = (await latestCheckpoint(workspace))?.id ?? 0;
  return new Promise((resolve) => {
    let done = false;
    const finish = (killed: boolean) => {
      if (done) return;
      done = true;
      clearInterval(poll);
      clearTimeout(timer);
      watcher?.close();
      resolve(killed);
    };
    const check = async () => {
      const record = await latestCheckpoint(workspace);
      if (record && record.id > before) {
        daemon.child.kill('SIGKILL');
        finish(true);
      }
    };
    let watcher: ReturnType<typeof watch> | undefined;
    try {
      watcher = watch(workspace.stateDir, () => void check());
    } catch {
      watcher = undefined;
    }
    const poll = setInterval(() => void check(), 20);
    const timer = setTimeout(() => {
      daemon.child.kill('SIGKILL');
      finish(false);
    }, timeoutMs);
    daemon.child.once('exit', () => finish(false));
  });
}
