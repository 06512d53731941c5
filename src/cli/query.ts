// `sluice query`: look at what landed, the way Hive would see it. Reads the committed files of the
// catalog's tables through the FileSystem (so it works the same on local disk and on HDFS), loads
// them into an in-memory DuckDB, and runs SQL there.
//
// Only what Hive would read is loaded: the partitions the catalog lists (a partition directory
// exists before its ADD PARTITION commit step), and in each only visible files: names starting with
// '.' or '_' are staging or markers, skipped by Hive's and Hadoop's hidden-file filter.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import type { Catalog, TableDefinition } from '../catalog/catalog.ts';
import { SluiceError } from '../core/errors.ts';
import type { FileSystem } from '../filesystem/filesystem.ts';
import { decodeRows } from '../sinks/hive-text-codec.ts';
import { shortestFloat32 } from '../sources/binlog/decode/cell-decoder.ts';

export interface QueryOptions {
  catalog: Catalog;
  fs: FileSystem;
  /** SQL over tables named `db.table`; without it, the first rows of `table`. */
  sql?: string;
  /** 'db.table': load only this table. */
  table?: string;
  /** Rows of `table` to show when no `sql` is given (default 100); SQL carries its own LIMIT. */
  limit?: number;
}

export interface QueryResult {
  columns: string[];
  /** Every value as text (exact for decimals and 64-bit integers, '0x…' hex for bytes) or null. */
  rows: (string | null)[][];
}

const DEFAULT_LIMIT = 100;

export async function queryWarehouse(options: QueryOptions): Promise<QueryResult> {
  if (options.sql === undefined && options.table === undefined) {
    throw new SluiceError('SLUICE_QUERY', 'nothing to query: give a table (db.table) or an SQL statement');
  }
  const tables = await tablesToLoad(options);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    for (const table of tables) await loadTable(connection, table, options.catalog, options.fs);
    const sql = options.sql ?? defaultSql(tables[0]!);
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
    return { columns, rows: rows.map((row) => row.map((value, index) => toText(value, floats[index] ?? false))) };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function tablesToLoad(options: QueryOptions): Promise<TableDefinition[]> {
  if (options.table === undefined) return options.catalog.listTables();
  const dot = options.table.indexOf('.');
  if (dot <= 0) throw new SluiceError('SLUICE_QUERY', `table '${options.table}' must be given as db.table`);
  const table = await options.catalog.getTable(options.table.slice(0, dot), options.table.slice(dot + 1));
  if (!table) {
    const known = (await options.catalog.listTables()).map((t) => `${t.database}.${t.name}`);
    throw new SluiceError(
      'SLUICE_QUERY',
      `table ${options.table} is not in ${options.catalog.description}` + (known.length ? `; known tables: ${known.join(', ')}` : '; it has no tables yet'),
      { context: { table: options.table } },
    );
  }
  return [table];
}

function defaultSql(table: TableDefinition): string {
  // Changelog tables carry _seq, which orders the changes; other tables come in file order.
  const order = table.columns.some((column) => column.name === '_seq') ? ' ORDER BY _seq' : '';
  return `SELECT * FROM ${qualified(table)}${order}`;
}

function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

function qualified(table: TableDefinition): string {
  return `${quote(table.database)}.${quote(table.name)}`;
}

/** The DuckDB type that holds every value of a Hive type exactly. */
export function duckDbTypeFor(hiveType: string): string {
  const type = hiveType.trim().toLowerCase();
  const decimal = /^decimal\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?$/.exec(type);
  // Hive's bare DECIMAL is DECIMAL(10,0).
  if (decimal) return `DECIMAL(${decimal[1] ?? 10},${decimal[2] ?? 0})`;
  if (/^(varchar|char)\s*\(/.test(type)) return 'VARCHAR';
  const simple: Record<string, string> = {
    tinyint: 'TINYINT',
    smallint: 'SMALLINT',
    int: 'INTEGER',
    integer: 'INTEGER',
    bigint: 'BIGINT',
    float: 'FLOAT',
    double: 'DOUBLE',
    'double precision': 'DOUBLE',
    boolean: 'BOOLEAN',
    string: 'VARCHAR',
    binary: 'BLOB',
    date: 'DATE',
    // Hive timestamps carry nanoseconds.
    timestamp: 'TIMESTAMP_NS',
  };
  // Complex types (array, map, struct) stay their Hive text; sluice does not write them.
  return simple[type] ?? 'VARCHAR';
}

async function loadTable(connection: DuckDBConnection, table: TableDefinition, catalog: Catalog, fs: FileSystem): Promise<void> {
  const columns = [
    ...table.columns.map((column) => `${quote(column.name)} ${duckDbTypeFor(column.type)}`),
    ...table.partitionColumns.map((column) => `${quote(column.name)} VARCHAR`),
  ];
  await connection.run(`CREATE SCHEMA IF NOT EXISTS ${quote(table.database)}`);
  await connection.run(`CREATE TABLE ${qualified(table)} (${columns.join(', ')})`);

  const locations =
    table.partitionColumns.length === 0
      ? [{ location: table.location, values: [] as string[] }]
      : (await catalog.listPartitions(table.database, table.name)).map((partition) => ({
          location: partition.location,
          values: table.partitionColumns.map((column) => partition.values[column.name] ?? ''),
        }));
  for (const { location, values } of locations) {
    // Hive reads the files directly in a location, not in subdirectories.
    const files = (await fs.list(location)).filter((status) => status.type === 'file' && isVisible(status.path));
    for (const file of files) {
      const content = await fs.readFile(file.path);
      if (table.format === 'parquet') await loadParquet(connection, table, content, values, file.path);
      else await loadText(connection, table, content, values, file.path);
    }
  }
}

function isVisible(path: string): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1);
  return !name.startsWith('.') && !name.startsWith('_');
}

async function loadText(
  connection: DuckDBConnection,
  table: TableDefinition,
  content: Buffer,
  partitionValues: string[],
  path: string,
): Promise<void> {
  const hiveTypes = table.columns.map((column) => column.type);
  const blob = hiveTypes.map((type) => duckDbTypeFor(type) === 'BLOB');
  const appender: DuckDBAppender = await connection.createAppender(table.name, table.database);
  let line = 0;
  try {
    for (const row of decodeRows(content, hiveTypes)) {
      line++;
      for (let index = 0; index < row.length; index++) {
        const value = row[index];
        try {
          if (value === null || value === undefined) appender.appendNull();
          else if (blob[index]) appender.appendBlob(typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
          // DuckDB casts the text to the column type, exactly (decimals included).
          else appender.appendVarchar(typeof value === 'string' ? value : value.toString('utf8'));
        } catch (error) {
          throw new SluiceError(
            'SLUICE_QUERY',
            `${path} line ${line}: column ${table.columns[index]?.name} (${hiveTypes[index]}) cannot hold ${JSON.stringify(value)}: ${(error as Error).message}`,
            { cause: error, context: { file: path, line, table: `${table.database}.${table.name}` } },
          );
        }
      }
      for (const value of partitionValues) appender.appendVarchar(value);
      appender.endRow();
    }
  } finally {
    appender.closeSync();
  }
}

async function loadParquet(connection: DuckDBConnection, table: TableDefinition, content: Buffer, partitionValues: string[], path: string): Promise<void> {
  // DuckDB reads Parquet from a path; the FileSystem may be HDFS, so the bytes go through a temp file.
  const dir = await mkdtemp(join(tmpdir(), 'sluice-query-'));
  try {
    const file = join(dir, 'data.parquet');
    await writeFile(file, content);
    const source = `read_parquet('${file.replace(/'/g, "''")}')`;
    // Hive reads Parquet columns by name: a file written before an ADD COLUMNS lacks the new ones,
    // which read as NULL.
    const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`);
    const present = new Set(described.getRowObjects().map((row) => String(row.column_name).toLowerCase()));
    const names = table.columns.map((column) => (present.has(column.name.toLowerCase()) ? quote(column.name) : `NULL AS ${quote(column.name)}`));
    const partitions = table.partitionColumns.map((column, index) => `$${index + 1}::VARCHAR AS ${quote(column.name)}`);
    await connection.run(`INSERT INTO ${qualified(table)} SELECT ${[...names, ...partitions].join(', ')} FROM ${source}`, partitionValues);
  } catch (error) {
    throw new SluiceError('SLUICE_QUERY', `${path} cannot be read as a file of ${table.database}.${table.name}: ${(error as Error).message}`, {
      cause: error,
      context: { file: path, table: `${table.database}.${table.name}` },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
