// A table's ordering key, and SQL that walks the table in that key's order: the key a batch copy splits
// into channels and a snapshot splits into chunks.
//
// Every key value travels as exact text (a KeyTuple, one string per key column, safe in JSON):
// - integer, decimal: the digits as the server prints them ('-5', '18446744073709551615', '12.500');
// - string: the value as UTF-8 text; it is compared in the column's own character set and collation,
//   as the server compares it (so 'a' and 'A' are equal under a _ci collation, as in the index);
// - binary (BINARY, VARBINARY, BLOB): the bytes as lower-case hex, two digits a byte ('00ff', '' for
//   empty); the column kind says it is hex, so there is no marker;
// - temporal (DATE, DATETIME, TIMESTAMP, TIME): the text the server prints ('2026-01-01 00:00:00.000001').
//   TIMESTAMP text depends on the session's time zone: read and compare in a UTC session (useUtcSession).
//
// Key predicates are written out column by column (`a > ? OR (a = ? AND b > ?)`), never as a row
// constructor: MariaDB 10.11 reads `(a, b) > (?, ?)` as a scan of the whole index from its start, while
// the expanded form is a range on every key part (EXPLAIN: used_key_parts a, b). Literals carry the
// column's collation so that the range stays on the index (a literal in another collation makes the
// server compare outside it).
import type mysql from 'mysql2/promise';
import { SluiceError } from '../../core/errors.ts';
import { quoteIdentifier, quoteTable } from '../../core/mysql-connect.ts';
import { exactTypeCast } from './row-values.ts';

export type KeyKind = 'integer' | 'decimal' | 'string' | 'binary' | 'temporal' | 'other';

export interface KeyColumnInfo {
  name: string;
  /** information_schema COLUMN_TYPE in lower case: 'bigint(20) unsigned', 'varchar(40)'. */
  mysqlType: string;
  /** information_schema DATA_TYPE: 'bigint', 'varchar', 'datetime', ... */
  dataType: string;
  kind: KeyKind;
  /** Character set and collation of a string column; null for every other kind. */
  charset: string | null;
  collation: string | null;
  /** Only a requested key column may be nullable: its reader must then refuse NULLs (no range reads them). */
  nullable: boolean;
}

export interface TableKey {
  columns: KeyColumnInfo[];
  /** The index that orders the key: 'PRIMARY', a unique index's name, or '' (a view has no index). */
  index: string;
  /**
   * No two rows share a key tuple, so "after the last tuple" never skips a row. Only a requested key
   * on a table without a primary key (or on a view) may be false: readers must then finish the group
   * of the last tuple on their own.
   */
  unique: boolean;
}

/** One row's key values, in key column order, as exact text (see the top of this file). */
export type KeyTuple = readonly string[];

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'year']);
const TEMPORAL_TYPES = new Set(['date', 'datetime', 'timestamp', 'time']);
const STRING_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext']);
const BINARY_TYPES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);

function kindOf(dataType: string, charset: string | null): KeyKind {
  if (INTEGER_TYPES.has(dataType)) return 'integer';
  if (dataType === 'decimal') return 'decimal';
  if (TEMPORAL_TYPES.has(dataType)) return 'temporal';
  if (STRING_TYPES.has(dataType)) return charset === null ? 'binary' : 'string';
  if (BINARY_TYPES.has(dataType)) return 'binary';
  // FLOAT/DOUBLE print rounded, ENUM sorts by its number but compares as text, BIT, SET, JSON,
  // spatial: none round-trips as text in the order the index keeps.
  return 'other';
}

export interface ReadTableKeyOptions {
  /** Where the user names the key (sync: 'source.key'), for the messages. */
  configKey?: string;
}

interface IndexInfo {
  name: string;
  unique: boolean;
  columns: string[];
  /** Every column NOT NULL and indexed whole (no prefix): the index orders the full values. */
  whole: boolean;
  /** The columns indexed by a prefix only (`name(10)`), which the index does not order by. */
  prefixed: Set<string>;
}

/**
 * The key to order `table` ('db.table') by: `requested` columns when given (they must lead an index;
 * a non-unique choice is made unique by the primary key's columns, which InnoDB keeps at the end of
 * every secondary index), else the primary key, else the first unique index whose columns are all NOT
 * NULL (fewest columns first, then by name). Refuses, naming the table and the fix, when there is none
 * or when a key column is of a kind no key range can be written for.
 */
export async function readTableKey(connection: mysql.Connection, table: string, requested?: readonly string[], options: ReadTableKeyOptions = {}): Promise<TableKey> {
  const dot = table.indexOf('.');
  const schema = table.slice(0, dot);
  const name = table.slice(dot + 1);
  const prefix = options.configKey === undefined ? '' : `${options.configKey}: `;
  const refuse = (message: string): SluiceError => new SluiceError('SLUICE_TABLE_KEY', prefix + message, { context: { table, ...(options.configKey ? { configKey: options.configKey } : {}) } });

  const [tables] = await connection.query<mysql.RowDataPacket[]>('SELECT TABLE_TYPE AS tableType FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [schema, name]);
  if (tables.length === 0) throw refuse(`${table} does not exist (or this user cannot see it)`);
  const isView = String(tables[0]!.tableType) !== 'BASE TABLE';
  const [columnRows] = await connection.query<mysql.RowDataPacket[]>(
    `SELECT COLUMN_NAME AS name, LOWER(COLUMN_TYPE) AS mysqlType, LOWER(DATA_TYPE) AS dataType,
            CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation, IS_NULLABLE = 'YES' AS nullable
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [schema, name],
  );
  const columns = new Map<string, KeyColumnInfo>();
  for (const row of columnRows) {
    const charset = row.charset === null ? null : String(row.charset);
    const dataType = String(row.dataType);
    const kind = kindOf(dataType, charset);
    columns.set(String(row.name).toLowerCase(), {
      name: String(row.name),
      mysqlType: String(row.mysqlType),
      dataType,
      kind,
      charset: kind === 'string' ? charset : null,
      collation: kind === 'string' && row.collation !== null ? String(row.collation) : null,
      nullable: Number(row.nullable) === 1,
    });
  }
  const indexes = await readIndexes(connection, schema, name, columns);
  const primary = indexes.find((index) => index.name === 'PRIMARY');
  const keyOf = (names: readonly string[], index: string, unique: boolean): TableKey => {
    const keyColumns = names.map((column) => columns.get(column.toLowerCase())!);
    const unfit = keyColumns.find((column) => column.kind === 'other');
    if (unfit) {
      throw refuse(
        `${table}.${unfit.name} is ${unfit.mysqlType}, which sluice cannot order and resume by (keys may be integers, DECIMAL, strings, binary strings and dates/times); ` +
          `${options.configKey ? `set ${options.configKey} to` : 'add a primary key or unique NOT NULL index on'} columns of those kinds`,
      );
    }
    return { columns: keyColumns, index, unique };
  };

  if (requested !== undefined && requested.length > 0) {
    const missing = requested.filter((column) => !columns.has(column.toLowerCase()));
    if (missing.length > 0) throw refuse(`${table} has no column ${missing.map((c) => `'${c}'`).join(', ')} (it has ${[...columns.values()].map((c) => c.name).join(', ')})`);
    const wanted = requested.map((column) => column.toLowerCase());
    if (isView) return keyOf(requested, '', false);
    // A prefix part (`name(10)`) does not order its column: ORDER BY would sort every page.
    const leads = indexes.filter((index) => wanted.every((column, at) => index.columns[at] === column && !index.prefixed.has(column)));
    if (leads.length === 0) {
      throw refuse(
        `${requested.length === 1 ? `${table}.${requested[0]} leads` : `${table} (${requested.join(', ')}) lead`} no index, so every read would sort the whole table; add one (ALTER TABLE ${table} ADD INDEX (${requested.join(', ')})) or choose indexed columns`,
      );
    }
    const exact = leads.find((index) => index.unique && index.whole && index.columns.length === wanted.length);
    if (exact) return keyOf(requested, exact.name, true);
    const index = leads.find((candidate) => candidate.name === 'PRIMARY') ?? leads[0]!;
    if (primary?.whole) {
      const rest = primary.columns.filter((column) => !wanted.includes(column));
      return keyOf([...requested, ...rest.map((column) => columns.get(column)!.name)], index.name, true);
    }
    return keyOf(requested, index.name, false);
  }

  const candidates = [...(primary?.whole ? [primary] : []), ...indexes.filter((index) => index.unique && index.whole && index !== primary).sort((a, b) => a.columns.length - b.columns.length || a.name.localeCompare(b.name))];
  const usable = candidates.find((index) => index.columns.every((column) => columns.get(column)!.kind !== 'other'));
  if (usable) return keyOf(usable.columns.map((column) => columns.get(column)!.name), usable.name, true);
  if (candidates.length > 0) return keyOf(candidates[0]!.columns.map((column) => columns.get(column)!.name), candidates[0]!.name, true);
  throw refuse(
    `${table} has no primary key or unique index over whole NOT NULL columns, so its rows cannot be read in a resumable order; ` +
      `add one (ALTER TABLE ${table} ADD PRIMARY KEY (...))${options.configKey ? ` or set ${options.configKey} to indexed columns` : ''}`,
  );
}

async function readIndexes(connection: mysql.Connection, schema: string, table: string, columns: Map<string, { nullable: boolean }>): Promise<IndexInfo[]> {
  const [rows] = await connection.query<mysql.RowDataPacket[]>(
    `SELECT INDEX_NAME AS indexName, NON_UNIQUE AS nonUnique, SEQ_IN_INDEX AS seq, COLUMN_NAME AS columnName, SUB_PART AS subPart
       FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
    [schema, table],
  );
  const byName = new Map<string, IndexInfo>();
  for (const row of rows) {
    const indexName = String(row.indexName);
    const entry = byName.get(indexName) ?? { name: indexName, unique: Number(row.nonUnique) === 0, columns: [], whole: true, prefixed: new Set<string>() };
    // A functional index part (MySQL 8) has no column name: the index then orders no column.
    const column = row.columnName === null ? '' : String(row.columnName).toLowerCase();
    entry.columns[Number(row.seq) - 1] = column;
    if (row.subPart !== null) entry.prefixed.add(column);
    if (row.subPart !== null || !columns.has(column) || columns.get(column)!.nullable) entry.whole = false;
    byName.set(indexName, entry);
  }
  return [...byName.values()];
}

/** The key's columns, for a SELECT list or an ORDER BY. */
export function keyColumnsSql(key: TableKey): string {
  return key.columns.map((column) => quoteIdentifier(column.name)).join(', ');
}

/** ORDER BY (without the words) that walks the key's index upwards. */
export function orderBySql(key: TableKey): string {
  return key.columns.map((column) => `${quoteIdentifier(column.name)} ASC`).join(', ');
}

/**
 * The key tuple of a row read with the key columns as the last fields (`values`, in key order), in
 * the forms mysql2 gives them: Buffers (exactTypeCast, or any binary column), strings, numbers or bigints.
 */
export function keyTupleFromValues(key: TableKey, values: readonly unknown[]): KeyTuple {
  return key.columns.map((column, index) => keyText(key, column, values[index]));
}

/** The key tuple of a row given as an object by column name. */
export function keyTupleFromRow(key: TableKey, row: Readonly<Record<string, unknown>>): KeyTuple {
  return key.columns.map((column) => keyText(key, column, row[column.name]));
}

function keyText(key: TableKey, column: KeyColumnInfo, value: unknown): string {
  if (value === null || value === undefined) {
    throw new SluiceError('SLUICE_TABLE_KEY', `key column ${column.name} is NULL in a row: a key must be NOT NULL`, { context: { index: key.index } });
  }
  if (Buffer.isBuffer(value)) return column.kind === 'binary' ? value.toString('hex') : value.toString('utf8');
  if (column.kind === 'binary') throw new SluiceError('SLUICE_TABLE_KEY', `key column ${column.name} is binary but was read as ${typeof value}, not as bytes`, { context: { index: key.index } });
  if (typeof value === 'number') {
    // A JS number is exact only up to 2^53; read with bigNumberStrings or exactTypeCast past that.
    if (!Number.isSafeInteger(value)) throw new SluiceError('SLUICE_TABLE_KEY', `key column ${column.name}: ${value} was read as an inexact number; read keys as strings`, { context: { index: key.index } });
    return String(value);
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return value;
  throw new SluiceError('SLUICE_TABLE_KEY', `key column ${column.name}: cannot take a ${Object.prototype.toString.call(value)} as a key value (a Date? read with dateStrings)`, { context: { index: key.index } });
}

const INTEGER_TEXT = /^-?\d+$/;
const DECIMAL_TEXT = /^-?\d+(\.\d+)?$/;
const HEX_TEXT = /^(?:[0-9a-f]{2})*$/;

/**
 * One key value as an SQL literal that the server compares exactly as it compares the column's own
 * values. Numbers are inlined as digits (a quoted string against a BIGINT is compared as a double,
 * wrong past 2^53); text goes as hex of its UTF-8 bytes (no escaping, whatever the sql_mode)
 * converted to the column's character set with its collation.
 */
export function keyLiteral(column: KeyColumnInfo, value: string): string {
  const bad = (what: string): SluiceError =>
    new SluiceError('SLUICE_TABLE_KEY', `key ${column.name}: '${value}' is not ${what}, as a ${column.mysqlType} key value must be`, { context: { keyColumn: column.name } });
  switch (column.kind) {
    case 'integer':
      if (!INTEGER_TEXT.test(value)) throw bad('an integer');
      return value;
    case 'decimal':
      if (!DECIMAL_TEXT.test(value)) throw bad('a decimal number');
      return value;
    case 'binary':
      if (!HEX_TEXT.test(value)) throw bad('lower-case hex');
      return `X'${value}'`;
    case 'string': {
      const utf8 = `_utf8mb4 X'${Buffer.from(value, 'utf8').toString('hex')}'`;
      const inCharset = column.charset === null || column.charset === 'utf8mb4' ? utf8 : `CONVERT(${utf8} USING ${column.charset})`;
      return column.collation === null ? inCharset : `${inCharset} COLLATE ${column.collation}`;
    }
    case 'temporal':
      if (!/^-?[\d :.-]+$/.test(value)) throw bad('a date or time');
      return `'${value}'`;
    default:
      throw bad('of a kind a key can be');
  }
}

function checkTuple(key: TableKey, tuple: KeyTuple, what: string): void {
  if (tuple.length === 0 || tuple.length > key.columns.length) {
    throw new SluiceError('SLUICE_TABLE_KEY', `${what}: a key tuple of ${tuple.length} values for a key of ${key.columns.length} columns (${key.columns.map((c) => c.name).join(', ')})`, {
      context: { index: key.index },
    });
  }
}

/**
 * Rows strictly after `tuple` in key order. A tuple shorter than the key (a prefix) means after every
 * row that starts with it. Expanded as `a > x OR (a = x AND b > y) OR ...`, which the range optimizer
 * turns into one interval of the index.
 */
export function afterKeySql(key: TableKey, tuple: KeyTuple): string {
  checkTuple(key, tuple, 'after');
  return expand(key, tuple, '>', '>');
}

/** Rows at or before `tuple` in key order (a prefix tuple: every row that starts with it, too). */
export function atOrBeforeKeySql(key: TableKey, tuple: KeyTuple): string {
  checkTuple(key, tuple, 'at or before');
  return expand(key, tuple, '<', '<=');
}

/** Rows whose key equals `tuple` (as the server compares: under a _ci collation, 'a' equals 'A'). */
export function equalKeySql(key: TableKey, tuple: KeyTuple): string {
  checkTuple(key, tuple, 'equal');
  return tuple.map((value, index) => `${quoteIdentifier(key.columns[index]!.name)} = ${keyLiteral(key.columns[index]!, value)}`).join(' AND ');
}

/** Rows in (lower, upper]: after `lower` (absent: from the start), at or before `upper` (absent: to the end). */
export function keyRangeSql(key: TableKey, lower: KeyTuple | undefined, upper: KeyTuple | undefined): string {
  const parts: string[] = [];
  if (lower !== undefined) parts.push(`(${afterKeySql(key, lower)})`);
  if (upper !== undefined) parts.push(`(${atOrBeforeKeySql(key, upper)})`);
  return parts.length === 0 ? 'TRUE' : parts.join(' AND ');
}

function expand(key: TableKey, tuple: KeyTuple, strict: '>' | '<', last: '>' | '<='): string {
  const names = key.columns.map((column) => quoteIdentifier(column.name));
  const literals = tuple.map((value, index) => keyLiteral(key.columns[index]!, value));
  const terms: string[] = [];
  for (let depth = 0; depth < tuple.length; depth++) {
    const equal = literals.slice(0, depth).map((literal, index) => `${names[index]} = ${literal}`);
    const operator = depth === tuple.length - 1 ? last : strict;
    terms.push([...equal, `${names[depth]} ${operator} ${literals[depth]}`].join(' AND '));
  }
  return terms.length === 1 ? terms[0]! : terms.map((term) => `(${term})`).join(' OR ');
}

/**
 * The upper bound of the next chunk of `chunkRows` rows after `after` (absent: from the start): the
 * key of its last row, or undefined when fewer rows than that remain (the chunk runs to the end).
 * One range read of `chunkRows` index entries.
 */
export async function readNextChunkEnd(
  connection: mysql.Connection,
  table: string,
  key: TableKey,
  where: string | undefined,
  after: KeyTuple | undefined,
  chunkRows: number,
): Promise<KeyTuple | undefined> {
  if (!Number.isInteger(chunkRows) || chunkRows < 1) throw new RangeError(`chunkRows must be a positive integer, not ${chunkRows}`);
  const conditions = [...(where === undefined ? [] : [`(${where})`]), ...(after === undefined ? [] : [`(${afterKeySql(key, after)})`])];
  const sql = `SELECT ${keyColumnsSql(key)} FROM ${quoteTable(table)}${conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : ''} ORDER BY ${orderBySql(key)} LIMIT 1 OFFSET ${chunkRows - 1}`;
  const [rows] = await connection.query<mysql.RowDataPacket[][]>({ sql, rowsAsArray: true, typeCast: exactTypeCast });
  const row = (rows as unknown as unknown[][])[0];
  return row === undefined ? undefined : keyTupleFromValues(key, row);
}

/** The key of the table's last row in key order (one step down the index), or undefined when it is empty. */
export async function readLastKey(connection: mysql.Connection, table: string, key: TableKey): Promise<KeyTuple | undefined> {
  const descending = key.columns.map((column) => `${quoteIdentifier(column.name)} DESC`).join(', ');
  const sql = `SELECT ${keyColumnsSql(key)} FROM ${quoteTable(table)} ORDER BY ${descending} LIMIT 1`;
  const [rows] = await connection.query<mysql.RowDataPacket[][]>({ sql, rowsAsArray: true, typeCast: exactTypeCast });
  const row = (rows as unknown as unknown[][])[0];
  return row === undefined ? undefined : keyTupleFromValues(key, row);
}

/**
 * Up to `count - 1` key tuples that split the rows matching `where` into `count` ranges of nearly
 * equal size: range i is (boundary[i-1], boundary[i]], the first from the start, the last to the end.
 * Fewer come back when the table has fewer rows than ranges (or shrinks while it is read). One count
 * and one walk of the index, at most a row more than the table.
 */
export async function readKeyBoundaries(connection: mysql.Connection, table: string, key: TableKey, where: string | undefined, count: number): Promise<KeyTuple[]> {
  if (count <= 1) return [];
  const [counted] = await connection.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${quoteTable(table)}${where === undefined ? '' : ` WHERE (${where})`}`);
  const total = Number(counted[0]?.n ?? 0);
  const boundaries: KeyTuple[] = [];
  let position = 0;
  let last: KeyTuple | undefined;
  for (let range = 1; range < count; range++) {
    const end = Math.floor((total * range) / count);
    if (end <= position) continue;
    const next = await readNextChunkEnd(connection, table, key, where, last, end - position);
    if (next === undefined) break;
    boundaries.push(next);
    last = next;
    position = end;
  }
  return boundaries;
}

/**
 * Compares two key tuples as the server orders them (in each string column's collation): -1, 0 or 1.
 * For a snapshot that must tell on which side of a chunk bound a changed row's key lies.
 */
export async function compareKeyTuples(connection: mysql.Connection, key: TableKey, a: KeyTuple, b: KeyTuple): Promise<-1 | 0 | 1> {
  const parts = key.columns.map((column, index) => {
    const left = typedLiteral(column, a[index]!);
    const right = typedLiteral(column, b[index]!);
    return `WHEN ${left} < ${right} THEN -1 WHEN ${left} > ${right} THEN 1`;
  });
  const [rows] = await connection.query<mysql.RowDataPacket[]>(`SELECT CASE ${parts.join(' ')} ELSE 0 END AS verdict`);
  return Number(rows[0]!.verdict) as -1 | 0 | 1;
}

// Two literals compare as the column's values only if typed as the column is: temporal text would
// otherwise compare as text ('2026-01-01' < '2026-01-01 00:00:00').
function typedLiteral(column: KeyColumnInfo, value: string): string {
  const literal = keyLiteral(column, value);
  if (column.kind !== 'temporal') return literal;
  const type = column.dataType === 'date' ? 'DATE' : column.dataType === 'time' ? 'TIME(6)' : 'DATETIME(6)';
  return `CAST(${literal} AS ${type})`;
}
