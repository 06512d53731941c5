// Source tables and job files for the batch-copy tests, and the row-by-row comparison of a target
// with its source.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { stringify } from 'yaml';
import type { CellValue } from '../../src/core/change-event.ts';
import type { SyncJobInput } from '../../src/config/sync-job-schema.ts';
import type { FileSystem } from '../../src/filesystem/filesystem.ts';
import { decodeRows } from '../../src/sinks/hive-text-codec.ts';
import { canonicalValue, exactTypeCast, selectExpression } from '../../src/sources/table/row-values.ts';
import { readTableShape } from '../../src/sources/table/table-shape.ts';
import { hiveTypeFor } from '../../src/catalog/type-mapping.ts';
import type { MariaDbServer } from '../servers/mariadb.ts';

/** Every kind of value a copy must carry exactly: edge numbers, NULL vs empty, control bytes, emoji, 0xFF. */
export const SOURCE_TABLE_DDL = (table: string): string => `CREATE TABLE ${table} (
  id BIGINT NOT NULL PRIMARY KEY,
  happened DATETIME(6) NOT NULL,
  amount DECIMAL(30,6),
  name VARCHAR(80) CHARACTER SET utf8mb4,
  note TEXT CHARACTER SET latin1,
  raw VARBINARY(16),
  flags BIT(5),
  ratio FLOAT,
  score DOUBLE,
  seen TIMESTAMP(6) NULL,
  big BIGINT UNSIGNED,
  doc JSON,
  INDEX (happened)
) ENGINE=InnoDB`;

/** Fills `table` with rows 1..count, fast (MariaDB's sequence engine), values derived from the id. */
export async function fillSourceTable(connection: mysql.Connection, table: string, count: number, firstId = 1): Promise<void> {
  const chunk = 200_000;
  for (let start = firstId; start < firstId + count; start += chunk) {
    const end = Math.min(start + chunk - 1, firstId + count - 1);
    await connection.query(`INSERT INTO ${table} SELECT
        seq,
        TIMESTAMP('2026-01-01 00:00:00') + INTERVAL (seq DIV 3) SECOND + INTERVAL (seq MOD 1000) MICROSECOND,
        IF(seq MOD 17 = 0, NULL, IF(seq MOD 2 = 0, -1, 1) * CAST(seq * 1000003 MOD 999999999999 AS SIGNED) / 1000000),
        CASE WHEN seq MOD 19 = 0 THEN NULL WHEN seq MOD 23 = 0 THEN '' ELSE CONCAT('name-', seq, IF(seq MOD 7 = 0, '\\t\\x01\\n\\\\', ''), IF(seq MOD 11 = 0, '😀', '')) END,
        IF(seq MOD 13 = 0, NULL, CONCAT('naïve ', seq MOD 97, IF(seq MOD 29 = 0, '\\r\\n', ''))),
        IF(seq MOD 31 = 0, NULL, UNHEX(CONCAT('00FF', LPAD(HEX(seq), 8, '0'), '0A01'))),
        b'10101' & seq,
        seq / 3,
        IF(seq MOD 37 = 0, -1.7976931348623157e308, seq / 7),
        IF(seq MOD 41 = 0, NULL, FROM_UNIXTIME(1700000000 + seq, '%Y-%m-%d %H:%i:%s.123456')),
        IF(seq MOD 43 = 0, 18446744073709551615, seq * 4294967311),
        IF(seq MOD 47 = 0, NULL, JSON_OBJECT('id', seq, 's', CONCAT('x', seq)))
      FROM ${table.slice(0, table.indexOf('.'))}.seq_${start}_to_${end}`);
  }
}

export interface SourceOptions {
  server: MariaDbServer;
  table: string;
}

export function writeJobFile(dir: string, job: SyncJobInput): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${job.name}.yaml`);
  writeFileSync(file, stringify(job));
  return file;
}

/** The rows of a MySQL table in id order, as canonical values (the form the target files hold). */
export async function readTableRows(connection: mysql.Connection, table: string, orderBy = 'id'): Promise<CellValue[][]> {
  const shape = await readTableShape(connection, table);
  await connection.query("SET time_zone = '+00:00'");
  const [rows] = await connection.query({ sql: `SELECT ${shape.columns.map(selectExpression).join(', ')} FROM ${table} ORDER BY ${orderBy}`, rowsAsArray: true, typeCast: exactTypeCast });
  return (rows as unknown as CellValue[][]).map((row) => row.map((value, index) => canonicalValue(shape.columns[index]!, value)));
}

export async function hiveTypesOf(connection: mysql.Connection, table: string): Promise<string[]> {
  const shape = await readTableShape(connection, table);
  return shape.columns.map((column) => hiveTypeFor(column.mysqlType));
}

/** Every committed file of a target directory (names that start with '.' or '_' are staging), decoded. */
export async function readTargetFiles(fs: FileSystem, path: string, hiveTypes: string[]): Promise<{ rows: CellValue[][]; files: string[] }> {
  const entries = await fs.list(path).catch(() => []);
  const files = entries.filter((entry) => entry.type === 'file' && !/^[._]/.test(entry.path.slice(entry.path.lastIndexOf('/') + 1))).map((entry) => entry.path);
  const rows: CellValue[][] = [];
  for (const file of files) for (const row of decodeRows(await fs.readFile(file), hiveTypes)) rows.push(row);
  return { rows, files };
}

/** Compares target rows with source rows by id (column 0): names the first missing, duplicate, extra or different row. */
export function compareRows(source: CellValue[][], target: CellValue[][]): string | undefined {
  const key = (row: CellValue[]): bigint => BigInt(row[0] as string);
  const sorted = [...target].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  for (let index = 1; index < sorted.length; index++) {
    if (key(sorted[index]!) === key(sorted[index - 1]!)) return `id ${key(sorted[index]!)} is in the target twice`;
  }
  const want = new Map(source.map((row) => [key(row), row]));
  for (const row of sorted) {
    const expected = want.get(key(row));
    if (!expected) return `id ${key(row)} is in the target but not in the source`;
    for (let column = 0; column < expected.length; column++) {
      if (!sameValue(expected[column]!, row[column] ?? null)) {
        return `id ${key(row)} column ${column}: source ${show(expected[column]!)}, target ${show(row[column] ?? null)}`;
      }
    }
    want.delete(key(row));
  }
  if (want.size > 0) return `${want.size} source rows are missing from the target, e.g. id ${[...want.keys()][0]}`;
  return undefined;
}

function sameValue(a: CellValue, b: CellValue): boolean {
  if (a === null || b === null) return a === b;
  if (typeof a === 'string' && typeof b === 'string') return a === b;
  return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
}

function show(value: CellValue): string {
  return value === null ? 'NULL' : typeof value === 'string' ? JSON.stringify(value) : `0x${value.toString('hex')}`;
}

/** Streams a table's rows in id order, `chunk` at a time, as canonical values: for tables too big to hold. */
export async function forEachTableRow(connection: mysql.Connection, table: string, visit: (row: CellValue[]) => void, chunk = 50_000): Promise<void> {
  const shape = await readTableShape(connection, table);
  await connection.query("SET time_zone = '+00:00'");
  let after = '';
  for (;;) {
    const [result] = await connection.query({
      sql: `SELECT ${shape.columns.map(selectExpression).join(', ')} FROM ${table}${after === '' ? '' : ` WHERE id > ${after}`} ORDER BY id LIMIT ${chunk}`,
      rowsAsArray: true,
      typeCast: exactTypeCast,
    });
    const rows = result as unknown as CellValue[][];
    if (rows.length === 0) return;
    for (const row of rows) visit(row.map((value, index) => canonicalValue(shape.columns[index]!, value)));
    after = String(rows[rows.length - 1]![0]);
  }
}

/** Streams the committed files of a target directory, one file in memory at a time. */
export async function forEachTargetRow(fs: FileSystem, path: string, hiveTypes: string[], visit: (row: CellValue[]) => void): Promise<number> {
  const entries = await fs.list(path).catch(() => []);
  const files = entries.filter((entry) => entry.type === 'file' && !/^[._]/.test(entry.path.slice(entry.path.lastIndexOf('/') + 1)));
  for (const file of files) for (const row of decodeRows(await fs.readFile(file.path), hiveTypes)) visit(row);
  return files.length;
}
