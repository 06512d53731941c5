// The key a snapshot reads a table in chunks by: its primary key, in the server's order. A stand-in
// with the shape of sources/table/table-key.ts (being written beside this: unique NOT NULL indexes,
// every key kind, collations), which replaces it once it lands: KeyTuple is exact text per column,
// binary as lower-case hex.
import mysql from 'mysql2/promise';
import type { CellValue } from '../../core/change-event.ts';
import { SluiceError } from '../../core/errors.ts';
import { quoteIdentifier } from '../../core/mysql-connect.ts';

export interface KeyColumnInfo {
  name: string;
  kind: 'integer' | 'binary' | 'text';
}

export interface TableKey {
  columns: KeyColumnInfo[];
}

export type KeyTuple = readonly string[];

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);

export async function readTableKey(connection: mysql.Connection, table: string): Promise<TableKey> {
  const dot = table.indexOf('.');
  const [rows] = await connection.query<mysql.RowDataPacket[]>(
    `SELECT k.COLUMN_NAME AS name, LOWER(c.DATA_TYPE) AS dataType, c.CHARACTER_SET_NAME AS charset
       FROM information_schema.STATISTICS k
       JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = k.TABLE_SCHEMA AND c.TABLE_NAME = k.TABLE_NAME AND c.COLUMN_NAME = k.COLUMN_NAME
      WHERE k.TABLE_SCHEMA = ? AND k.TABLE_NAME = ? AND k.INDEX_NAME = 'PRIMARY' ORDER BY k.SEQ_IN_INDEX`,
    [table.slice(0, dot), table.slice(dot + 1)],
  );
  if (rows.length === 0) {
    throw new SluiceError('SLUICE_SNAPSHOT', `${table} has no primary key, so the snapshot cannot read its rows in a resumable order; add one (ALTER TABLE ${table} ADD PRIMARY KEY (...))`, {
      context: { table },
    });
  }
  return {
    columns: rows.map((row) => ({
      name: String(row.name),
      kind: INTEGER_TYPES.has(String(row.dataType)) ? 'integer' : row.charset === null && /binary|blob/.test(String(row.dataType)) ? 'binary' : 'text',
    })),
  };
}

/** A row's key as a tuple, from its values as sluice carries them (text, or bytes for binary columns). */
export function keyTupleOf(values: readonly CellValue[]): KeyTuple {
  return values.map((value) => (Buffer.isBuffer(value) ? value.toString('hex') : String(value)));
}

export function orderBySql(key: TableKey): string {
  return key.columns.map((column) => `${quoteIdentifier(column.name)} ASC`).join(', ');
}

/** Rows strictly after `tuple` in key order, written out column by column so that it stays a range of the index. */
export function afterKeySql(key: TableKey, tuple: KeyTuple): string {
  const names = key.columns.map((column) => quoteIdentifier(column.name));
  const literals = tuple.map((value, index) => literal(key.columns[index]!, value));
  const terms = literals.map((value, depth) => [...literals.slice(0, depth).map((equal, index) => `${names[index]} = ${equal}`), `${names[depth]} > ${value}`].join(' AND '));
  return terms.map((term) => `(${term})`).join(' OR ');
}

function literal(column: KeyColumnInfo, value: string): string {
  if (column.kind === 'integer' && /^-?\d+$/.test(value)) return value;
  if (column.kind === 'binary') return `X'${value}'`;
  return mysql.escape(value);
}
