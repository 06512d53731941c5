// parquetFormat: every Hive type sluice produces, with its edge values, written through the format
// and read back value by value: by DuckDB (what `sluice query` uses), and by a real HiveServer2 4.1
// (as a user reads the table), both through Hive's row-mode reader (a fetch task) and its vectorized
// reader (a MapReduce job). Then memory: a million rows in bounded memory, row group by row group.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, it } from 'node:test';
import { DuckDBBlobValue, DuckDBDecimalValue, DuckDBInstance, DuckDBTimestampValue, type DuckDBConnection } from '@duckdb/node-api';
import { pino } from 'pino';
import type { HiveColumn } from '../src/catalog/catalog.ts';
import { HiveConnection } from '../src/catalog/hive-connection.ts';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { executeCommits } from '../src/sinks/hive-commits.ts';
import { queryWarehouse } from '../src/cli/query.ts';
import type { CellValue, ChangeEvent, SourceColumn } from '../src/core/change-event.ts';
import { isSluiceError } from '../src/core/errors.ts';
import type { FileSystem, FileWriter } from '../src/filesystem/filesystem.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { WebHdfsFileSystem } from '../src/filesystem/webhdfs-filesystem.ts';
import { HiveChangelogSink } from '../src/sinks/hive-changelog-sink.ts';
import { createParquetFormat, parquetFormat } from '../src/sinks/parquet-format.ts';
import { mergeParquetFiles, ParquetMergeRefused } from '../src/sinks/parquet-merge.ts';
import type { RowFileFormat } from '../src/sinks/row-file-format.ts';
import { shortestFloat32 } from '../src/sources/binlog/decode/cell-decoder.ts';
import { testHdfs, testHiveServer2 } from './helpers/servers.ts';
import { WIDE, wideRows } from './helpers/wide-rows.ts';
import { writeWideRowsInChild } from './helpers/write-wide-rows.ts';

// ---- the rows: each column's values, row by row (row 8 is all NULL) -------------------------------

const ROWS = 9;
const SAMPLES: { column: HiveColumn; values: CellValue[] }[] = [
  { column: { name: 'c_tinyint', type: 'tinyint' }, values: ['127', '-128', '0', '1', '-1', '100', '-100', '42'] },
  { column: { name: 'c_smallint', type: 'smallint' }, values: ['32767', '-32768', '0', '255', '-1', '1000', '-1000', '7'] },
  { column: { name: 'c_int', type: 'int' }, values: ['2147483647', '-2147483648', '0', '65535', '-1', '16777216', '4294967', '9'] },
  {
    column: { name: 'c_bigint', type: 'bigint' },
    values: ['9223372036854775807', '-9223372036854775808', '0', '9007199254740993', '-9007199254740993', '4294967295', '1', '-1'],
  },
  {
    column: { name: 'c_dec38', type: 'decimal(38,10)' },
    values: [
      '9999999999999999999999999999.9999999999',
      '-9999999999999999999999999999.9999999999',
      '0.0000000001',
      '-0.0000000001',
      '0',
      '12345678901234567890.1234567890',
      '-1',
      '0.5',
    ],
  },
  {
    column: { name: 'c_dec20', type: 'decimal(20,0)' },
    values: ['18446744073709551615', '0', '9223372036854775808', '1', '99999999999999999999', '4294967295', '18446744073709551614', '10'],
  },
  { column: { name: 'c_dec10_2', type: 'decimal(10,2)' }, values: ['99999999.99', '-99999999.99', '0.01', '-0.01', '0', '10.5', '-0.5', '12345.67'] },
  { column: { name: 'c_dec1', type: 'decimal(1,0)' }, values: ['9', '-9', '0', '1', '-1', '5', '-5', '3'] },
  {
    column: { name: 'c_float', type: 'float' },
    values: ['3.4028235e+38', '-3.4028235e+38', '1e-45', '-0', '0.1', '16777216', '1.1754944e-38', '123.456'],
  },
  {
    column: { name: 'c_double', type: 'double' },
    values: ['1.7976931348623157e+308', '-1.7976931348623157e+308', '5e-324', '-0', '0.1', '9007199254740992', '2.2250738585072014e-308', '123456789.123'],
  },
  {
    column: { name: 'c_string', type: 'string' },
    values: ['', 'emoji 🦆 and 中文', 'ctrl \x01\x02 tab\t', 'line\nbreak\r\nand cr\r', '\\N', 'back\\slash \'quote\' "dq"', 'NULL', 'x'.repeat(5000)],
  },
  {
    column: { name: 'c_binary', type: 'binary' },
    values: [
      Buffer.from([0x00, 0xff, 0x01, 0x0a, 0x0d, 0x5c]),
      Buffer.alloc(0),
      Buffer.from([0xff, 0xfe, 0xfd]),
      Buffer.from([0x00]),
      Buffer.from('text as bytes ✓', 'utf8'),
      Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      Buffer.from([0x80]),
      Buffer.from([0x7f, 0x00, 0x00]),
    ],
  },
  {
    column: { name: 'c_ts', type: 'timestamp' },
    values: [
      '1970-01-01 00:00:00',
      '2026-11-25 09:01:00.123456',
      '1969-12-31 23:59:59.999999',
      '9999-12-31 23:59:59.999999',
      '2026-03-08 02:30:00.25',
      '2024-02-29 12:00:00.000001',
      '2026-03-29 02:30:00.5',
      '2000-01-01 00:00:00.100000',
    ],
  },
];
const COLUMNS: HiveColumn[] = [{ name: 'id', type: 'int' }, ...SAMPLES.map((sample) => sample.column)];
const VALUES: CellValue[][] = Array.from({ length: ROWS }, (_, row) => [String(row), ...SAMPLES.map((sample) => sample.values[row] ?? null)]);

// ---- what each value must read back as, independent of the writer --------------------------------

function decimalText(text: string, scale: number): string {
  const negative = text.startsWith('-');
  const [whole = '0', fraction = ''] = text.replace(/^[-+]/, '').split('.');
  const digits = scale === 0 ? whole : `${whole}.${fraction.padEnd(scale, '0')}`;
  return negative && /[1-9]/.test(digits) ? `-${digits}` : digits;
}

/** 'YYYY-MM-DD hh:mm:ss.ffffff' with all six digits. */
function timestampText(text: string): string {
  const [seconds, fraction = ''] = text.split('.');
  return `${seconds}.${fraction.padEnd(6, '0')}`;
}

/** The value each column must hold, as comparable text. */
function expected(column: HiveColumn, value: CellValue): string | null {
  if (value === null) return null;
  if (Buffer.isBuffer(value)) return value.toString('hex');
  const decimal = /^decimal\((\d+),(\d+)\)$/.exec(column.type);
  if (decimal) return decimalText(value, Number(decimal[2]));
  if (column.type === 'timestamp') return timestampText(value);
  return value;
}

// ---- DuckDB -----------------------------------------------------------------------------------------

function microsText(micros: bigint): string {
  const millis = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const rest = micros - millis * 1000n;
  const iso = new Date(Number(millis)).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}${rest.toString().padStart(3, '0')}`;
}

function duckText(column: HiveColumn, value: unknown): string | null {
  if (value === null) return null;
  if (value instanceof DuckDBDecimalValue) return value.toString();
  if (value instanceof DuckDBTimestampValue) return microsText(value.micros);
  if (value instanceof DuckDBBlobValue) return Buffer.from(value.bytes).toString('hex');
  if (typeof value === 'number') {
    if (Object.is(value, -0)) return '-0';
    return column.type === 'float' ? shortestFloat32(value) : String(value);
  }
  return String(value);
}

async function readWithDuckDb(connection: DuckDBConnection, file: string): Promise<Record<string, unknown>[]> {
  const reader = await connection.runAndReadAll(`SELECT * FROM read_parquet('${file.replace(/'/g, "''")}') ORDER BY id`);
  return reader.getRowObjects();
}

let dir: string;
let local: FileSystem;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-parquet-test-'));
  local = new LocalFileSystem(dir);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeRows(fs: FileSystem, path: string, columns: readonly HiveColumn[], rows: Iterable<readonly CellValue[]>, format: RowFileFormat = parquetFormat): Promise<number> {
  const file: FileWriter = await fs.create(path);
  const writer = format.open(file, columns);
  let count = 0;
  for (const row of rows) {
    await writer.write(row);
    count++;
  }
  await writer.close();
  return count;
}

describe('parquetFormat, read back by DuckDB', () => {
  let instance: DuckDBInstance;
  let duck: DuckDBConnection;
  before(async () => {
    instance = await DuckDBInstance.create(':memory:');
    duck = await instance.connect();
  });
  after(() => {
    duck?.closeSync();
    instance?.closeSync();
  });

  it('round-trips every Hive type sluice writes, value by value', async () => {
    await writeRows(local, '/all-types.parquet', COLUMNS, VALUES);
    const rows = await readWithDuckDb(duck, join(dir, 'all-types.parquet'));
    assert.equal(rows.length, ROWS);
    for (let row = 0; row < ROWS; row++) {
      for (let index = 0; index < COLUMNS.length; index++) {
        const column = COLUMNS[index]!;
        assert.deepEqual(
          duckText(column, rows[row]![column.name]),
          expected(column, VALUES[row]![index]!),
          `row ${row}, column ${column.name} (${column.type}), written ${JSON.stringify(VALUES[row]![index])}`,
        );
      }
    }
  });

  it('gives every row group its own values and statistics, though the next group reuses the column buffers', async () => {
    // Groups of 3: the last one mixes NULLs with values. Each group's statistics must be those of
    // the same rows written as a file of their own (a byte-array minimum is a view into a buffer
    // the next group overwrites unless the writer copies it).
    await writeRows(local, '/groups-of-3.parquet', COLUMNS, VALUES, createParquetFormat({ rowGroupRows: 3 }));
    const rows = await readWithDuckDb(duck, join(dir, 'groups-of-3.parquet'));
    assert.equal(rows.length, ROWS);
    for (let row = 0; row < ROWS; row++) {
      for (const [index, column] of COLUMNS.entries()) {
        assert.deepEqual(duckText(column, rows[row]![column.name]), expected(column, VALUES[row]![index]!), `row ${row}, column ${column.name}`);
      }
    }
    const statistics = async (file: string, group: number): Promise<string[]> =>
      (
        await duck.runAndReadAll(
          `SELECT path_in_schema, stats_min_value, stats_max_value, stats_null_count FROM parquet_metadata('${join(dir, file)}') WHERE row_group_id = ${group} ORDER BY column_id`,
        )
      )
        .getRowObjects()
        .map((row) => JSON.stringify(row, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value)));
    for (let group = 0; group < 3; group++) {
      await writeRows(local, `/group-${group}-alone.parquet`, COLUMNS, VALUES.slice(group * 3, group * 3 + 3));
      assert.deepEqual(await statistics('groups-of-3.parquet', group), await statistics(`group-${group}-alone.parquet`, 0), `row group ${group}`);
    }

    // DECIMAL bytes are made by the writer and encoded unannotated: the statistics must still be the
    // signed values (two's complement bytes compared unsigned would put -3.50 above 2.25).
    const decimals: HiveColumn[] = [{ name: 'd', type: 'decimal(12,2)' }, { name: 'e', type: 'decimal(38,10)' }];
    const decimalRows: CellValue[][] = [
      ['1.00', '-5'],
      ['-3.50', '12345678901234567890.5'],
      ['2.25', null],
      ['-0.01', '-9999999999999999999999999999.9999999999'],
      [null, '0.0000000001'],
      ['9999999999.99', '-1'],
    ];
    await writeRows(local, '/decimal-groups.parquet', decimals, decimalRows, createParquetFormat({ rowGroupRows: 3 }));
    const decimalStatistics = (
      await duck.runAndReadAll(
        `SELECT path_in_schema, stats_min_value, stats_max_value FROM parquet_metadata('${join(dir, 'decimal-groups.parquet')}') ORDER BY row_group_id, column_id`,
      )
    )
      .getRowObjects()
      .map((row) => `${String(row.path_in_schema)} ${String(row.stats_min_value)}..${String(row.stats_max_value)}`);
    assert.deepEqual(decimalStatistics, [
      'd -3.50..2.25',
      'e -5.0000000000..12345678901234567890.5000000000',
      'd -0.01..9999999999.99',
      'e -9999999999999999999999999999.9999999999..0.0000000001',
    ]);
    const schema = (await duck.runAndReadAll(`SELECT name, converted_type FROM parquet_schema('${join(dir, 'decimal-groups.parquet')}') WHERE name <> 'hive_schema'`)).getRowObjects();
    assert.deepEqual(
      schema.map((row) => `${String(row.name)} ${String(row.converted_type)}`),
      ['d DECIMAL', 'e DECIMAL'],
    );

    // Runs of the same text share their bytes in the buffer, across a NULL and a group boundary too.
    const text: HiveColumn[] = [{ name: 'id', type: 'int' }, { name: 's', type: 'string' }];
    const same = 'the same text';
    const runs: CellValue[][] = [same, same, 'other', null, 'other', 'other', same, same].map((value, id) => [String(id), value]);
    await writeRows(local, '/runs.parquet', text, runs, createParquetFormat({ rowGroupRows: 3 }));
    const read = await readWithDuckDb(duck, join(dir, 'runs.parquet'));
    assert.deepEqual(
      read.map((row) => row.s),
      runs.map((row) => row[1]),
    );
  });

  it('merges files by row group: every value of every input, the statistics as written, one output per layout', async () => {
    const small = createParquetFormat({ rowGroupRows: 2 });
    const inputs = [[0, 3], [3, 6], [6, 9]].map(([from, to], index) => ({ path: `/merge/in-${index}.parquet`, rows: VALUES.slice(from, to) }));
    for (const input of inputs) await writeRows(local, input.path, COLUMNS, input.rows, small);
    // A file written after a column was added: a layout of its own, so an output of its own.
    const widened = [...COLUMNS, { name: 'c_added', type: 'string' }];
    await writeRows(local, '/merge/in-3.parquet', widened, [['100', ...VALUES[0]!.slice(1), 'late']], small);
    const statuses = await Promise.all([...inputs.map((input) => input.path), '/merge/in-3.parquet'].map(async (path) => (await local.status(path))!));
    let next = 0;
    const merged = await mergeParquetFiles(local, statuses, () => `/merge/out-${next++}.parquet`);
    assert.deepEqual(merged.targets, ['/merge/out-0.parquet', '/merge/out-1.parquet']);

    const rows = await readWithDuckDb(duck, join(dir, 'merge/out-0.parquet'));
    assert.equal(rows.length, ROWS);
    for (let row = 0; row < ROWS; row++) {
      for (const [index, column] of COLUMNS.entries()) {
        assert.deepEqual(duckText(column, rows[row]![column.name]), expected(column, VALUES[row]![index]!), `merged row ${row}, column ${column.name}`);
      }
    }
    const late = await readWithDuckDb(duck, join(dir, 'merge/out-1.parquet'));
    assert.deepEqual(late.map((row) => [String(row.id), row.c_added]), [['100', 'late']]);

    // Row groups and their min/max statistics are the inputs', in input order.
    const statistics = async (files: string[]): Promise<string[]> =>
      (
        await duck.runAndReadAll(
          `SELECT row_group_num_rows, path_in_schema, stats_min_value, stats_max_value, stats_null_count FROM parquet_metadata([${files.map((file) => `'${join(dir, file)}'`).join(', ')}]) ORDER BY file_name, row_group_id, column_id`,
        )
      )
        .getRowObjects()
        .map((row) => JSON.stringify(row, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value)));
    assert.deepEqual(await statistics(['merge/out-0.parquet']), await statistics(inputs.map((input) => input.path.slice(1))));
  });

  it('refuses a file it cannot merge exactly, naming it', async () => {
    await writeRows(local, '/merge-bad/a.parquet', COLUMNS, VALUES.slice(0, 2));
    const bad = await local.create('/merge-bad/b.parquet');
    await bad.write('PAR1 not really');
    await bad.close();
    const statuses = await Promise.all(['/merge-bad/a.parquet', '/merge-bad/b.parquet'].map(async (path) => (await local.status(path))!));
    await assert.rejects(
      mergeParquetFiles(local, statuses, () => '/merge-bad/out.parquet'),
      (error: unknown) => error instanceof ParquetMergeRefused && /cannot merge Parquet file \/merge-bad\/b\.parquet: it does not begin and end with PAR1/.test((error as Error).message),
    );
  });

  it('stores each type as Hive does: FLBA decimals, INT_8/INT_16, INT64 micros timestamps not adjusted to UTC', async () => {
    const reader = await duck.runAndReadAll(
      `SELECT name, type, type_length, converted_type, scale, precision, logical_type FROM parquet_schema('${join(dir, 'all-types.parquet')}') WHERE type IS NOT NULL`,
    );
    const schema = new Map(reader.getRowObjects().map((row) => [String(row.name), row]));
    const describe = (name: string): string => {
      const row = schema.get(name)!;
      return [row.type, row.type_length, row.converted_type, row.precision, row.scale].map((part) => (part === null ? '' : String(part))).join('/');
    };
    assert.equal(describe('c_tinyint'), 'INT32//INT_8//');
    assert.equal(describe('c_smallint'), 'INT32//INT_16//');
    assert.equal(describe('c_int'), 'INT32////');
    assert.equal(describe('c_bigint'), 'INT64////');
    assert.equal(describe('c_dec38'), 'FIXED_LEN_BYTE_ARRAY/16/DECIMAL/38/10');
    assert.equal(describe('c_dec20'), 'FIXED_LEN_BYTE_ARRAY/9/DECIMAL/20/0');
    assert.equal(describe('c_dec10_2'), 'FIXED_LEN_BYTE_ARRAY/5/DECIMAL/10/2');
    assert.equal(describe('c_dec1'), 'FIXED_LEN_BYTE_ARRAY/1/DECIMAL/1/0');
    assert.equal(describe('c_float'), 'FLOAT////');
    assert.equal(describe('c_double'), 'DOUBLE////');
    assert.equal(describe('c_string'), 'BYTE_ARRAY//UTF8//');
    assert.equal(describe('c_binary'), 'BYTE_ARRAY////');
    assert.equal(describe('c_ts'), 'INT64////');
    assert.match(String(schema.get('c_ts')!.logical_type), /TimestampType\(isAdjustedToUTC=0, unit=TimeUnit\(MILLIS=<null>, MICROS=MicroSeconds\(\), NANOS=<null>\)\)/);
  });

  it('refuses a value the column cannot hold exactly, naming the column and the value, and never rounds', async () => {
    const cases: [HiveColumn, string][] = [
      [{ name: 'amount', type: 'decimal(10,2)' }, '1.005'],
      [{ name: 'amount', type: 'decimal(10,2)' }, '123456789.00'],
      [{ name: 'big', type: 'decimal(38,10)' }, '10000000000000000000000000000'],
      [{ name: 'small', type: 'tinyint' }, '128'],
      [{ name: 'n', type: 'int' }, '2147483648'],
      [{ name: 'n', type: 'int' }, '1.0'],
      [{ name: 'n', type: 'bigint' }, '9223372036854775808'],
      [{ name: 'n', type: 'bigint' }, ''],
      [{ name: 'f', type: 'float' }, '1e39'],
      [{ name: 'f', type: 'double' }, '0x10'],
      [{ name: 't', type: 'timestamp' }, '2026-02-30 00:00:00'],
      [{ name: 't', type: 'timestamp' }, '0000-00-00 00:00:00'],
      [{ name: 't', type: 'timestamp' }, '2026-01-01 00:00:00.1234567'],
    ];
    for (const [column, value] of cases) {
      const file = await local.create(`/refused-${Math.random().toString(36).slice(2)}.parquet`);
      const writer = parquetFormat.open(file, [column]);
      await assert.rejects(
        writer.write([value]),
        (error: unknown) => {
          assert.ok(isSluiceError(error, 'SLUICE_SCHEMA_UNSUPPORTED'), `${column.type} ${value}: ${String(error)}`);
          assert.ok(error.message.includes(column.name) && error.message.includes(JSON.stringify(value)), error.message);
          return true;
        },
        `${column.type} must refuse ${JSON.stringify(value)}`,
      );
      await writer.abort();
    }
    // Zeros past the scale change nothing, so they are not refused.
    await writeRows(local, '/trailing-zeros.parquet', [{ name: 'amount', type: 'decimal(10,2)' }], [['1.500'], ['-0.000']]);
    const rows = (await duck.runAndReadAll(`SELECT amount FROM read_parquet('${join(dir, 'trailing-zeros.parquet')}')`)).getRowObjects();
    assert.deepEqual(
      rows.map((row) => String(row.amount)),
      ['1.50', '0.00'],
    );
  });

  it('keeps raw bytes in a string column byte for byte, and takes text in a binary column as UTF-8', async () => {
    const columns: HiveColumn[] = [
      { name: 's', type: 'string' },
      { name: 'b', type: 'binary' },
    ];
    await writeRows(local, '/mixed.parquet', columns, [
      [Buffer.from('bytes ✓', 'utf8'), 'text ✓'],
      ['text', Buffer.from([1, 2])],
    ]);
    const rows = (await duck.runAndReadAll(`SELECT s, b FROM read_parquet('${join(dir, 'mixed.parquet')}')`)).getRowObjects();
    assert.deepEqual(
      rows.map((row) => [row.s, duckText(columns[1]!, row.b)]),
      [
        ['bytes ✓', Buffer.from('text ✓', 'utf8').toString('hex')],
        ['text', '0102'],
      ],
    );
  });

  it('refuses a column type it cannot write, and drops the file it was given', async () => {
    const file = await local.create('/unsupported.parquet');
    assert.throws(() => parquetFormat.open(file, [{ name: 'm', type: 'map<string,string>' }]), (error: unknown) => isSluiceError(error, 'SLUICE_SCHEMA_UNSUPPORTED'));
  });

  it('writes row groups as it goes and reports a growing size for rolling', async (t) => {
    const format = createParquetFormat({ rowGroupRows: 1000 });
    const file = await local.create('/groups.parquet');
    const writer = format.open(file, WIDE);
    let last = writer.bytesWritten;
    let grew = 0;
    for (const values of wideRows(10_500)) {
      await writer.write(values);
      assert.ok(writer.bytesWritten >= last, 'bytesWritten never shrinks (the sink counts its differences)');
      if (writer.bytesWritten > last) grew++;
      last = writer.bytesWritten;
    }
    assert.ok(file.bytesWritten > 0, 'row groups reached the FileWriter before close');
    // Level for a while after a row group that compressed better than estimated, growing otherwise.
    assert.ok(grew > 5_000, `bytesWritten grows with the buffered rows (${grew} of 10500 rows)`);
    await writer.close();
    const reader = await duck.runAndReadAll(
      `SELECT count(DISTINCT row_group_id) AS groups, max(row_group_num_rows) AS largest FROM parquet_metadata('${join(dir, 'groups.parquet')}')`,
    );
    const [stats] = reader.getRowObjects();
    assert.equal(Number(stats!.groups), 11);
    assert.equal(Number(stats!.largest), 1000);
    const actual = (await local.status('/groups.parquet'))!.length;
    t.diagnostic(`size estimate ${last} bytes before close, file ${actual} bytes`);
    assert.ok(Math.abs(last - actual) / actual < 0.25, `estimate ${last} within 25% of ${actual}`);
    const count = await duck.runAndReadAll(`SELECT count(*) AS n, sum(id) AS s FROM read_parquet('${join(dir, 'groups.parquet')}')`);
    assert.deepEqual(count.getRowObjects()[0], { n: 10_500n, s: 55_119_750n });
  });

  it('writes an empty file that readers accept', async () => {
    await writeRows(local, '/empty.parquet', COLUMNS, []);
    const reader = await duck.runAndReadAll(`SELECT count(*) AS n FROM read_parquet('${join(dir, 'empty.parquet')}')`);
    assert.equal(reader.getRowObjects()[0]!.n, 0n);
  });
});

describe('parquetFormat in the changelog sink, read by `sluice query`', () => {
  it('stages, rolls by size, commits and reads back every row', async () => {
    const root = join(dir, 'sink');
    const fs = new LocalFileSystem(join(root, 'fs'));
    const catalog = new LocalCatalog(join(root, 'catalog'));
    const sink = new HiveChangelogSink({
      fs,
      catalog,
      warehouse: '/warehouse',
      format: 'parquet',
      formats: { parquet: parquetFormat },
      partition: { granularity: 'day', dayColumn: 'dt', hourColumn: 'hr' },
      rollBytes: 256 * 1024,
      rollSeconds: 0,
      channel: 0,
      jobId: 'parquettest',
      logger: pino({ level: 'silent' }),
    });
    const columns: SourceColumn[] = [
      { name: 'id', mysqlType: 'bigint unsigned', charset: null },
      { name: 'amount', mysqlType: 'decimal(10,2)', charset: null },
      { name: 'note', mysqlType: 'varchar(200)', charset: 'utf8mb4' },
      { name: 'payload', mysqlType: 'blob', charset: null },
      { name: 'ratio', mysqlType: 'float', charset: null },
      { name: 'tiny', mysqlType: 'tinyint', charset: null },
    ];
    const count = 20_000;
    const image = (i: number): CellValue[] => [
      (18446744073709551615n - BigInt(i)).toString(),
      i % 7 === 0 ? null : `${i}.${String(i % 100).padStart(2, '0')}`,
      `note ${i} ✓\n\x01`,
      Buffer.from([i & 0xff, 0x00, 0xff]),
      '0.1',
      String((i % 256) - 128),
    ];
    for (let i = 0; i < count; i++) {
      const event: ChangeEvent = {
        schema: 'shop',
        table: 'orders',
        op: 'insert',
        columns,
        before: null,
        after: image(i),
        // Two days, so two partitions.
        commitTs: 1_795_000_000 + i * 10,
        position: { file: 'mysql-bin.000001', offset: 4 + i, gtid: `0-1-${i + 1}` },
        sequence: BigInt(i + 1),
      };
      await sink.write({ database: 'ods', table: 'orders' }, event, 1);
    }
    const commits = await sink.preCommit();
    const renames = commits.filter((commit) => commit.kind === 'rename');
    assert.ok(renames.length > 2, `files rolled by size (${renames.length} files)`);
    assert.ok(renames.every((commit) => commit.kind === 'rename' && commit.to.endsWith('.parquet')));
    await executeCommits(commits, fs, catalog);
    const table = await catalog.getTable('ods', 'orders');
    assert.equal(table?.format, 'parquet');
    const result = await queryWarehouse({
      catalog,
      fs,
      sql: 'SELECT id, amount, note, payload, ratio, tiny, _op, _event_time, _seq, _source, dt FROM ods.orders ORDER BY _seq',
    });
    assert.equal(result.rows.length, count);
    for (let i = 0; i < count; i++) {
      const [id, amount, note, payload, ratio, tiny] = image(i);
      const eventTime = new Date((1_795_000_000 + i * 10) * 1000).toISOString();
      assert.deepEqual(
        result.rows[i],
        [
          id,
          amount,
          note,
          `0x${(payload as Buffer).toString('hex')}`,
          ratio,
          tiny,
          'insert',
          `${eventTime.slice(0, 10)} ${eventTime.slice(11, 19)}`,
          String(i + 1),
          'shop.orders',
          eventTime.slice(0, 10),
        ],
        `row ${i}`,
      );
    }
  });
});

// ---- bounded memory ----------------------------------------------------------------------------------

describe('parquetFormat, bounded memory', () => {
  it('writes 1M rows of 10 columns in a 64 MiB heap, row group by row group', async (t) => {
    // A child process with V8's old space capped at 64 MiB: the million rows as JavaScript values are
    // ~400 MiB and the file ~20 MiB, so a writer that kept either would die of heap exhaustion.
    // Its speed and peak RSS are figures of the machine: `npm run bench:parquet` prints them.
    const path = join(dir, 'million.parquet');
    const report = writeWideRowsInChild(path, 'parquet', 1_000_000, 64);
    t.diagnostic(`1M rows x 10 columns with --max-old-space-size=64: ${report.seconds.toFixed(1)} s, file ${(report.bytes / 1024 / 1024).toFixed(1)} MiB, peak RSS ${report.maxRssMiB} MiB`);
    const instance = await DuckDBInstance.create(':memory:');
    const duck = await instance.connect();
    try {
      const reader = await duck.runAndReadAll(
        `SELECT count(*) AS n, sum(id) AS ids, sum(amount) AS amounts, count(DISTINCT _event_time) AS seconds, max(_seq) AS last FROM read_parquet('${path}')`,
      );
      const [result] = reader.getRowObjects();
      assert.equal(result!.n, 1_000_000n);
      assert.equal(result!.ids, 499_999_500_000n);
      assert.equal(String(result!.amounts), '49999995000.00');
      assert.equal(result!.seconds, 2000n);
      assert.equal(result!.last, 1_000_000_999_999n);
      const groups = await duck.runAndReadAll(`SELECT count(DISTINCT row_group_id) AS g FROM parquet_metadata('${path}')`);
      const count = Number(groups.getRowObjects()[0]!.g);
      t.diagnostic(`${count} row groups`);
      assert.ok(count > 3, `several row groups (${count})`);
    } finally {
      duck.closeSync();
      instance.closeSync();
    }
  });

  it('holds a binary value, not the packet buffer it is a view into, while its row group fills', async () => {
    // A binlog value of a binary column is a view into the packet it came in. A row group buffers
    // tens of thousands of rows: holding the views held every packet they came from.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const columns: HiveColumn[] = [{ name: 'b', type: 'binary' }];
    const writer = parquetFormat.open(await local.create('/views.parquet'), columns);
    const packets: WeakRef<ArrayBufferLike>[] = [];
    // In a function of its own, so that no variable of this one holds the last packet.
    const fill = async (): Promise<void> => {
      for (let index = 0; index < 8; index++) {
        const packet = Buffer.alloc(1024 * 1024, index);
        packets.push(new WeakRef(packet.buffer));
        await writer.write([packet.subarray(100, 100 + index)]);
      }
    };
    await fill();
    // A WeakRef's target stays alive until the task that made it ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    assert.equal(packets.filter((packet) => packet.deref() !== undefined).length, 0, 'packets alive while their rows wait in the row group');
    await writer.close();
    const instance = await DuckDBInstance.create(':memory:');
    const duck = await instance.connect();
    try {
      const reader = await duck.runAndReadAll(`SELECT b FROM read_parquet('${join(dir, 'views.parquet')}')`);
      assert.deepEqual(
        reader.getRowObjects().map((row) => Buffer.from((row.b as DuckDBBlobValue).bytes).toString('hex')),
        packets.map((_, index) => Buffer.alloc(index, index).toString('hex')),
      );
    } finally {
      duck.closeSync();
      instance.closeSync();
    }
  });
});

// ---- a real HiveServer2 -------------------------------------------------------------------------------

/** Hive's CAST(x AS STRING) of each type, made comparable with expected(). */
function hiveText(column: HiveColumn, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const text = String(value);
  if (column.type === 'float' || column.type === 'double') {
    // Java's Float/Double.toString: '3.4028235E38', '-0.0', '1.4E-45'.
    const number = Number(text);
    return Object.is(number, -0) ? '-0' : column.type === 'float' ? shortestFloat32(Math.fround(number)) : String(number);
  }
  if (column.type === 'timestamp') return timestampText(text);
  if (column.type === 'binary') return text.toLowerCase();
  return text;
}

describe('parquetFormat, read by a real HiveServer2', () => {
  let hive: HiveConnection;
  let database: string;

  before(async () => {
    const server = await testHiveServer2();
    hive = new HiveConnection({ host: server.host, port: server.port, authentication: server.authentication, statementTimeoutMs: 240_000 });
    database = `sluice_parquet_${process.pid}_${Date.now().toString(36)}`;
  });

  after(async () => {
    await hive?.execute(`DROP DATABASE IF EXISTS ${database} CASCADE`).catch(() => undefined);
    await hive?.close();
  });

  it('reads the same values, in the row reader and the vectorized reader, with filters pushed down', async () => {
    await readsBackThroughHive('all_types', async (fs, partition) => {
      await writeRows(fs, `${partition}/0.job.1-0.parquet`, COLUMNS, VALUES);
    });
  });

  it('reads a file merged by compaction from three files the same way', async () => {
    await readsBackThroughHive('merged', async (fs, partition) => {
      const small = createParquetFormat({ rowGroupRows: 2 });
      const inputs: string[] = [];
      for (const [index, [from, to]] of [[0, 3], [3, 6], [6, 9]].entries()) {
        inputs.push(`${partition}/.in-${index}.parquet`);
        await writeRows(fs, inputs.at(-1)!, COLUMNS, VALUES.slice(from, to), small);
      }
      const statuses = await Promise.all(inputs.map(async (path) => (await fs.status(path))!));
      await mergeParquetFiles(fs, statuses, () => `${partition}/c.job.2-0.parquet`);
    });
  });

  /** Writes a partition with `write` on HDFS, makes a Hive table over it, and checks every read path. */
  async function readsBackThroughHive(table: string, write: (fs: FileSystem, partition: string) => Promise<void>): Promise<void> {
    const hdfs = await testHdfs();
    const fs = new WebHdfsFileSystem({ namenodes: [hdfs.webhdfsUrl.replace(/\/webhdfs\/v1$/, '')], logger: pino({ level: 'silent' }) });
    const location = `/tmp/${database}/${table}`;
    try {
      await fs.delete(location, true);
      await write(fs, `${location}/dt=2026-11-25`);
    } finally {
      fs.close();
    }
    const columnList = COLUMNS.map((column) => `\`${column.name}\` ${column.type}`).join(', ');
    await hive.execute(`CREATE DATABASE IF NOT EXISTS ${database}`);
    await hive.execute(
      `CREATE EXTERNAL TABLE ${database}.${table} (${columnList}) PARTITIONED BY (dt string) STORED AS PARQUET LOCATION '${hdfs.fsDefaultFS}${location}'`,
    );
    await hive.execute(`ALTER TABLE ${database}.${table} ADD PARTITION (dt='2026-11-25') LOCATION '${hdfs.fsDefaultFS}${location}/dt=2026-11-25'`);
    const select = COLUMNS.map((column) =>
      column.name === 'id' ? 'id' : column.type === 'binary' ? `hex(\`${column.name}\`) AS \`${column.name}\`` : `CAST(\`${column.name}\` AS STRING) AS \`${column.name}\``,
    ).join(', ');
    const query = `SELECT ${select} FROM ${database}.${table} WHERE dt = '2026-11-25'`;

    const compare = (rows: Record<string, unknown>[], reader: string): void => {
      assert.equal(rows.length, ROWS, reader);
      const byId = new Map(rows.map((row) => [Number(row.id), row]));
      for (let row = 0; row < ROWS; row++) {
        for (let index = 1; index < COLUMNS.length; index++) {
          const column = COLUMNS[index]!;
          assert.deepEqual(
            hiveText(column, byId.get(row)?.[column.name]),
            expected(column, VALUES[row]![index]!),
            `${reader}: row ${row}, column ${column.name} (${column.type}), written ${JSON.stringify(VALUES[row]![index])}`,
          );
        }
      }
    };
    // A plain SELECT runs as a fetch task: Hive's row-mode Parquet reader, in HiveServer2 itself.
    await hive.execute('SET hive.fetch.task.conversion=more');
    compare(await hive.query(query), 'fetch task (row reader)');
    // The same through a MapReduce job, whose map side uses the vectorized Parquet reader.
    await hive.execute('SET hive.fetch.task.conversion=none');
    await hive.execute('SET hive.vectorized.execution.enabled=true');
    const plan = (await hive.query(`EXPLAIN VECTORIZATION ONLY ${query}`)).map((row) => Object.values(row).join(' ')).join('\n');
    assert.match(plan, /Execution mode: vectorized/, plan);
    compare(await hive.query(query), 'MapReduce job (vectorized reader)');

    // Predicates pushed down to the row group statistics must not drop rows they match.
    await hive.execute('SET hive.fetch.task.conversion=more');
    await hive.execute('SET hive.optimize.index.filter=true');
    const ids = async (where: string): Promise<number[]> =>
      (await hive.query(`SELECT id FROM ${database}.${table} WHERE dt = '2026-11-25' AND ${where}`)).map((row) => Number(row.id)).sort((a, b) => a - b);
    assert.deepEqual(await ids('c_dec38 < 0'), [1, 3, 6]);
    assert.deepEqual(await ids('c_dec20 > 18446744073709551613'), [0, 4, 6]);
    assert.deepEqual(await ids('c_bigint = -9223372036854775808'), [1]);
    assert.deepEqual(await ids(`c_string = 'emoji 🦆 and 中文'`), [1]);
    assert.deepEqual(await ids(`c_ts >= '9999-12-31 23:59:59.999999'`), [3]);
    assert.deepEqual(await ids('c_tinyint = -128'), [1]);
    assert.deepEqual(await ids('c_string IS NULL'), [8]);
    assert.deepEqual(await ids(`c_string = ''`), [0]);
  }
});
