// `sluice query`: look at what landed, the way Hive would see it. The catalog's tables become DuckDB
// views over their committed files (../sinks/warehouse-views.ts), made only for the tables the SQL names, so a
// count(*) of a small table never touches a large one; then the SQL runs in an in-memory DuckDB.
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import type { Catalog, TableDefinition } from '../catalog/catalog.ts';
import { metadataNamesOf } from '../catalog/metadata-names.ts';
import { SluiceError } from '../core/errors.ts';
import type { FileSystem } from '../filesystem/filesystem.ts';
import { shortestFloat32 } from '../sources/binlog/decode/cell-decoder.ts';
import { createSnapshotView, DEFAULT_SNAPSHOT_SUFFIX } from '../sinks/snapshot-table.ts';
import { createCurrentView, currentName, currentViewsNamedIn, keyOf, type SnapshotSource } from './query-current.ts';
import { createTableView, qualified, quote, tablesNamedIn, withScratch } from '../sinks/warehouse-views.ts';

export interface QueryOptions {
  catalog: Catalog;
  fs: FileSystem;
  /** SQL over tables named `db.table`; without it, the first rows of `table`. */
  sql?: string;
  /** 'db.table': load only this table. */
  table?: string;
  /** 'db.table': the current state of this changelog table (its view `db.table_current`), instead of `table`. */
  current?: string;
  /** The key columns the current-state views partition by, instead of the one the catalog records. */
  key?: string[];
  /** The suffix of materialized snapshot tables (`sink.materialize.suffix`), which the current-state views read. */
  snapshotSuffix?: string;
  /** Rows of `table` to show when no `sql` is given (default 100); SQL carries its own LIMIT. */
  limit?: number;
  /** Collect the local files DuckDB opened while running the SQL (DuckDB's FileSystem log), into `filesOpened`. */
  traceFiles?: boolean;
}

export interface QueryResult {
  columns: string[];
  /** Every value as text (exact for decimals and 64-bit integers, '0x…' hex for bytes) or null. */
  rows: (string | null)[][];
  /** With `traceFiles`: the paths DuckDB opened, each once. */
  filesOpened?: string[];
}

const DEFAULT_LIMIT = 100;

export async function queryWarehouse(options: QueryOptions): Promise<QueryResult> {
  if (options.sql === undefined && options.table === undefined && options.current === undefined) {
    throw new SluiceError('SLUICE_QUERY', 'nothing to query: give a table (db.table), --current db.table or an SQL statement');
  }
  const { tables, current } = await tablesToLoad(options);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return await withScratch(async (scratch) => {
      for (const table of tables) await createTableView(connection, table, options.catalog, options.fs, scratch);
      for (const table of current) await createCurrentView(connection, table, options.key, await snapshotOf(connection, table, options, scratch));
      if (options.traceFiles) await connection.run("CALL enable_logging('FileSystem')");
      const sql = options.sql ?? (options.current !== undefined ? currentSql(current[0]!, keyOf(current[0]!, options.key) ?? []) : defaultSql(tables[0]!));
      const limit = options.sql === undefined ? (options.limit ?? DEFAULT_LIMIT) : undefined;
      let reader;
      try {
        reader = limit === undefined ? await connection.runAndReadAll(sql) : await connection.runAndReadUntil(sql, limit);
      } catch (error) {
        throw new SluiceError('SLUICE_QUERY', `query failed: ${(error as Error).message}`, { cause: error, context: { sql } });
      }
      const columns = reader.columnNames();
      const floats = reader.columnTypes().map((type) => type.toString() === 'FLOAT');
      const rows = reader.getRows().slice(0, limit ?? Infinity);
      const result: QueryResult = { columns, rows: rows.map((row) => row.map((value, index) => toText(value, floats[index] ?? false))) };
      if (options.traceFiles) {
        const log = await connection.runAndReadAll("SELECT DISTINCT message::JSON->>'path' AS path FROM duckdb_logs WHERE type = 'FileSystem'");
        result.filesOpened = log.getRows().map((row) => String(row[0]));
      }
      return result;
    });
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The tables to make views of, and the changelog tables to make current-state views of (over the former). */
async function tablesToLoad(options: QueryOptions): Promise<{ tables: TableDefinition[]; current: TableDefinition[] }> {
  if (options.current !== undefined) {
    const table = await findTable(options.catalog, options.current);
    return { tables: [table], current: [table] };
  }
  if (options.table !== undefined) return { tables: [await findTable(options.catalog, options.table)], current: [] };
  const all = await options.catalog.listTables();
  const named = tablesNamedIn(options.sql ?? '', all);
  const current = currentViewsNamedIn(options.sql ?? '', all);
  return { tables: [...named, ...current.filter((table) => !named.includes(table))], current };
}

/**
 * The table's materialized snapshot, which its current-state view reads with the changes after it.
 * Not with a `--key` other than the recorded one: the snapshot was folded per the recorded key.
 */
async function snapshotOf(connection: DuckDBConnection, table: TableDefinition, options: QueryOptions, scratch: () => Promise<string>): Promise<SnapshotSource | undefined> {
  const given = options.key;
  if (given !== undefined && given.length > 0 && given.join(',') !== (table.primaryKey ?? []).join(',')) return undefined;
  return createSnapshotView(connection, table, options.catalog, options.fs, scratch, options.snapshotSuffix ?? DEFAULT_SNAPSHOT_SUFFIX);
}

async function findTable(catalog: Catalog, name: string): Promise<TableDefinition> {
  const dot = name.indexOf('.');
  if (dot <= 0) throw new SluiceError('SLUICE_QUERY', `table '${name}' must be given as db.table`);
  const table = await catalog.getTable(name.slice(0, dot), name.slice(dot + 1));
  if (!table) {
    const known = (await catalog.listTables()).map((t) => `${t.database}.${t.name}`);
    throw new SluiceError(
      'SLUICE_QUERY',
      `table ${name} is not in ${catalog.description}` + (known.length ? `; known tables: ${known.join(', ')}` : '; it has no tables yet'),
      { context: { table: name } },
    );
  }
  return table;
}

function currentSql(table: TableDefinition, key: string[]): string {
  return `SELECT * FROM ${quote(table.database)}.${quote(currentName(table))} ORDER BY ${key.map(quote).join(', ')}`;
}

function defaultSql(table: TableDefinition): string {
  // Changelog tables carry _seq, which orders the changes; other tables come in file order.
  const seq = metadataNamesOf(table).seq;
  const order = table.columns.some((column) => column.name === seq) ? ` ORDER BY ${quote(seq)}` : '';
  return `SELECT * FROM ${qualified(table)}${order}`;
}

function toText(value: DuckDBValue, isFloat: boolean): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return isFloat ? shortestFloat32(value) : Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'object' && 'bytes' in value && value.bytes instanceof Uint8Array) {
    return '0x' + Buffer.from(value.bytes.buffer, value.bytes.byteOffset, value.bytes.byteLength).toString('hex');
  }
  // Decimals, dates, timestamps, intervals: DuckDB's own text is exact.
  return String(value);
}

/** An aligned text table for a terminal; control characters are shown escaped so rows stay on one line. */
export function formatRows(result: QueryResult): string {
  const show = (value: unknown): string =>
    value === null || value === undefined
      ? 'NULL'
      : String(value).replace(/[\x00-\x1f\x7f\\]/g, (char) =>
          char === '\\' ? '\\\\' : char === '\n' ? '\\n' : char === '\r' ? '\\r' : char === '\t' ? '\\t' : `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`,
        );
  const cells = result.rows.map((row) => row.map(show));
  const widths = result.columns.map((name, index) => Math.max(width(name), ...cells.map((row) => width(row[index] ?? ''))));
  const line = (values: string[]): string =>
    values
      .map((value, index) => value + ' '.repeat(Math.max(0, (widths[index] ?? 0) - width(value))))
      .join(' | ')
      .trimEnd();
  const out = [line(result.columns), widths.map((size) => '-'.repeat(size)).join('-+-'), ...cells.map(line)];
  out.push(`(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})`);
  return out.join('\n') + '\n';
}

// Terminal columns a string takes: East Asian wide characters and most emoji take two.
function width(text: string): number {
  let total = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (/\p{Mn}|\p{Me}|\u200d|\ufe0f/u.test(char)) continue;
    total += /\p{Extended_Pictographic}/u.test(char) || isWide(code) ? 2 : 1;
  }
  return total;
}

function isWide(code: number): boolean {
  return (
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x20000 && code <= 0x3fffd)
  );
}
