// A table's ordering key (src/sources/table/table-key.ts) against the real MariaDB and MySQL 9.7: which key is
// chosen, and the property every chunked reader stands on: walking a table chunk by chunk with
// "after the last key tuple" visits every row exactly once, in the order the server's index keeps
// (integers past 2^63, DECIMAL, strings in their collation with trailing spaces, binary UUIDs with
// 0x00 and 0xFF bytes, dates, composite keys), and the split points divide it into even ranges.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type mysql from 'mysql2/promise';
import { connectMysql, EXACT_VALUES, quoteTable, useUtcSession } from '../src/core/mysql-connect.ts';
import { SluiceError } from '../src/core/errors.ts';
import { exactTypeCast } from '../src/sources/table/row-values.ts';
import {
  afterKeySql,
  compareKeyTuples,
  keyColumnsSql,
  keyRangeSql,
  keyTupleFromValues,
  orderBySql,
  readKeyBoundaries,
  readNextChunkEnd,
  readTableKey,
  type KeyTuple,
  type TableKey,
} from '../src/sources/table/table-key.ts';
import { testMariaDb, testMysql } from './helpers/servers.ts';
import { SLUICE_PASSWORD, SLUICE_USER } from './servers/mariadb.ts';

let root: mysql.Connection;
let reader: mysql.Connection;

// The fixtures' row sources: MariaDB's sequence engine has seq_A_to_B tables of its own; MySQL gets
// real ones with the same names and the same (unsigned) column.
const SEQUENCES = ['0_to_49', '0_to_199', '1_to_120', '1_to_150', '1_to_180', '1_to_200', '1_to_250', '1_to_300', '1_to_20000'];

async function useServer(kind: 'MariaDB' | 'MySQL'): Promise<void> {
  await reader?.end();
  await root?.end();
  const server = kind === 'MariaDB' ? await testMariaDb() : await testMysql();
  root = await server.rootConnection('mysql');
  await root.query('DROP DATABASE IF EXISTS keys_src');
  await root.query('CREATE DATABASE keys_src');
  if (kind === 'MySQL') {
    await root.query('SET SESSION cte_max_recursion_depth = 100000');
    for (const range of SEQUENCES) {
      const [from, to] = range.split('_to_').map(Number) as [number, number];
      await root.query(`CREATE TABLE keys_src.seq_${range} (seq BIGINT UNSIGNED NOT NULL PRIMARY KEY)`);
      await root.query(`INSERT INTO keys_src.seq_${range} WITH RECURSIVE s(seq) AS (SELECT ${from} UNION ALL SELECT seq + 1 FROM s WHERE seq < ${to}) SELECT seq FROM s`);
    }
  }
  reader = await connectMysql({ host: '127.0.0.1', port: server.port, user: SLUICE_USER, password: SLUICE_PASSWORD, connectTimeoutMs: 5000 }, 'source', EXACT_VALUES);
  await useUtcSession(reader);
}

after(async () => {
  await reader?.end();
  await root?.end();
});

async function keysInServerOrder(table: string, key: TableKey, where = 'TRUE'): Promise<KeyTuple[]> {
  const [rows] = await reader.query({ sql: `SELECT ${keyColumnsSql(key)} FROM ${quoteTable(table)} WHERE ${where} ORDER BY ${orderBySql(key)}`, rowsAsArray: true, typeCast: exactTypeCast });
  return (rows as unknown as unknown[][]).map((row) => keyTupleFromValues(key, row));
}

/** Reads the table chunk by chunk, each chunk (last end, next end], as a snapshot would. */
async function walkInChunks(table: string, key: TableKey, chunkRows: number): Promise<KeyTuple[][]> {
  const chunks: KeyTuple[][] = [];
  let last: KeyTuple | undefined;
  for (;;) {
    const end = await readNextChunkEnd(reader, table, key, undefined, last, chunkRows);
    chunks.push(await keysInServerOrder(table, key, keyRangeSql(key, last, end)));
    if (end === undefined) return chunks;
    last = end;
  }
}

/** Reads the table page by page with `after(last) ORDER BY key LIMIT n`, as a batch channel does. */
async function walkInPages(table: string, key: TableKey, pageRows: number): Promise<KeyTuple[]> {
  const seen: KeyTuple[] = [];
  let last: KeyTuple | undefined;
  for (;;) {
    const where = last === undefined ? 'TRUE' : afterKeySql(key, last);
    const [rows] = await reader.query({ sql: `SELECT ${keyColumnsSql(key)} FROM ${quoteTable(table)} WHERE ${where} ORDER BY ${orderBySql(key)} LIMIT ${pageRows}`, rowsAsArray: true, typeCast: exactTypeCast });
    const page = (rows as unknown as unknown[][]).map((row) => keyTupleFromValues(key, row));
    if (page.length === 0) return seen;
    seen.push(...page);
    last = page.at(-1);
  }
}

interface KeyCase {
  name: string;
  ddl: string;
  rows: string;
  key: string[];
  kinds: string[];
}

const CASES: KeyCase[] = [
  {
    name: 'signed integers, negative and at both ends of BIGINT',
    ddl: 'id BIGINT NOT NULL PRIMARY KEY, v INT',
    rows: "SELECT CAST(seq AS SIGNED) * 7919 - 400000, seq FROM keys_src.seq_1_to_200 UNION ALL SELECT -9223372036854775808, 0 UNION ALL SELECT 9223372036854775807, 0 UNION ALL SELECT 0, 0",
    key: ['id'],
    kinds: ['integer'],
  },
  {
    name: 'BIGINT UNSIGNED above 2^63 (a double would merge these)',
    ddl: 'id BIGINT UNSIGNED NOT NULL PRIMARY KEY',
    rows: 'SELECT 9223372036854775807 + seq FROM keys_src.seq_1_to_150 UNION ALL SELECT 18446744073709551615 - seq FROM keys_src.seq_0_to_49 UNION ALL SELECT 0',
    key: ['id'],
    kinds: ['integer'],
  },
  {
    name: 'DECIMAL(30,6)',
    ddl: 'amount DECIMAL(30,6) NOT NULL PRIMARY KEY',
    rows: "SELECT (CAST(seq AS SIGNED) - 100) * 1000000007.000001 FROM keys_src.seq_1_to_200 UNION ALL SELECT '-0.000001' UNION ALL SELECT '999999999999999999999999.999999'",
    key: ['amount'],
    kinds: ['decimal'],
  },
  {
    name: 'VARCHAR in utf8mb4_general_ci: case and accents, trailing spaces, emoji',
    ddl: 'name VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY',
    // 'B' sorts after 'a' here (before it in bytes); 'é' sits with 'e'; 'x  ' keeps its spaces.
    rows: "SELECT CONCAT(CHAR(65 + seq MOD 26 USING utf8mb4), IF(seq MOD 3 = 0, LOWER(CHAR(66 + seq MOD 20 USING utf8mb4)), ''), seq) COLLATE utf8mb4_general_ci FROM keys_src.seq_1_to_200 UNION ALL SELECT 'a' UNION ALL SELECT 'B' UNION ALL SELECT 'é' UNION ALL SELECT 'f' UNION ALL SELECT 'x  ' UNION ALL SELECT 'ß' UNION ALL SELECT '😀' UNION ALL SELECT '' UNION ALL SELECT 'it''s \\\\ \"q\"'",
    key: ['name'],
    kinds: ['string'],
  },
  {
    name: 'VARCHAR in latin1 (the literal is converted to the column\'s character set)',
    ddl: 'name VARCHAR(40) CHARACTER SET latin1 NOT NULL PRIMARY KEY',
    rows: "SELECT CONCAT(IF(seq MOD 2 = 0, 'Ä', 'a'), seq) FROM keys_src.seq_1_to_120 UNION ALL SELECT 'naïve' UNION ALL SELECT 'Z'",
    key: ['name'],
    kinds: ['string'],
  },
  {
    name: 'BINARY(16) UUIDs with 0x00 and 0xFF bytes',
    ddl: 'uuid BINARY(16) NOT NULL PRIMARY KEY, v INT',
    rows: "SELECT UNHEX(CONCAT(LPAD(HEX(seq * 2654435761 MOD 4294967296), 8, '0'), LPAD(HEX(seq * 40503 MOD 65536), 4, '0'), 'FF00', LPAD(HEX(seq), 16, '0'))), seq FROM keys_src.seq_1_to_200 UNION ALL SELECT UNHEX(REPEAT('00', 16)), 0 UNION ALL SELECT UNHEX(REPEAT('FF', 16)), 0 UNION ALL SELECT UNHEX(CONCAT('00', REPEAT('FF', 15))), 0 UNION ALL SELECT UNHEX(CONCAT(REPEAT('FF', 15), '00')), 0",
    key: ['uuid'],
    kinds: ['binary'],
  },
  {
    name: 'VARBINARY with trailing zero bytes and the empty value',
    ddl: 'raw VARBINARY(20) NOT NULL PRIMARY KEY',
    rows: "SELECT UNHEX(LPAD(HEX(seq * 2654435761 MOD 4294967296), 8 + 2 * (seq MOD 3), '0')) FROM keys_src.seq_1_to_150 UNION ALL SELECT '' UNION ALL SELECT X'00' UNION ALL SELECT X'0000' UNION ALL SELECT X'01' UNION ALL SELECT X'0100'",
    key: ['raw'],
    kinds: ['binary'],
  },
  {
    name: 'DATE',
    ddl: 'day DATE NOT NULL PRIMARY KEY',
    rows: "SELECT DATE('1000-01-01') + INTERVAL (seq * 97) DAY FROM keys_src.seq_0_to_199 UNION ALL SELECT '9999-12-31'",
    key: ['day'],
    kinds: ['temporal'],
  },
  {
    name: 'DATETIME(6) one microsecond apart',
    ddl: 'at DATETIME(6) NOT NULL PRIMARY KEY',
    rows: "SELECT TIMESTAMP('2026-01-01 00:00:00') + INTERVAL (seq DIV 3) SECOND + INTERVAL (seq MOD 3) MICROSECOND FROM keys_src.seq_0_to_199",
    key: ['at'],
    kinds: ['temporal'],
  },
  {
    name: 'composite (int, varchar) with many rows per leading value',
    ddl: "shop INT NOT NULL, sku VARCHAR(20) COLLATE utf8mb4_unicode_ci NOT NULL, v INT, PRIMARY KEY (shop, sku)",
    rows: "SELECT CAST(seq MOD 7 AS SIGNED) - 3, CONCAT(IF(seq MOD 2 = 0, 'sku-', 'SKU_'), seq), seq FROM keys_src.seq_1_to_250",
    key: ['shop', 'sku'],
    kinds: ['integer', 'string'],
  },
  {
    name: 'only a unique index on NOT NULL columns (a nullable unique index is passed over)',
    ddl: 'id INT NULL, code CHAR(8) NOT NULL, v INT, UNIQUE KEY by_id (id), UNIQUE KEY by_code (code)',
    rows: "SELECT seq, CONCAT('c', LPAD(300 - seq, 5, '0')), seq FROM keys_src.seq_1_to_180",
    key: ['code'],
    kinds: ['string'],
  },
];

/** The table access of an EXPLAIN FORMAT=JSON: the object naming the index and how it is read. */
function findAccess(node: unknown): Record<string, unknown> | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  const record = node as Record<string, unknown>;
  if ('used_key_parts' in record || ('index_name' in record && 'ranges' in record)) return record;
  for (const value of Object.values(record)) {
    const found = findAccess(value);
    if (found) return found;
  }
  return undefined;
}

for (const server of ['MariaDB', 'MySQL'] as const) {
  describe(server, () => {
    before(() => useServer(server));

  describe('a key of every kind: chunks and pages visit every row once, in the server\'s order', () => {
    for (const [index, item] of CASES.entries()) {
      test(item.name, async () => {
        const table = `keys_src.k${index}`;
        await root.query(`CREATE TABLE ${table} (${item.ddl}) ENGINE=InnoDB`);
        await root.query(`INSERT INTO ${table} ${item.rows}`);
        const key = await readTableKey(reader, table);
        assert.deepEqual(key.columns.map((column) => column.name), item.key);
        assert.deepEqual(key.columns.map((column) => column.kind), item.kinds);
        assert.equal(key.unique, true);

        const all = await keysInServerOrder(table, key);
        assert.ok(all.length > 100, `${all.length} rows`);
        assert.equal(new Set(all.map((tuple) => JSON.stringify(tuple))).size, all.length, 'the key tuples are distinct: each reads back exactly');

        for (const chunkRows of [1, 7, 64, all.length, all.length + 5]) {
          const chunks = await walkInChunks(table, key, chunkRows);
          assert.deepEqual(chunks.flat(), all, `chunks of ${chunkRows}`);
          assert.ok(chunks.slice(0, -1).every((chunk) => chunk.length === chunkRows), `every chunk but the last holds ${chunkRows} rows`);
        }
        assert.deepEqual(await walkInPages(table, key, 13), all);

        for (const count of [2, 3, 8]) {
          const boundaries = await readKeyBoundaries(reader, table, key, undefined, count);
          assert.equal(boundaries.length, count - 1);
          const ranges = await Promise.all(Array.from({ length: count }, (_, range) => keysInServerOrder(table, key, keyRangeSql(key, boundaries[range - 1], boundaries[range]))));
          assert.deepEqual(ranges.flat(), all, `${count} ranges cover the table once`);
          const sizes = ranges.map((range) => range.length);
          assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `even ranges: ${sizes.join(', ')}`);
        }

        // The server agrees that consecutive tuples ascend (and a tuple equals itself).
        for (const at of [0, 1, Math.floor(all.length / 2), all.length - 2]) {
          assert.equal(await compareKeyTuples(reader, key, all[at]!, all[at + 1]!), -1, `${JSON.stringify(all[at])} < ${JSON.stringify(all[at + 1])}`);
          assert.equal(await compareKeyTuples(reader, key, all[at + 1]!, all[at]!), 1);
          assert.equal(await compareKeyTuples(reader, key, all[at]!, all[at]!), 0);
        }
      });
    }
  });

  describe('the key predicates are ranges of the index', () => {
    test('after(tuple) on a composite key reads from the tuple on, on every key part', async () => {
      await root.query('CREATE TABLE keys_src.wide (a INT NOT NULL, b VARCHAR(20) NOT NULL, c BINARY(16) NOT NULL, v INT, PRIMARY KEY (a, b, c)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci');
      await root.query("INSERT INTO keys_src.wide SELECT seq MOD 100, CONCAT('s', seq MOD 37), UNHEX(LPAD(HEX(seq * 2654435761 MOD 4294967296), 32, 'F')), seq FROM keys_src.seq_1_to_20000");
      await root.query('ANALYZE TABLE keys_src.wide');
      const key = await readTableKey(reader, 'keys_src.wide');
      const tuple = ['50', 's3', '00'.repeat(16)];
      const [plan] = await reader.query<mysql.RowDataPacket[]>(`EXPLAIN FORMAT=JSON SELECT ${keyColumnsSql(key)} FROM keys_src.wide WHERE ${afterKeySql(key, tuple)} ORDER BY ${orderBySql(key)} LIMIT 10`);
      const explained = String(Object.values(plan[0]!)[0]);
      const access = findAccess(JSON.parse(explained));
      assert.ok(access, explained);
      if ('used_key_parts' in access) {
        // MariaDB (and MySQL's JSON format 1): the parts of the index the range uses.
        assert.equal(access.access_type, 'range');
        assert.equal(access.key, 'PRIMARY');
        assert.deepEqual(access.used_key_parts, ['a', 'b', 'c']);
      } else {
        // MySQL's JSON format 2: the ranges themselves, down to the last key part.
        assert.match(String(access.operation), /range scan on wide using PRIMARY/i);
        assert.match(String(access.ranges), /a = 50 AND b = 's3' AND 0x0+ < c/);
      }
    });
  });

  describe('which key, and the refusals', () => {
    test('a requested non-unique column is made unique by the primary key, and ordered by its index', async () => {
      await root.query('CREATE TABLE keys_src.events (id BIGINT NOT NULL PRIMARY KEY, at DATETIME(6) NOT NULL, INDEX by_at (at))');
      await root.query("INSERT INTO keys_src.events SELECT seq, TIMESTAMP('2026-03-01') + INTERVAL (seq DIV 10) MINUTE FROM keys_src.seq_1_to_300");
      const key = await readTableKey(reader, 'keys_src.events', ['at']);
      assert.deepEqual(key.columns.map((column) => column.name), ['at', 'id']);
      assert.equal(key.index, 'by_at');
      assert.equal(key.unique, true);
      const all = await keysInServerOrder('keys_src.events', key);
      assert.deepEqual((await walkInChunks('keys_src.events', key, 7)).flat(), all);
      assert.deepEqual((await readTableKey(reader, 'keys_src.events')).columns.map((column) => column.name), ['id']);
    });

    const refusals: { name: string; ddl: string; requested?: string[]; says: RegExp }[] = [
      { name: 'no key at all', ddl: 'a INT, b VARCHAR(10)', says: /keys_src\.r0 has no primary key or unique index over whole NOT NULL columns.*ALTER TABLE keys_src\.r0 ADD PRIMARY KEY/ },
      { name: 'only a unique index on a nullable column', ddl: 'a INT NULL, UNIQUE KEY (a)', says: /keys_src\.r1 has no primary key or unique index over whole NOT NULL columns/ },
      { name: 'a FLOAT primary key', ddl: 'f FLOAT NOT NULL PRIMARY KEY', says: /keys_src\.r2\.f is float, which sluice cannot order and resume by/ },
      { name: 'requested columns that lead no index', ddl: 'id INT NOT NULL PRIMARY KEY, v INT', requested: ['v'], says: /source\.key: keys_src\.r3\.v leads no index.*ADD INDEX \(v\)/ },
      { name: 'a requested column that does not exist', ddl: 'id INT NOT NULL PRIMARY KEY', requested: ['nope'], says: /source\.key: keys_src\.r4 has no column 'nope' \(it has id\)/ },
      { name: 'a primary key over a prefix of a column', ddl: 'name VARCHAR(100) NOT NULL, PRIMARY KEY (name(10))', says: /keys_src\.r5 has no primary key or unique index over whole NOT NULL columns/ },
      { name: 'a requested column indexed by a prefix only', ddl: 'id INT NOT NULL PRIMARY KEY, name VARCHAR(100) NOT NULL, INDEX (name(10))', requested: ['name'], says: /source\.key: keys_src\.r6\.name leads no index/ },
    ];
    for (const [index, item] of refusals.entries()) {
      test(`refused, with the fix named: ${item.name}`, async () => {
        await root.query(`CREATE TABLE keys_src.r${index} (${item.ddl})`);
        await assert.rejects(readTableKey(reader, `keys_src.r${index}`, item.requested, item.requested ? { configKey: 'source.key' } : {}), (error: unknown) => {
          assert.ok(error instanceof SluiceError);
          assert.equal(error.code, 'SLUICE_TABLE_KEY');
          assert.match(error.message, item.says);
          return true;
        });
      });
    }
  });
  });
}
