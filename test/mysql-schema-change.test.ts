// Schema changes as Oracle MySQL 9.7 writes them, on a private server of this file's own (it switches
// binlog_row_metadata between FULL and MINIMAL, a global setting): ALGORITHM=INSTANT ADD COLUMN (at
// the end, AFTER, FIRST) and DROP COLUMN, then updates of rows written before them (MySQL 8.0.29+
// row versions: the row image still comes in the table's column order, with the instant default);
// RENAME COLUMN, CHANGE COLUMN, MODIFY widening; invisible columns (in the row image and in FULL
// metadata's COLUMN_VISIBILITY, so captured like any column); VIRTUAL and STORED generated columns
// (both carried by a FULL row image); a generated invisible primary key (my_row_id), also where
// information_schema hides it; CREATE TABLE ... SELECT; geometry columns before text columns. Each
// change is compared, row by row, with MySQL's own SELECT at the time it was made, under FULL (the
// TableMap names the columns) and MINIMAL (the schema history works them out from the statements),
// live, in a replay where information_schema only shows the last schema, and for tables first met
// mid-stream; and a DDL statement's GTID in the checkpoint right after it. docs/mysql-setup.md#schema-changes-on-mysql
// says what lands.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type mysql from 'mysql2/promise';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { latestCheckpoint, makeWorkspace, type DaemonWorkspace, waitForChangesRead, withDaemon } from './helpers/daemon.ts';
import { gtidExecuted, startPrivateMySql, waitForMySqlCheckpoint } from './helpers/mysql-gtid.ts';
import { bySequence, readCommittedRows } from './helpers/warehouse.ts';
import type { MySqlServer } from './servers/mysql.ts';

const METADATA_COLUMNS = new Set(['_op', '_event_time', '_position', '_seq', '_source', 'dt']);

type TextRow = Record<string, string | null>;
interface Change {
  table: string;
  op: 'insert' | 'update' | 'delete';
  row: TextRow;
}

let server: MySqlServer;

before(async () => {
  server = await startPrivateMySql('ddl', { rowMetadata: 'FULL' });
});

after(async () => {
  await server?.stop();
});

/**
 * Runs statements and records each row change as MySQL's SELECT shows the row right after it (before
 * it, for a delete), with every column the table has then, the invisible ones included.
 */
class Recorder {
  readonly changes: Change[] = [];

  constructor(
    private readonly db: mysql.Connection,
    private readonly schema: string,
  ) {}

  async ddl(statement: string): Promise<void> {
    await this.db.query(statement);
  }

  async insert(table: string, statement: string, keys: string): Promise<void> {
    await this.db.query(statement);
    for (const row of await this.select(table, keys)) this.changes.push({ table, op: 'insert', row });
  }

  async update(table: string, statement: string, keys: string): Promise<void> {
    await this.db.query(statement);
    for (const row of await this.select(table, keys)) this.changes.push({ table, op: 'update', row });
  }

  async delete(table: string, keys: string): Promise<void> {
    const rows = await this.select(table, keys);
    await this.db.query(`DELETE FROM ${this.schema}.${table} WHERE ${keys}`);
    for (const row of rows) this.changes.push({ table, op: 'delete', row });
  }

  /** The rows `keys` selects, in primary key order (the order a multi-row statement logs them), every column as text (bytes and shapes as hex). */
  private async select(table: string, keys: string): Promise<TextRow[]> {
    const [columns] = await this.db.query(
      'SELECT COLUMN_NAME AS name, DATA_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
      [this.schema, table],
    );
    const described = columns as { name: string; type: string }[];
    const list = described.map(({ name, type }) => `${textOf(`\`${name}\``, type)} AS \`${name}\``).join(', ');
    const [rows] = await this.db.query(`SELECT ${list} FROM ${this.schema}.${table} WHERE ${keys} ORDER BY 1`);
    return (rows as Record<string, unknown>[]).map((row) => Object.fromEntries(described.map(({ name }) => [name, row[name] === null ? null : String(row[name])])));
  }
}

/** A column as text the way sluice writes it: shapes as their WKB, bytes as themselves (both in hex here). */
function textOf(column: string, type: string): string {
  if (/^(point|linestring|polygon|multipoint|multilinestring|multipolygon|geometry|geomcollection|geometrycollection)$/i.test(type)) return `HEX(ST_AsBinary(${column}))`;
  if (/^(binary|varbinary|tinyblob|blob|mediumblob|longblob)$/i.test(type)) return `HEX(${column})`;
  return `CAST(${column} AS CHAR)`;
}

/** The changes, table by table: DDL as MySQL 9.7 writes it, each followed by rows that would show a shifted column. */
async function ddlScenario(db: mysql.Connection, schema: string): Promise<Change[]> {
  const r = new Recorder(db, schema);
  await db.query(`CREATE DATABASE ${schema}`);
  await db.query(`USE ${schema}`);
  await r.ddl(`CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10), b INT, e ENUM('x','y'),
    gv INT AS (b * 2) VIRTUAL, gs VARCHAR(20) GENERATED ALWAYS AS (CONCAT('b=', b)) STORED, h INT INVISIBLE DEFAULT 7)`);
  await r.insert('t', "INSERT INTO t (id, a, b, e, h) VALUES (1, 'one', 10, 'x', 100), (2, 'two', 20, 'y', DEFAULT)", 'id IN (1, 2)');
  // INSTANT ADD in the middle: rows 1 and 2 stay as they were written, in an older row version.
  await r.ddl('ALTER TABLE t ADD COLUMN c DECIMAL(6,2) NOT NULL DEFAULT 1.25 AFTER id, ALGORITHM=INSTANT');
  await r.insert('t', "INSERT INTO t (id, a, b, c) VALUES (3, 'three', 30, 3.5)", 'id = 3');
  await r.update('t', "UPDATE t SET a = 'uno' WHERE id = 1", 'id = 1');
  await r.ddl("ALTER TABLE t ADD COLUMN f VARCHAR(8) DEFAULT 'eff' FIRST, ALGORITHM=INSTANT");
  await r.update('t', 'UPDATE t SET b = 21 WHERE id = 2', 'id = 2');
  await r.insert('t', "INSERT INTO t (f, id, a, b) VALUES ('ef4', 4, 'four', 40)", 'id = 4');
  await r.ddl('ALTER TABLE t DROP COLUMN a, ALGORITHM=INSTANT');
  await r.update('t', 'UPDATE t SET c = 9.99 WHERE id = 1', 'id = 1');
  await r.delete('t', 'id = 3');
  await r.ddl('ALTER TABLE t RENAME COLUMN c TO cost, ALGORITHM=INSTANT');
  await r.insert('t', 'INSERT INTO t (id, b, cost) VALUES (5, 50, 5.55)', 'id = 5');
  await r.ddl("ALTER TABLE t CHANGE COLUMN e kind ENUM('x','y','z')");
  await r.update('t', "UPDATE t SET kind = 'z' WHERE id IN (2, 5)", 'id IN (2, 5)');
  await r.ddl('ALTER TABLE t MODIFY COLUMN b BIGINT');
  await r.update('t', 'UPDATE t SET b = 1000000000 WHERE id = 4', 'id = 4');
  await r.ddl('ALTER TABLE t ALTER COLUMN h SET VISIBLE, ADD COLUMN k INT INVISIBLE DEFAULT 42 AFTER id');
  await r.insert('t', 'INSERT INTO t (id, b, k) VALUES (6, 60, 43)', 'id = 6');
  await r.delete('t', 'id = 1');

  // A generated invisible primary key: MySQL logs the CREATE TABLE with my_row_id spelled out.
  await db.query('SET SESSION sql_generate_invisible_primary_key = ON');
  await r.ddl('CREATE TABLE p (v VARCHAR(10), n INT)');
  await db.query('SET SESSION sql_generate_invisible_primary_key = OFF');
  await r.insert('p', "INSERT INTO p (v, n) VALUES ('a', 1), ('b', 2)", 'TRUE');
  await r.ddl('ALTER TABLE p ADD COLUMN w INT DEFAULT 5 AFTER v, ALGORITHM=INSTANT');
  await r.update('p', 'UPDATE p SET n = n + 1', 'TRUE');
  await r.delete('p', "v = 'a'");

  // CREATE TABLE ... SELECT: MySQL logs the CREATE with its columns spelled out (... START
  // TRANSACTION), then the rows, in one transaction.
  await r.insert('s', 'CREATE TABLE s SELECT id, b, kind FROM t WHERE id IN (2, 4)', 'TRUE');
  await r.ddl('ALTER TABLE s DROP COLUMN b, ADD COLUMN z INT DEFAULT 0 FIRST');
  await r.update('s', 'UPDATE s SET z = id', 'TRUE');

  // Geometry columns before text and binary ones: MySQL leaves them out of the TableMap's charset
  // lists (MariaDB counts them), so every later column keeps its own character set.
  await r.ddl(`CREATE TABLE geo (id INT PRIMARY KEY, spot POINT NOT NULL, label VARCHAR(20) CHARACTER SET latin1, note TEXT,
    raw VARBINARY(8), shape GEOMETRY, tag ENUM('a','é') CHARACTER SET latin1, code CHAR(3) CHARACTER SET ascii)`);
  await r.insert('geo', "INSERT INTO geo VALUES (1, POINT(1, 2), 'café', 'naïve 😀', X'00FF', ST_GeomFromText('LINESTRING(0 0, 1 1)'), 'é', 'abc')", 'id = 1');
  await r.ddl('ALTER TABLE geo ADD COLUMN more VARCHAR(10) CHARACTER SET utf8mb4 AFTER spot, ALGORITHM=INSTANT');
  await r.update('geo', "UPDATE geo SET more = 'ü', label = 'þorn', raw = X'80' WHERE id = 1", 'id = 1');
  return r.changes;
}

function metadataType(name: string): string {
  return `${name} ${{ _op: 'string', _event_time: 'timestamp', _position: 'string', _seq: 'bigint', _source: 'string' }[name]}`;
}

const HIVE_METADATA = [...METADATA_COLUMNS].filter((name) => name !== 'dt').map(metadataType);

/** Hive's columns of each table, in order: the first columns, the metadata ones, then each new name as it came. */
const EXPECTED_HIVE_COLUMNS = {
  t: ['id int', 'a string', 'b bigint', 'e string', 'gv int', 'gs string', 'h int', ...HIVE_METADATA, 'c decimal(6,2)', 'f string', 'cost decimal(6,2)', 'kind string', 'k int'],
  p: ['my_row_id decimal(20,0)', 'v string', 'n int', ...HIVE_METADATA, 'w int'],
  s: ['id int', 'b bigint', 'kind string', ...HIVE_METADATA, 'z int'],
  geo: ['id int', 'spot binary', 'label string', 'note string', 'raw binary', 'shape binary', 'tag string', 'code string', ...HIVE_METADATA, 'more string'],
};

/** Every committed row of the table, by _seq, as the source columns it has in Hive (NULL where the source had no such column then). */
async function landed(workspace: DaemonWorkspace, schema: string, table: string): Promise<{ columns: string[]; rows: TextRow[] }> {
  const catalog = new LocalCatalog(workspace.catalogDir);
  const definition = await catalog.getTable(schema, table);
  assert.ok(definition, `no Hive table ${schema}.${table}`);
  const rows = bySequence(await readCommittedRows(catalog, new LocalFileSystem(workspace.warehouse), schema, table));
  return {
    columns: definition.columns.map((column) => `${column.name} ${column.type}`),
    rows: rows.map((row) =>
      Object.fromEntries(
        Object.entries(row)
          .filter(([name]) => !METADATA_COLUMNS.has(name) || name === '_op')
          .map(([name, value]) => [name, value === null ? null : Buffer.isBuffer(value) ? value.toString('hex').toUpperCase() : String(value)]),
      ),
    ),
  };
}

async function assertLandedExactly(workspace: DaemonWorkspace, schema: string, changes: Change[], hiveColumns: Record<string, string[]> = EXPECTED_HIVE_COLUMNS): Promise<void> {
  const record = await latestCheckpoint(workspace);
  assert.equal(record?.tables, undefined, `no table stopped or behind: ${JSON.stringify(record?.tables)}`);
  for (const [table, expectedColumns] of Object.entries(hiveColumns)) {
    const { columns, rows } = await landed(workspace, schema, table);
    assert.deepEqual(columns, expectedColumns, `${schema}.${table}: Hive's columns`);
    const sourceColumns = columns.map((column) => column.slice(0, column.indexOf(' '))).filter((name) => !METADATA_COLUMNS.has(name));
    const expected = changes
      .filter((change) => change.table === table)
      .map((change) => ({ _op: change.op, ...Object.fromEntries(sourceColumns.map((name) => [name, null])), ...change.row }));
    assert.deepEqual(rows, expected, `${schema}.${table}: every change once, each value in its own column, as MySQL's SELECT showed it`);
  }
}

/** The first line of each column list mysqlbinlog prints for the TableMaps of schema.table: names only under FULL. */
function tableMapColumnLines(schema: string, table: string): string[] {
  const files = readdirSync(server.binlogDir).filter((name) => /^mysql-bin\.\d+$/.test(name)).map((name) => join(server.binlogDir, name));
  const [command, ...args] = server.tool('mysqlbinlog');
  const text = execFileSync(command!, [...args, '--print-table-metadata', '--base64-output=decode-rows', ...files], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const lines = text.split('\n');
  return lines.flatMap((line, index) => (line.includes(`Table_map: \`${schema}\`.\`${table}\``) ? [lines.slice(index + 1, index + 4).find((next) => next.startsWith('# Columns('))!] : []));
}

async function setRowMetadata(value: 'FULL' | 'MINIMAL'): Promise<void> {
  const root = await server.rootConnection();
  await root.query(`SET GLOBAL binlog_row_metadata = '${value}'`);
  await root.end();
}

/** Runs the scenario into `schema` while a daemon captures it (started at the head), and returns the daemon's workspace and the changes. */
async function captureLive(schema: string): Promise<{ workspace: DaemonWorkspace; changes: Change[]; start: string }> {
  const start = await gtidExecuted(server);
  const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${schema}.*']`, intervalSeconds: 0.3 });
  let changes: Change[] = [];
  const { daemon, exit } = await withDaemon(workspace, server, async (running) => {
    const db = await server.rootConnection();
    try {
      changes = await ddlScenario(db, schema);
    } finally {
      await db.end();
    }
    await waitForMySqlCheckpoint(server, workspace, await gtidExecuted(server), running, 45_000);
  });
  assert.equal(exit.code, 0, daemon.output().slice(-3000));
  return { workspace, changes, start };
}

describe('schema changes as MySQL 9.7 writes them', () => {
  const tag = `ddl${Date.now() % 1_000_000}`;

  test('binlog_row_metadata=FULL: each change lands exactly, in its own column', { timeout: 90_000 }, async () => {
    await setRowMetadata('FULL');
    const { workspace, changes } = await captureLive(`${tag}_full`);
    assert.ok(tableMapColumnLines(`${tag}_full`, 't').every((line) => line.startsWith('# Columns(`')), 'FULL TableMaps name the columns');
    await assertLandedExactly(workspace, `${tag}_full`, changes);
  });

  test('binlog_row_metadata=MINIMAL: the schema history follows the same statements, live and in a replay', { timeout: 120_000 }, async () => {
    await setRowMetadata('MINIMAL');
    const schema = `${tag}_min`;
    const { workspace, changes, start } = await captureLive(schema);
    const lines = tableMapColumnLines(schema, 't');
    assert.ok(lines.length > 0 && lines.every((line) => /^# Columns\([A-Z]/.test(line)), `MINIMAL TableMaps name no column: ${lines[0]}`);
    await assertLandedExactly(workspace, schema, changes);

    // A replay with no history, from before the CREATE TABLE: information_schema shows only the last
    // schema now, so every earlier one comes from the statements alone.
    const replay = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${schema}.*']`, intervalSeconds: 0.3 });
    const end = await gtidExecuted(server);
    const { daemon, exit } = await withDaemon(replay, server, (running) => waitForMySqlCheckpoint(server, replay, end, running, 45_000));
    assert.equal(exit.code, 0, daemon.output().slice(-3000));
    await assertLandedExactly(replay, schema, changes);
  });

  test('MINIMAL, a table first met mid-stream: information_schema carried back over ADD and RENAME COLUMN, my_row_id though information_schema hides it', { timeout: 90_000 }, async () => {
    await setRowMetadata('MINIMAL');
    const schema = `${tag}_met`;
    const root = await server.rootConnection();
    const db = await server.rootConnection();
    try {
      // Hidden from information_schema in every new session, as a DBA may choose.
      await root.query('SET GLOBAL show_gipk_in_create_table_and_information_schema = OFF');
      await db.query(`CREATE DATABASE ${schema}`);
      await db.query(`USE ${schema}`);
      await db.query('CREATE TABLE m (id INT PRIMARY KEY, a VARCHAR(10), INDEX ((id + 1)))');
      await db.query('SET SESSION sql_generate_invisible_primary_key = ON');
      await db.query('CREATE TABLE g (v VARCHAR(10), n INT)');
      await db.query('SET SESSION sql_generate_invisible_primary_key = OFF');
      const start = await gtidExecuted(server);
      // Recorded with a session that shows my_row_id.
      await db.query('SET SESSION show_gipk_in_create_table_and_information_schema = ON');
      const r = new Recorder(db, schema);
      await r.insert('m', "INSERT INTO m VALUES (1, 'one'), (2, 'two')", 'TRUE');
      await r.insert('g', "INSERT INTO g (v, n) VALUES ('a', 1), ('b', 2)", 'TRUE');
      await r.ddl('ALTER TABLE m ADD COLUMN b INT NOT NULL DEFAULT 5 FIRST, ALGORITHM=INSTANT');
      await r.update('m', "UPDATE m SET a = 'uno' WHERE id = 1", 'id = 1');
      await r.ddl('ALTER TABLE m RENAME COLUMN a TO a2, ADD COLUMN c INT INVISIBLE AFTER id');
      await r.insert('m', "INSERT INTO m (b, id, a2, c) VALUES (6, 3, 'three', 33)", 'id = 3');
      await r.update('g', 'UPDATE g SET n = n * 10', 'TRUE');
      await r.ddl('ALTER TABLE g ADD COLUMN w INT DEFAULT 9, ALGORITHM=INSTANT');
      await r.delete('g', "v = 'a'");

      // No history yet: the first TableMap of each table comes before those statements.
      const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${schema}.*']`, intervalSeconds: 0.3 });
      const end = await gtidExecuted(server);
      const { daemon, exit } = await withDaemon(workspace, server, (running) => waitForMySqlCheckpoint(server, workspace, end, running, 45_000));
      assert.equal(exit.code, 0, daemon.output().slice(-3000));
      await assertLandedExactly(workspace, schema, r.changes, {
        m: ['id int', 'a string', ...HIVE_METADATA, 'b int', 'c int', 'a2 string'],
        g: ['my_row_id decimal(20,0)', 'v string', 'n int', ...HIVE_METADATA, 'w int'],
      });
    } finally {
      await root.query('SET GLOBAL show_gipk_in_create_table_and_information_schema = ON');
      await root.end();
      await db.end();
    }
  });

  test("a DDL statement's GTID is in the checkpoint after it: a stop right after ALTER TABLE and TRUNCATE resumes past them, nothing twice", { timeout: 90_000 }, async () => {
    await setRowMetadata('FULL');
    const schema = `${tag}_gtid`;
    const db = await server.rootConnection();
    try {
      await db.query(`CREATE DATABASE ${schema}; CREATE TABLE ${schema}.t (id INT PRIMARY KEY)`);
      const start = await gtidExecuted(server);
      const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${schema}.*']`, intervalSeconds: 0.3 });
      // zongji adds a MySQL transaction's GTID to its set at the Xid or COMMIT, and a DDL has
      // neither: the clean stop's checkpoint must still hold the two statements at the end.
      const first = await withDaemon(workspace, server, async (daemon) => {
        await db.query(`INSERT INTO ${schema}.t VALUES (1)`);
        await db.query(`ALTER TABLE ${schema}.t ADD COLUMN c INT, ALGORITHM=INSTANT`);
        await db.query(`TRUNCATE TABLE ${schema}.t`);
        await waitForChangesRead(daemon, 2);
      });
      assert.equal(first.exit.code, 0, first.daemon.output().slice(-3000));
      const stoppedAt = (await latestCheckpoint(workspace))?.source.position.gtidSet ?? '';
      const executed = await gtidExecuted(server);
      const [same] = await db.query('SELECT GTID_SUBSET(?, ?) AS covered', [executed, stoppedAt]);
      assert.equal(Number((same as { covered: number | string }[])[0]!.covered), 1, `the final checkpoint (${stoppedAt}) holds every GTID up to the TRUNCATE (${executed})`);

      const second = await withDaemon(workspace, server, async (daemon) => {
        await db.query(`INSERT INTO ${schema}.t VALUES (2, 20)`);
        await waitForMySqlCheckpoint(server, workspace, await gtidExecuted(server), daemon, 45_000);
      });
      assert.equal(second.exit.code, 0, second.daemon.output().slice(-3000));
      const { rows } = await landed(workspace, schema, 't');
      assert.deepEqual(
        rows.map((row) => [row._op, row.id, row.c]),
        [
          ['insert', '1', null],
          ['truncate', null, null],
          ['insert', '2', '20'],
        ],
        'the TRUNCATE once: not read again after the restart',
      );
    } finally {
      await db.end();
    }
  });
});
