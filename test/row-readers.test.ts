// sluice's row readers (src/sources/binlog/decode/row-readers.ts) against zongji's own readMysqlValue:
// for every type they read, over edge values and random byte patterns, the same value (same type,
// same text, same number, same bytes), the same read position after it, and NULLs and absent
// columns as zongji's readRow gives them (by position: an image is an array in column order). The
// values through a real binlog are in cell-decoder.test.ts and types-end-to-end.test.ts. Readers that
// give the cells themselves (for the columns of the changes) against zongji's value through the
// column's decoder: the same cell or the same error.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SourceColumn } from '../src/core/change-event.ts';
import { cellDecoderFor } from '../src/sources/binlog/decode/cell-decoder.ts';
import { compileRowReader, UndecodableCell, type RowColumn, type RowColumnSchema, type RowParser, type RowTableMap } from '../src/sources/binlog/decode/row-readers.ts';

const zongjiUrl = import.meta.resolve('@vlasky/zongji');
const { readMysqlValue } = (await import(new URL('./lib/common.js', zongjiUrl).href)) as {
  readMysqlValue: (parser: RowParser, column: RowColumn, schema: RowColumnSchema, tableMap: RowTableMap, zongji: object) => unknown;
};
const { Parser } = (await import(new URL('./lib/reader.js', zongjiUrl).href)) as { Parser: new () => RowParser & { append(buffer: Buffer): void } };

const ZONGJI = { connection: { config: { dateStrings: true, timezone: 'Z' } }, emit: () => undefined };

interface Case {
  type: number;
  columnType: string;
  charset?: string | null;
  metadata?: Record<string, number>;
  unsigned?: boolean;
  /** Bytes of one value; random ones are made to this size (or by `random`). */
  size?: number;
  random?: (seed: () => number) => Buffer;
  /** Values a server writes (random bytes rarely are, for DECIMAL and the fractions), made to this. */
  valid?: (seed: () => number) => Buffer;
  values?: Buffer[];
}

function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 0x1_0000_0000;
  };
}

function randomBytes(next: () => number, size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let index = 0; index < size; index++) bytes[index] = Math.floor(next() * 256);
  return bytes;
}

const lengthPrefixed = (lengthSize: number) => (next: () => number) => {
  const text = randomBytes(next, Math.floor(next() * 40));
  // Half the time valid UTF-8 with multi-byte characters.
  const body = next() < 0.5 ? Buffer.from(`v${Math.floor(next() * 1e6)}é😀\x01\\`, 'utf8') : text;
  const head = Buffer.alloc(lengthSize);
  head.writeUIntLE(body.length, 0, lengthSize);
  return Buffer.concat([head, body]);
};

function decimalBytes(precision: number, scale: number): number {
  const bytes = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
  const integral = precision - scale;
  return Math.floor(integral / 9) * 4 + bytes[integral % 9]! + Math.floor(scale / 9) * 4 + bytes[scale % 9]!;
}

function randomDigits(next: () => number, count: number): string {
  // Runs of zeros and nines half the time: the edges of each group.
  const style = next();
  let digits = '';
  for (let index = 0; index < count; index++) digits += style < 0.2 ? '0' : style < 0.3 ? '9' : String(Math.floor(next() * 10));
  // Fewer digits than the column holds, often.
  const kept = Math.floor(next() * (count + 1));
  return next() < 0.5 ? '0'.repeat(count - kept) + digits.slice(count - kept) : digits;
}

/** A DECIMAL(precision, scale) as the server stores it (decimal2bin), from random digits. */
function validDecimal(precision: number, scale: number): (next: () => number) => Buffer {
  const bytesOf = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
  return (next) => {
    const integral = precision - scale;
    const whole = randomDigits(next, integral);
    const fraction = randomDigits(next, scale);
    const groups: [string, number][] = [];
    const lead = integral % 9;
    if (lead > 0) groups.push([whole.slice(0, lead), bytesOf[lead]!]);
    for (let at = lead; at < integral; at += 9) groups.push([whole.slice(at, at + 9), 4]);
    for (let at = 0; at + 9 <= scale; at += 9) groups.push([fraction.slice(at, at + 9), 4]);
    if (scale % 9 > 0) groups.push([fraction.slice(scale - (scale % 9)), bytesOf[scale % 9]!]);
    const bytes = Buffer.concat(
      groups.map(([digits, size]) => {
        const group = Buffer.alloc(size);
        group.writeUIntBE(Number(digits), 0, size);
        return group;
      }),
    );
    const negative = next() < 0.4;
    if (negative) for (let index = 0; index < bytes.length; index++) bytes[index] = bytes[index]! ^ 0xff;
    bytes[0] = bytes[0]! ^ 0x80;
    return bytes;
  };
}

/** A DATETIME2 of the given precision as the server stores it, from random fields. */
function validDatetime(decimals: number): (next: () => number) => Buffer {
  return (next) => {
    const pick = (limit: number): number => Math.floor(next() * limit);
    const yearMonth = pick(10000) * 13 + pick(13);
    const packed = (((yearMonth * 32 + pick(32)) * 32 + pick(24)) * 64 + pick(60)) * 64 + pick(60);
    const head = Buffer.alloc(5);
    head.writeUIntBE(packed + 0x80_0000_0000, 0, 5);
    const size = Math.ceil(decimals / 2);
    if (size === 0) return head;
    const fraction = Buffer.alloc(size);
    const limit = 10 ** decimals;
    const value = next() < 0.2 ? limit - 1 : next() < 0.2 ? 0 : pick(limit);
    fraction.writeUIntBE(decimals % 2 === 0 ? value : value * 10, 0, size);
    return Buffer.concat([head, fraction]);
  };
}

const CASES: Case[] = [
  { type: 1, columnType: 'tinyint(4)', size: 1 },
  { type: 1, columnType: 'tinyint(3) unsigned', size: 1 },
  { type: 2, columnType: 'smallint', size: 2, unsigned: false },
  { type: 2, columnType: 'smallint', size: 2, unsigned: true },
  { type: 9, columnType: 'mediumint', size: 3 },
  { type: 9, columnType: 'mediumint unsigned', size: 3 },
  { type: 3, columnType: 'int', size: 4 },
  { type: 3, columnType: 'int unsigned', size: 4 },
  {
    type: 8,
    columnType: 'bigint',
    size: 8,
    values: ['0000000000000000', 'ffffffffffffffff', '0000000000002000', 'ffffffffffffdfff', '010000000000e0ff', '000000000000e0ff', 'ffffffffffff1f00', '0000000000000080', 'ffffffffffffff7f'].map((hex) =>
      Buffer.from(hex, 'hex'),
    ),
  },
  { type: 8, columnType: 'bigint unsigned', size: 8, values: ['ffffffffffffffff', 'ffffffffffff1f00', '0000000000002000', '0000000000000080'].map((hex) => Buffer.from(hex, 'hex')) },
  { type: 4, columnType: 'float', size: 4, values: [Buffer.from('0000c07f', 'hex'), Buffer.from('00000080', 'hex'), Buffer.from('0000807f', 'hex')] },
  { type: 5, columnType: 'double', size: 8, values: [Buffer.from('000000000000f87f', 'hex'), Buffer.from('0000000000000080', 'hex'), Buffer.from('010000000000f07f', 'hex')] },
  ...[
    [12, 2],
    [10, 0],
    [65, 30],
    [65, 0],
    [30, 30],
    [1, 0],
    [1, 1],
    [18, 9],
    [19, 10],
    [9, 4],
    [20, 1],
    [15, 0],
    [16, 0],
    [24, 3],
    [40, 12],
    [11, 4],
    [13, 5],
  ].map(([precision, scale]) => ({
    type: 246,
    columnType: `decimal(${precision},${scale})`,
    metadata: { precision: precision!, decimals: scale! },
    size: decimalBytes(precision!, scale!),
    valid: validDecimal(precision!, scale!),
  })),
  ...[0, 1, 2, 3, 4, 5, 6].map((decimals) => ({ type: 18, columnType: `datetime(${decimals})`, metadata: { decimals }, size: 5 + Math.ceil(decimals / 2), valid: validDatetime(decimals) })),
  { type: 10, columnType: 'date', size: 3 },
  { type: 13, columnType: 'year', size: 1 },
  { type: 15, columnType: 'varchar(64)', charset: 'utf8mb4', metadata: { max_length: 256 }, random: lengthPrefixed(2) },
  { type: 15, columnType: 'varchar(20)', charset: 'utf8mb3', metadata: { max_length: 60 }, random: lengthPrefixed(1) },
  { type: 15, columnType: 'varbinary(32)', charset: null, metadata: { max_length: 32 }, random: lengthPrefixed(1) },
  { type: 15, columnType: 'varbinary(300)', charset: null, metadata: { max_length: 300 }, random: lengthPrefixed(2) },
  { type: 254, columnType: 'char(10)', charset: 'utf8mb4', metadata: { max_length: 40 }, random: lengthPrefixed(1) },
  { type: 254, columnType: 'binary(16)', charset: null, metadata: { max_length: 16 }, random: lengthPrefixed(1) },
  { type: 254, columnType: 'uuid', charset: null, metadata: { max_length: 16 }, random: (next) => Buffer.concat([Buffer.from([16]), randomBytes(next, 16)]) },
  { type: 15, columnType: 'varchar(10)', charset: 'gbk', metadata: { max_length: 20 }, random: lengthPrefixed(1) },
  ...[1, 2, 3, 4].map((lengthSize) => ({ type: 252, columnType: 'blob', charset: null, metadata: { length_size: lengthSize }, random: lengthPrefixed(lengthSize) })),
  { type: 252, columnType: 'text', charset: 'utf8mb4', metadata: { length_size: 2 }, random: lengthPrefixed(2) },
  { type: 252, columnType: 'longtext', charset: 'utf8mb4', metadata: { length_size: 4 }, random: lengthPrefixed(4) },
  { type: 252, columnType: 'text', charset: 'ucs2', metadata: { length_size: 2 }, random: (next) => (next() < 0.5 ? Buffer.from([2, 0, 0, 0x41]) : Buffer.from([4, 0, 0, 0x41, 0x26, 0x03])) },
  // Types the readers leave to zongji: the same path then.
  { type: 17, columnType: 'timestamp(3)', metadata: { decimals: 3 }, size: 6 },
  { type: 19, columnType: 'time(2)', metadata: { decimals: 2 }, size: 4 },
  { type: 16, columnType: 'bit(12)', metadata: { bits: 12 }, size: 2 },
];

function tableOf(cases: readonly Case[]): RowTableMap {
  return {
    tableName: 't',
    parentSchema: 'd',
    columns: cases.map((entry, index) => ({ name: `c${index}`, type: entry.type, charset: entry.charset ?? null, metadata: entry.metadata ?? {} })),
    columnSchemas: cases.map((entry) => ({ COLUMN_TYPE: entry.columnType, ...(entry.unsigned !== undefined ? { UNSIGNED: entry.unsigned } : {}) })),
  };
}

function valuesOf(entry: Case, seed: number): Buffer[] {
  const next = rng(seed);
  const values = [...(entry.values ?? [])];
  for (let index = 0; index < 400; index++) values.push(entry.random ? entry.random(next) : randomBytes(next, entry.size!));
  if (entry.valid) for (let index = 0; index < 2000; index++) values.push(entry.valid(next));
  return values;
}

function parserOver(bytes: Buffer): RowParser & { append(buffer: Buffer): void } {
  const parser = new Parser();
  parser.append(bytes);
  return parser;
}

describe('row readers', () => {
  it('read every value as zongji reads it, and stop where it stops', () => {
    CASES.forEach((entry, caseIndex) => {
      const table = tableOf([entry]);
      const reader = compileRowReader(table, Buffer.from([1]), ZONGJI, readMysqlValue);
      for (const value of valuesOf(entry, caseIndex + 1)) {
        // A row: the NULL bitmap byte (not NULL), the value, and a trailing byte that must not be read.
        const row = Buffer.concat([Buffer.from([0]), value, Buffer.from([0xee])]);
        const zongjiParser = parserOver(row);
        zongjiParser._offset = 1;
        let expected: unknown;
        let expectedError: unknown;
        try {
          expected = readMysqlValue(zongjiParser, table.columns[0]!, table.columnSchemas[0]!, table, ZONGJI);
        } catch (error) {
          expectedError = error;
        }
        const parser = parserOver(row);
        if (expectedError) {
          assert.throws(() => reader.read(parser), `${entry.columnType} ${value.toString('hex')}`);
          continue;
        }
        const got = reader.read(parser)[0];
        const what = `${entry.columnType} from ${value.toString('hex')}`;
        assert.equal(typeof got, typeof expected, what);
        if (Buffer.isBuffer(expected)) assert.ok(Buffer.isBuffer(got) && got.equals(expected), what);
        else assert.ok(Object.is(got, expected), `${what}: ${String(got)} instead of ${String(expected)}`);
        assert.equal(parser._offset, zongjiParser._offset, `${what}: read to ${parser._offset} instead of ${zongjiParser._offset}`);
      }
    });
  });

  it('give NULL for NULL and absent columns, and read the rest of the row in order', () => {
    const cases = CASES.filter((entry) => entry.type !== 254 || entry.columnType !== 'uuid');
    const table = tableOf(cases);
    const next = rng(99);
    for (let round = 0; round < 200; round++) {
      const bitmap = randomBytes(next, Math.ceil(cases.length / 8));
      const present = cases.map((_, index) => (bitmap[index >> 3]! & (1 << (index & 7))) !== 0);
      const presentCount = [...bitmap].reduce((sum, byte) => sum + [...byte.toString(2)].filter((bit) => bit === '1').length, 0);
      const nulls = randomBytes(next, Math.ceil(presentCount / 8));
      const parts: Buffer[] = [nulls];
      let nullBit = 0;
      const expected: unknown[] = [];
      cases.forEach((entry, index) => {
        if (!present[index]) {
          expected[index] = null;
          return;
        }
        const isNull = (nulls[nullBit >> 3]! & (1 << (nullBit & 7))) !== 0;
        nullBit++;
        if (isNull) {
          expected[index] = null;
          return;
        }
        const value = valuesOf(entry, round * 1000 + index)[(entry.values?.length ?? 0) + 1]!;
        parts.push(value);
        const own = parserOver(value);
        expected[index] = readMysqlValue(own, table.columns[index]!, table.columnSchemas[index]!, table, ZONGJI);
      });
      const rowBytes = Buffer.concat(parts);
      const parser = parserOver(Buffer.concat([rowBytes, rowBytes]));
      const reader = compileRowReader(table, bitmap, ZONGJI, readMysqlValue);
      for (const _ of [1, 2]) {
        const row = reader.read(parser);
        // One value per column, in the TableMap's order.
        assert.equal(row.length, cases.length);
        expected.forEach((value, index) => {
          const name = `column ${index} (${cases[index]!.columnType})`;
          if (Buffer.isBuffer(value)) assert.ok(Buffer.isBuffer(row[index]) && (row[index] as Buffer).equals(value), name);
          else assert.ok(Object.is(row[index], value), `${name}: ${String(row[index])} instead of ${String(value)}`);
        });
      }
      assert.equal(parser._offset, rowBytes.length * 2);
    }
  });
});

// The columns of the changes the images become, for readers that give the cells themselves: the
// column each case describes, and others whose decoders take each shortcut (and some none), so that
// every reader meets every decoder.
const CELL_COLUMNS: SourceColumn[] = [
  { name: 'c', mysqlType: 'bigint', charset: null },
  { name: 'c', mysqlType: 'int unsigned', charset: null },
  { name: 'c', mysqlType: 'decimal(12,2)', charset: null },
  { name: 'c', mysqlType: 'float', charset: null },
  { name: 'c', mysqlType: 'double', charset: null },
  { name: 'c', mysqlType: 'year', charset: null },
  { name: 'c', mysqlType: 'datetime(6)', charset: null },
  { name: 'c', mysqlType: 'date', charset: null },
  { name: 'c', mysqlType: 'varchar(20)', charset: 'utf8mb4' },
  { name: 'c', mysqlType: 'text', charset: 'latin1' },
  { name: 'c', mysqlType: "set('a','b')", charset: 'utf8mb4' },
  { name: 'c', mysqlType: 'varbinary(20)', charset: null },
  { name: 'c', mysqlType: 'bit(8)', charset: null },
  { name: 'c', mysqlType: 'no such type', charset: null },
];

function outcome(run: () => unknown): { value?: unknown; error?: string } {
  try {
    return { value: run() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

describe('row readers that give the cells', () => {
  it('give for every value what the column decoder gives for zongji\'s value: the same cell or the same error', () => {
    CASES.forEach((entry, caseIndex) => {
      const table = tableOf([entry]);
      const own: SourceColumn = { name: 'c', mysqlType: entry.columnType.toLowerCase(), charset: entry.charset ?? null };
      for (const cellColumn of [own, ...CELL_COLUMNS]) {
        const decoder = cellDecoderFor(cellColumn);
        const reader = compileRowReader(table, Buffer.from([1]), ZONGJI, readMysqlValue, [cellColumn]);
        for (const value of valuesOf(entry, caseIndex + 1).slice(0, 600)) {
          const row = Buffer.concat([Buffer.from([0]), value, Buffer.from([0xee])]);
          const zongjiParser = parserOver(row);
          zongjiParser._offset = 1;
          const raw = outcome(() => readMysqlValue(zongjiParser, table.columns[0]!, table.columnSchemas[0]!, table, ZONGJI));
          const what = `${entry.columnType} read for ${cellColumn.mysqlType} from ${value.toString('hex')}`;
          const parser = parserOver(row);
          if (raw.error !== undefined) {
            assert.throws(() => reader.read(parser), what);
            continue;
          }
          const expected = outcome(() => decoder(raw.value));
          const got = reader.read(parser)[0];
          const cell = reader.cells[0] ? outcome(() => (got instanceof UndecodableCell ? decoder(got.raw) : got)) : outcome(() => decoder(got));
          if (expected.error !== undefined) assert.equal(cell.error, expected.error, what);
          else if (Buffer.isBuffer(expected.value)) assert.ok(Buffer.isBuffer(cell.value) && cell.value.equals(expected.value), what);
          else assert.ok(Object.is(cell.value, expected.value), `${what}: ${String(cell.value)} instead of ${String(expected.value)}`);
          assert.equal(parser._offset, zongjiParser._offset, what);
        }
      }
    });
  });

  it('give the cells of the columns whose decoders take the shortcut, and zongji\'s values of the others', () => {
    const shortcuts = (columnType: string, cellColumn: SourceColumn): boolean => {
      const entry = CASES.find((candidate) => candidate.columnType === columnType)!;
      return compileRowReader(tableOf([entry]), Buffer.from([1]), ZONGJI, readMysqlValue, [cellColumn]).cells[0]!;
    };
    assert.ok(shortcuts('int', { name: 'c', mysqlType: 'int', charset: null }));
    assert.ok(shortcuts('decimal(12,2)', { name: 'c', mysqlType: 'decimal(12,2)', charset: null }));
    assert.ok(shortcuts('double', { name: 'c', mysqlType: 'double', charset: null }));
    assert.ok(shortcuts('datetime(6)', { name: 'c', mysqlType: 'datetime(6)', charset: null }));
    assert.ok(shortcuts('varchar(64)', { name: 'c', mysqlType: 'varchar(64)', charset: 'utf8mb4' }));
    assert.ok(shortcuts('varbinary(32)', { name: 'c', mysqlType: 'varbinary(32)', charset: null }));
    assert.ok(!shortcuts('int', { name: 'c', mysqlType: 'varchar(64)', charset: 'utf8mb4' }));
    assert.ok(!shortcuts('varchar(64)', { name: 'c', mysqlType: "set('a')", charset: 'utf8mb4' }));
    assert.ok(!shortcuts('varchar(64)', { name: 'c', mysqlType: 'varchar(64)', charset: 'latin1' }));
    assert.ok(!shortcuts('timestamp(3)', { name: 'c', mysqlType: 'timestamp(3)', charset: null }));
  });
});
