// The type acceptance test's machinery (see test/types-end-to-end.test.ts for the contract), run on
// any server the daemon fixtures take: the columns, their values and the server's own canonical
// expressions come from the test file; the writing, the four daemon runs (text and Parquet, each under
// TZ=Asia/Shanghai and TZ=UTC) and the value-by-value comparison are the same for MariaDB and MySQL.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type mysql from 'mysql2/promise';
import { hiveTypeFor } from '../../src/catalog/type-mapping.ts';
import { LocalCatalog } from '../../src/catalog/local-catalog.ts';
import { shortestFloat32 } from '../../src/sources/binlog/decode/cell-decoder.ts';
import type { MariaDbServer } from '../servers/mariadb.ts';
import { makeWorkspace, startDaemon, type DaemonWorkspace, type RunningDaemon } from './daemon.ts';
import { runQueryCli, type QueryRow } from './query-cli.ts';

export type Form = 'text' | 'float' | 'double' | 'hex' | 'instant';

export interface Column {
  name: string;
  ddl: string;
  /** SQL literals, one per row (the row's id is its index); rows past the end are NULL. */
  values: string[];
  /** The server's canonical text of the value (see the contract above). */
  mysql: string;
  form: Form;
  /** The Hive type when it is not the type table's for the information_schema type (the known limits). */
  hive?: string;
}

export const INT = (name: string, ddl: string, values: string[]): Column => ({ name, ddl, values, mysql: `CAST(${name} AS CHAR)`, form: 'text' });
export const TEXT = (name: string, ddl: string, values: string[]): Column => ({ name, ddl, values, mysql: name, form: 'text' });
export const BYTES = (name: string, ddl: string, values: string[]): Column => ({ name, ddl, values, mysql: `HEX(${name})`, form: 'hex' });
export const SHAPE = (name: string, ddl: string, values: string[]): Column => ({ name, ddl, values, mysql: `HEX(ST_AsBinary(${name}))`, form: 'hex' });
export const NINES = (count: number): string => '9'.repeat(count);
export const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, byte) => byte)).toString('hex').toUpperCase();

/** Columns every server has, with values every server stores the same way outside strict mode. */
export const COMMON_SCALARS: Column[] = [
  INT('ti', 'tinyint', ['-128', '127', '0', '-1']),
  INT('tiu', 'tinyint unsigned', ['0', '255', '128']),
  INT('bool1', 'bool', ['0', '1', '-128', '127']),
  INT('si', 'smallint', ['-32768', '32767', '0']),
  INT('siu', 'smallint unsigned', ['0', '65535']),
  INT('mi', 'mediumint', ['-8388608', '8388607', '-1']),
  INT('miu', 'mediumint unsigned', ['0', '16777215']),
  INT('i', 'int', ['-2147483648', '2147483647', '0']),
  INT('iu', 'int unsigned', ['0', '4294967295', '2147483648']),
  // ZEROFILL only pads the display ('00000042'); the value is the integer.
  { name: 'izf', ddl: 'int(8) unsigned zerofill', values: ['42', '4294967295', '0'], mysql: 'CAST(izf + 0 AS CHAR)', form: 'text' },
  INT('bi', 'bigint', ['-9223372036854775808', '9223372036854775807', '9007199254740993', '-9007199254740993', '0']),
  INT('biu', 'bigint unsigned', ['0', '18446744073709551615', '9223372036854775808', '9007199254740993']),
  INT('d102', 'decimal(10,2)', ['-99999999.99', '99999999.99', '0', '-0.5', '0.01']),
  INT('d380', 'decimal(38,0)', [`-${NINES(38)}`, NINES(38), '0', '1']),
  INT('d3838', 'decimal(38,38)', [`-0.${NINES(38)}`, `0.${NINES(38)}`, '0', '0.00000000000000000000000000000000000001']),
  INT('d390', 'decimal(39,0)', [`-${NINES(39)}`, NINES(39), '0', '-1']),
  INT('d65', 'decimal(65,30)', [`-${NINES(35)}.${NINES(30)}`, `${NINES(35)}.${NINES(30)}`, '0', '0.000000000000000000000000000001', '-12345678901234567890.123456789012345678901234567891']),
  INT('du', 'decimal(5,2) unsigned', ['0', '999.99', '0.01']),
  { name: 'f', ddl: 'float', values: ['-3.4028234e38', '3.4028234e38', '0', '1.17549435e-38', '1e-45', '0.1', '16777217', '-2.5'], mysql: 'CAST(CAST(f AS DOUBLE) AS CHAR)', form: 'float' },
  {
    name: 'db',
    ddl: 'double',
    values: ['-1.7976931348623157e308', '1.7976931348623157e308', '0', '5e-324', '2.2250738585072014e-308', '0.1', '0.30000000000000004', '1e21'],
    mysql: 'CAST(db AS CHAR)',
    form: 'double',
  },
  { name: 'b1', ddl: 'bit(1)', values: ["b'0'", "b'1'"], mysql: 'CAST(b1 + 0 AS CHAR)', form: 'text' },
  { name: 'b10', ddl: 'bit(10)', values: ["b'0'", "b'1111111111'", "b'1000000000'"], mysql: 'CAST(b10 + 0 AS CHAR)', form: 'text' },
  { name: 'b64', ddl: 'bit(64)', values: ['0', '18446744073709551615', '9223372036854775808', '1'], mysql: 'CAST(b64 + 0 AS CHAR)', form: 'text' },
  { name: 'y', ddl: 'year', values: ['0', '2155', '1901', '2024'], mysql: 'CAST(y + 0 AS CHAR)', form: 'text' },
  INT('d', 'date', ["'0000-00-00'", "'9999-12-31'", "'1000-01-01'", "'2024-00-15'", "'2024-02-29'"]),
  INT('tm', 'time', ["'-838:59:59'", "'838:59:59'", "'00:00:00'", "'-00:00:01'", "'100:00:00'"]),
  INT('tm3', 'time(3)', ["'-838:59:59.000'", "'838:59:59.000'", "'-00:00:00.001'", "'23:59:59.999'"]),
  INT('tm6', 'time(6)', ["'-838:59:59.000000'", "'838:59:59.000000'", "'-00:00:00.000001'", "'00:00:00'", "'-12:00:00.5'"]),
  INT('dtm', 'datetime', ["'0000-00-00 00:00:00'", "'9999-12-31 23:59:59'", "'1000-01-01 00:00:00'", "'2024-00-00 00:00:00'"]),
  // 1988-04-17 02:30 did not exist in Asia/Shanghai (daylight saving time began at 02:00): a value
  // pushed through that process time zone would move.
  INT('dtm6', 'datetime(6)', [
    "'0000-00-00 00:00:00'",
    "'9999-12-31 23:59:59.999999'",
    "'1000-01-01 00:00:00.000000'",
    "'1988-04-17 02:30:00.000001'",
    "'2024-00-00 01:02:03.5'",
    "'2026-01-01 00:30:00.999999'",
  ]),
  // Written in a '+08:00' session: '1970-01-01 08:00:01' is the first second TIMESTAMP can hold.
  { name: 'ts', ddl: 'timestamp NULL DEFAULT NULL', values: ["'0000-00-00 00:00:00'", "'2038-01-19 11:14:07'", "'1970-01-01 08:00:01'", "'2026-01-01 07:59:59'"], mysql: 'CAST(UNIX_TIMESTAMP(ts) AS CHAR)', form: 'instant' },
  {
    name: 'ts6',
    ddl: 'timestamp(6) NULL DEFAULT NULL',
    values: ["'0000-00-00 00:00:00'", "'2038-01-19 11:14:07.999999'", "'1970-01-01 08:00:01.000000'", "'2026-01-01 07:59:59.000001'", "'1988-04-17 02:30:00.5'"],
    mysql: 'CAST(UNIX_TIMESTAMP(ts6) AS CHAR)',
    form: 'instant',
  },
  TEXT('c', 'char(10)', ["''", "'abc'", "'😀'", "CONCAT('a', CHAR(1), 'b')", "'\\\\N'"]),
  TEXT('vc', 'varchar(200)', [
    "''",
    "'\\\\N'",
    "'a\\nb\\rc\\td\\\\e'",
    "CONCAT('x', CHAR(1), 'y', CHAR(0), 'z', CHAR(2), CHAR(8))",
    "'日本語 😀 e\u0301 👩‍👩‍👧'",
    "'trailing space '",
  ]),
  TEXT('tx', 'text', ["'héllo\\n😀'", "''", "REPEAT('ab\\n', 30000)", "CONCAT(CHAR(1), '\\r\\n', CHAR(1))"]),
  TEXT('v3', 'varchar(20) CHARACTER SET utf8mb3', ["'ü€\\n'", "''", "CONCAT('k', CHAR(1))"]),
  TEXT('tt', 'tinytext', ["'😀'", "''", "REPEAT('é', 127)"]),
  TEXT('mt', 'mediumtext', ["REPEAT('a\\rb', 40000)", "''"]),
  TEXT('lt', 'longtext', ["REPEAT('x', 70000)", "'\\N'", "''"]),
  // MySQL's latin1 has a character for every byte (0x81, 0x8D, 0x8F, 0x90 and 0x9D are C1 controls,
  // where iconv-lite's cp1252 has none): all 256 in one value of a VARCHAR (2-byte length) and of a
  // TEXT, those five in a CHAR.
  TEXT('vl', 'varchar(300) CHARACTER SET latin1', ["'café'", "'€ ÿ'", "''", "'a\\nb'", "CONVERT(x'80' USING latin1)", `CONVERT(x'${ALL_BYTES}' USING latin1)`]),
  TEXT('cl', 'char(5) CHARACTER SET latin1', ["'é'", "''", "'ÿÿÿÿÿ'", "CONVERT(x'818D8F909D' USING latin1)"]),
  TEXT('tl', 'text CHARACTER SET latin1', ["'Straße'", "''", "CONCAT('x', CHAR(1), 'y')", `CONVERT(x'${ALL_BYTES}' USING latin1)`]),
  BYTES('bn', 'binary(4)', ["x'00'", "x'FFFFFFFF'", "x'00000000'", "x'01000000'", "''"]),
  BYTES('vb', 'varbinary(20)', ["''", "x'00FF'", "x'0A0D5C01'", "x'5C4E'", "x'FF'"]),
  BYTES('bl', 'blob', ["''", "x'00FF0A0D5C01'", "REPEAT(x'FF', 70000)", "x'00'"]),
  BYTES('tb', 'tinyblob', ["x'FF00'", "''", "REPEAT(x'00', 255)"]),
  BYTES('mb', 'mediumblob', ["REPEAT(x'0A0D01FF', 20000)", "''"]),
  BYTES('lb', 'longblob', ["x'DEADBEEF00'", "''"]),
  TEXT('e', "enum('a','b','c d','😀')", ["'a'", "'😀'", "'c d'", "'not a member'"]),
  TEXT('st', "set('x','y','z')", ["''", "'x,y,z'", "'z,x'", "'y'"]),
];

// Geometry has a table of its own: sluice refuses a table whose geometry column precedes a text or
// binary column (docs/known-limits.md).
export const SHAPES: Column[] = [
  SHAPE('pt', 'point', ['POINT(0, 0)', 'POINT(-1.7976931348623157e308, 1.7976931348623157e308)', 'POINT(-0.5, 5e-324)', 'POINT(1, 2)']),
  SHAPE('ls', 'linestring', ["ST_GeomFromText('LINESTRING(0 0, 1 1)')", "ST_GeomFromText('LINESTRING(-1e300 1e300, 0.1 0.2, 3 4, 5 6)')", "ST_GeomFromText('LINESTRING(1 1, 1 1)')"]),
  SHAPE('pg', 'polygon', [
    "ST_GeomFromText('POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (1 1, 2 1, 2 2, 1 1))')",
    "ST_GeomFromText('POLYGON((0 0, 1 0, 0 1, 0 0))')",
    "ST_GeomFromText('POLYGON((-5 -5, 5 -5, 5 5, -5 -5))')",
  ]),
  SHAPE('mpt', 'multipoint', ["ST_GeomFromText('MULTIPOINT(0 0, 1 1)')", "ST_GeomFromText('MULTIPOINT(-1 -2)')"]),
  SHAPE('gc', 'geometrycollection', [
    "ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 2), POLYGON((0 0, 1 0, 0 1, 0 0)))')",
    "ST_GeomFromText('GEOMETRYCOLLECTION EMPTY')",
  ]),
  SHAPE('g', 'geometry', [
    "ST_GeomFromText('POINT(3 4)')",
    "ST_GeomFromText('LINESTRING(0 0, 1 1)')",
    "ST_GeomFromText('MULTIPOINT(0 0, 1 1)')",
    "ST_GeomFromText('POLYGON((0 0, 1 0, 0 1, 0 0))')",
    "ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 2), LINESTRING(0 0, 1 1))')",
    "ST_GeomFromText('MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5)))')",
  ]),
];

export interface Table {
  name: string;
  columns: Column[];
}

/** The server under test: how to reach it, where its binlog ends, and when a checkpoint has reached that. */
export interface TypesTarget<S extends MariaDbServer> {
  label: string;
  server: () => Promise<S>;
  tables: Table[];
  /** The binlog's end as `source.start: { gtid }` takes it. */
  head: (server: S) => Promise<string>;
  waitForCheckpoint: (server: S, workspace: DaemonWorkspace, end: string, daemon: RunningDaemon) => Promise<unknown>;
}

const rowCount = (table: Table): number => Math.max(...table.columns.map((column) => column.values.length)) + 1;
/** The last row is NULL in every column. */
const nullRow = (table: Table): number => rowCount(table) - 1;
/** Rows set to another row's values ('null': every column NULL) in one transaction. */
const updatesOf = (table: Table): { id: number; from: number | 'null' }[] => [
  { id: 0, from: 1 },
  { id: 1, from: 0 },
  { id: 2, from: 'null' },
  { id: nullRow(table), from: 2 },
];
/** Rows deleted afterwards: one updated, one not. */
const deletesOf = (): number[] => [1, 3];

type Snapshot = Map<number, Record<string, string | null>>;

interface Change {
  op: 'insert' | 'update' | 'delete';
  id: number;
  /** MariaDB's canonical values of the image the change carries. */
  expected: Record<string, string | null>;
  /** The SQL literals that image was written with, for failure messages. */
  literals: string[];
}

interface Run {
  format: 'text' | 'parquet';
  timeZone: string;
  workspace: DaemonWorkspace;
  rows: Map<string, QueryRow[]>;
}

export function describeTypesEndToEnd<S extends MariaDbServer>(target: TypesTarget<S>): void {
  const db = `types${process.pid % 10_000}${Date.now() % 100_000}`;
  let server: S;
  let root: mysql.Connection;
  const expectedChanges = new Map<string, Change[]>();
  const informationSchemaTypes = new Map<string, Map<string, string>>();
  const runs: Run[] = [];

  function literalsOf(table: Table, row: number | 'null'): string[] {
    return table.columns.map((column) => (row === 'null' ? 'NULL' : (column.values[row] ?? 'NULL')));
  }

  /** The server's canonical text of every value, read in a session whose time zone is neither UTC nor the writer's. */
  async function snapshot(reader: mysql.Connection, table: Table): Promise<Snapshot> {
    const select = table.columns.map((column) => `${column.mysql} AS \`${column.name}\``).join(', ');
    const [rows] = await reader.query(`SELECT id, ${select} FROM ${db}.${table.name} ORDER BY id`);
    const result: Snapshot = new Map();
    for (const row of rows as Record<string, unknown>[]) {
      const values: Record<string, string | null> = {};
      for (const column of table.columns) {
        const value = row[column.name];
        if (value !== null && typeof value !== 'string') throw new Error(`${table.name}.${column.name}: ${target.label} gave ${typeof value}, not text; fix its expression`);
        values[column.name] = value;
      }
      result.set(Number(row.id), values);
    }
    return result;
  }

  /** The UTC text sluice writes for a TIMESTAMP to UNIX_TIMESTAMP()'s text of the same instant. */
  function instantOf(utcText: string): string {
    const match = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(utcText);
    if (!match) return `(not a timestamp: ${utcText})`;
    const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
    const fraction = match[7] === undefined ? '' : `.${match[7]}`;
    // The zero timestamp is not an instant; UNIX_TIMESTAMP() gives 0 for it (no real TIMESTAMP is 0:
    // the range starts at 1970-01-01 00:00:01 UTC).
    if (year === 0 && month === 0 && day === 0) return `0${fraction}`;
    return `${Date.UTC(year, month - 1, day, hour, minute, second) / 1000}${fraction}`;
  }

  /** Empty when the value sluice query printed is MariaDB's, else why not. */
  function mismatch(form: Form, got: string | null, want: string | null): string | undefined {
    if (want === null || got === null) return want === got ? undefined : `expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`;
    switch (form) {
      case 'text':
        return got === want ? undefined : `expected ${JSON.stringify(want.slice(0, 120))}, got ${JSON.stringify(got.slice(0, 120))}`;
      case 'hex':
        return got === `0x${want.toLowerCase()}` ? undefined : `expected 0x${want.toLowerCase().slice(0, 120)}, got ${got.slice(0, 120)}`;
      case 'instant': {
        const instant = instantOf(got);
        return instant === want ? undefined : `expected the instant ${want} (UNIX_TIMESTAMP), got ${JSON.stringify(got)} = ${instant}`;
      }
      case 'float': {
        // MariaDB prints FLOAT with 6 digits; CAST(... AS DOUBLE) is the stored float exactly. The text
        // must be that float, in the shortest decimal that reads back as it.
        const float = Math.fround(Number(want));
        return Math.fround(Number(got)) === float && got === shortestFloat32(float) ? undefined : `expected the float ${shortestFloat32(float)} (${want}), got ${got}`;
      }
      case 'double':
        return Object.is(Number(got), Number(want)) ? undefined : `expected the double ${want}, got ${got}`;
    }
  }


  describe(`every type, end to end: ${target.label} -> binlog -> daemon -> Hive table -> sluice query`, { timeout: 120_000 }, () => {
    before(async () => {
      server = await target.server();
      root = await server.rootConnection();
      // Zero dates, out-of-range and non-member values are stored as MySQL stores them outside strict mode.
      await root.query("SET SESSION sql_mode = '', SESSION time_zone = '+08:00'");
      await root.query(`CREATE DATABASE ${db}`);
      for (const table of target.tables) {
        await root.query(`CREATE TABLE ${db}.${table.name} (id int PRIMARY KEY, ${table.columns.map((column) => `\`${column.name}\` ${column.ddl}`).join(', ')}) DEFAULT CHARSET utf8mb4`);
        const [rows] = await root.query('SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [db, table.name]);
        informationSchemaTypes.set(table.name, new Map((rows as { name: string; type: string }[]).map((row) => [row.name, row.type])));
      }
      const start = await target.head(server);

      const reader = await server.rootConnection();
      await reader.query("SET SESSION time_zone = '-03:30'");
      try {
        for (const table of target.tables) {
          const changes: Change[] = [];
          const written = new Map<number, string[]>();
          // Inserts, one transaction; then updates in another session time zone; then deletes.
          await root.query('BEGIN');
          for (let row = 0; row < rowCount(table); row++) {
            written.set(row, literalsOf(table, row));
            await root.query(`INSERT INTO ${db}.${table.name} VALUES (${row}, ${written.get(row)!.join(', ')})`);
          }
          await root.query('COMMIT');
          const inserted = await snapshot(reader, table);
          for (let row = 0; row < rowCount(table); row++) changes.push({ op: 'insert', id: row, expected: inserted.get(row)!, literals: written.get(row)! });

          await root.query("SET SESSION time_zone = '-05:00'");
          await root.query('BEGIN');
          for (const { id, from } of updatesOf(table)) {
            const literals = literalsOf(table, from);
            written.set(id, literals);
            const set = table.columns.map((column, index) => `\`${column.name}\` = ${literals[index]}`).join(', ');
            await root.query(`UPDATE ${db}.${table.name} SET ${set} WHERE id = ${id}`);
          }
          await root.query('COMMIT');
          await root.query("SET SESSION time_zone = '+08:00'");
          const updated = await snapshot(reader, table);
          for (const { id } of updatesOf(table)) changes.push({ op: 'update', id, expected: updated.get(id)!, literals: written.get(id)! });

          await root.query(`DELETE FROM ${db}.${table.name} WHERE id IN (${deletesOf().join(', ')})`);
          for (const id of deletesOf()) changes.push({ op: 'delete', id, expected: updated.get(id)!, literals: written.get(id)! });
          expectedChanges.set(table.name, changes);
        }
      } finally {
        await reader.end();
      }
      const end = await target.head(server);

      // Four daemons at once, each into its own warehouse from the same start: text and Parquet, each
      // under a process time zone 8 hours from UTC and under UTC.
      const configs = (['text', 'parquet'] as const).flatMap((format) => ['Asia/Shanghai', 'UTC'].map((timeZone) => ({ format, timeZone })));
      const outcomes = await Promise.allSettled(
        configs.map(async ({ format, timeZone }) => {
          const workspace = makeWorkspace(server, {
            start: `{ gtid: '${start}' }`,
            routing: `  include: ['${db}.*']`,
            intervalSeconds: 0.3,
            sinkExtra: `  format: ${format}`,
          });
          const daemon = startDaemon(workspace, server, [], { TZ: timeZone });
          try {
            await target.waitForCheckpoint(server, workspace, end, daemon);
          } finally {
            daemon.child.kill('SIGTERM');
            await daemon.exited;
          }
          const rows = new Map<string, QueryRow[]>();
          for (const table of target.tables) {
            rows.set(table.name, await runQueryCli(workspace, server, `SELECT * FROM ${db}.${table.name} ORDER BY _seq`, { TZ: timeZone }));
          }
          runs.push({ format, timeZone, workspace, rows });
        }),
      );
      // Every daemon has stopped by now; the first failure is the hook's.
      for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
    });

    after(async () => {
      await root?.query(`DROP DATABASE IF EXISTS ${db}`);
      await root?.end();
    });

    for (const format of ['text', 'parquet'] as const) {
      for (const timeZone of ['Asia/Shanghai', 'UTC']) {
        it(`gives back every value of every change as ${target.label} shows it (${format}, TZ=${timeZone})`, () => {
          const run = runs.find((candidate) => candidate.format === format && candidate.timeZone === timeZone);
          assert.ok(run, 'the daemon run did not complete');
          const failures: string[] = [];
          for (const table of target.tables) {
            const got = run.rows.get(table.name)!;
            const want = expectedChanges.get(table.name)!;
            // Changes of one row keep their order (_seq); each row's changes are compared in turn.
            const byId = new Map<number, QueryRow[]>();
            for (const row of got) byId.set(Number(row.id), [...(byId.get(Number(row.id)) ?? []), row]);
            const seen = new Map<number, number>();
            for (const change of want) {
              const index = seen.get(change.id) ?? 0;
              seen.set(change.id, index + 1);
              const row = byId.get(change.id)?.[index];
              const where = `${table.name} id ${change.id} ${change.op}`;
              if (!row) {
                failures.push(`${where}: missing from the Hive table`);
                continue;
              }
              if (row._op !== change.op) failures.push(`${where}: _op is ${row._op}`);
              if (row._source !== `${db}.${table.name}`) failures.push(`${where}: _source is ${row._source}`);
              table.columns.forEach((column, index) => {
                const why = mismatch(column.form, row[column.name] ?? null, change.expected[column.name] ?? null);
                const literal = change.literals[index]!;
                if (why) failures.push(`${column.ddl} column ${table.name}.${column.name}, id ${change.id} ${change.op} (written as ${literal.length > 60 ? literal.slice(0, 60) + '...' : literal}): ${why}`);
              });
            }
            if (got.length !== want.length) failures.push(`${table.name}: ${got.length} rows in the Hive table, ${want.length} changes in ${target.label}`);
          }
          assert.deepEqual(failures, []);
        });
      }
    }

    it('gives the same rows under TZ=Asia/Shanghai and TZ=UTC, in text and in Parquet', () => {
      assert.equal(runs.length, 4);
      const [first, ...rest] = runs;
      for (const run of rest) {
        for (const table of target.tables) {
          assert.deepEqual(run.rows.get(table.name), first!.rows.get(table.name), `${table.name}: ${run.format} TZ=${run.timeZone} differs from ${first!.format} TZ=${first!.timeZone}`);
        }
      }
    });

    it('creates each column with the Hive type the docs/type-mapping.md table gives', async () => {
      const differences: string[] = [];
      for (const run of runs) {
        const catalog = new LocalCatalog(run.workspace.catalogDir);
        for (const table of target.tables) {
          const definition = await catalog.getTable(db, table.name);
          assert.ok(definition, `${db}.${table.name} is not in the catalog`);
          for (const column of table.columns) {
            const mysqlType = informationSchemaTypes.get(table.name)!.get(column.name)!;
            const expected = column.hive ?? hiveTypeFor(mysqlType);
            const actual = definition.columns.find((candidate) => candidate.name === column.name)?.type;
            if (actual !== expected) differences.push(`${run.format} TZ=${run.timeZone} ${table.name}.${column.name} (${mysqlType}): Hive ${actual}, type table ${expected}`);
          }
        }
      }
      assert.deepEqual(differences, []);
    });
  });
}
