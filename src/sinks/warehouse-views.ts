// The warehouse's tables as DuckDB views over their committed files, so that a query reads only the
// files of the tables it scans, when it scans them: nothing is loaded up front.
//
// Only what Hive would read is in a view: the partitions the catalog lists (a partition directory
// exists before its ADD PARTITION commit step), and in each only visible files: names starting with
// '.' or '_' are staging or markers, skipped by Hive's and Hadoop's hidden-file filter.
//
// On local disk the views name the files where they are. Any other FileSystem (HDFS) is not a path
// DuckDB can open, so the files of the tables a view is made for are copied to a temp directory first.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Catalog, TableDefinition } from '../catalog/catalog.ts';
import { SluiceError } from '../core/errors.ts';
import type { FileSystem } from '../filesystem/filesystem.ts';
import { LocalFileSystem } from '../filesystem/local-filesystem.ts';

export function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

export function qualified(table: TableDefinition): string {
  return `${quote(table.database)}.${quote(table.name)}`;
}

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
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

/**
 * The catalog's tables whose name occurs in `sql` as a word (case-insensitive, quoted or not). A table
 * a statement reads is named in its text, so this never leaves one out; a name that occurs only in a
 * string or a column costs a view that is never scanned, which reads nothing.
 */
export function tablesNamedIn<T extends TableDefinition>(sql: string, tables: T[]): T[] {
  const lower = sql.toLowerCase();
  const words = new Set(lower.match(/[\p{L}\p{N}_$]+/gu) ?? []);
  return tables.filter((table) => {
    const name = table.name.toLowerCase();
    return /^[\p{L}\p{N}_$]+$/u.test(name) ? words.has(name) : lower.includes(name);
  });
}

export interface ViewOptions {
  /**
   * Text tables only: each row's line as written, in the column `__sluice_line` (NULL in the view of a
   * Parquet table), so a fold can write out the rows it keeps byte for byte.
   */
  rawLine?: boolean;
}

/** The column `rawLine` adds. */
export const RAW_LINE = '__sluice_line';

/** Creates `db.table` as a view over the table's committed files. `scratch` holds copies of non-local files. */
export async function createTableView(
  connection: DuckDBConnection,
  table: TableDefinition,
  catalog: Catalog,
  fs: FileSystem,
  scratch: () => Promise<string>,
  options: ViewOptions = {},
): Promise<void> {
  const parts: string[] = [];
  const locations =
    table.partitionColumns.length === 0
      ? [{ location: table.location, values: [] as string[] }]
      : (await catalog.listPartitions(table.database, table.name)).map((partition) => ({
          location: partition.location,
          values: table.partitionColumns.map((column) => partition.values[column.name] ?? ''),
        }));
  for (const { location, values } of locations) {
    // Hive reads the files directly in a location, not in subdirectories.
    const statuses = (await fs.list(location)).filter((status) => status.type === 'file' && isVisible(status.path));
    if (statuses.length === 0) continue;
    const paths = await localPaths(fs, statuses.map((status) => status.path), scratch);
    const partitions = table.partitionColumns.map((column, index) => `${literal(values[index] ?? '')}::VARCHAR AS ${quote(column.name)}`);
    const longestFile = Math.max(...statuses.map((status) => status.length));
    const select = table.format === 'parquet' ? await parquetSelect(connection, table, paths) : textSelect(table, paths, longestFile);
    const line = options.rawLine ? [table.format === 'parquet' ? `NULL::VARCHAR AS ${quote(RAW_LINE)}` : `coalesce(line, '') AS ${quote(RAW_LINE)}`] : [];
    parts.push(`SELECT ${[...select.columns, ...partitions, ...line].join(', ')} FROM ${select.from}`);
  }
  if (parts.length === 0) parts.push(`SELECT ${[...allColumns(table, () => 'NULL'), ...(options.rawLine ? [`NULL::VARCHAR AS ${quote(RAW_LINE)}`] : [])].join(', ')} WHERE false`);
  await connection.run(`CREATE SCHEMA IF NOT EXISTS ${quote(table.database)}`);
  await connection.run(`CREATE VIEW ${qualified(table)} AS ${parts.join(' UNION ALL ')}`);
}

function allColumns(table: TableDefinition, value: (index: number) => string): string[] {
  return [
    ...table.columns.map((column, index) => `CAST(${value(index)} AS ${duckDbTypeFor(column.type)}) AS ${quote(column.name)}`),
    ...table.partitionColumns.map((column) => `NULL::VARCHAR AS ${quote(column.name)}`),
  ];
}

function isVisible(path: string): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1);
  return !name.startsWith('.') && !name.startsWith('_');
}

async function localPaths(fs: FileSystem, files: string[], scratch: () => Promise<string>): Promise<string[]> {
  if (fs instanceof LocalFileSystem) return files.map((file) => fs.localPath(file));
  const dir = await scratch();
  const out: string[] = [];
  for (const file of files) {
    const copy = join(dir, `${out.length}-${file.slice(file.lastIndexOf('/') + 1)}`);
    await writeFile(copy, await fs.readFile(file));
    out.push(copy);
  }
  return out;
}

function fileList(paths: string[]): string {
  return `[${paths.map(literal).join(', ')}]`;
}

// Hive's text format (sinks/hive-text-codec.ts): rows end at \n, which never occurs inside a row (it is
// written `\n`). DuckDB reads each row whole as one column: the "delimiter" \x02\x02 cannot occur,
// since every \x02 in a value is written behind a backslash; quotes, escapes and comments are off.
// Fields are then split at each \x01 not behind a backslash, `\N` is NULL (compared before unescaping),
// and `\n` -> LF, `\r` -> CR, `\x` -> x in one pass. A row with fewer fields reads the missing ones as
// NULL, like Hive after ADD COLUMNS. Binary is base64. DuckDB reads an empty line as NULL: it is one
// empty field (a one-column table's '').
const FIELDS = String.raw`regexp_extract_all(coalesce(line, ''), '(?:^|\x01)((?:[^\x01\\]|\\[\s\S])*)', 1)`;

function unescaped(field: string): string {
  return String.raw`CASE WHEN ${field} = '\N' THEN NULL ELSE array_to_string(list_transform(regexp_extract_all(${field}, '\\[\s\S]|[^\\]+'), t -> CASE WHEN t = '\n' THEN chr(10) WHEN t = '\r' THEN chr(13) WHEN t[1] = '\' THEN t[2:] ELSE t END), '') END`;
}

/** DuckDB's own limit on a CSV line; a longer one fails the whole read. */
const DUCKDB_MAX_LINE_SIZE = 2 * 1024 * 1024;

function textSelect(table: TableDefinition, paths: string[], longestFile: number): { columns: string[]; from: string } {
  const columns = table.columns.map((column, index) => {
    const value = unescaped(`f[${index + 1}]`);
    const type = duckDbTypeFor(column.type);
    return type === 'BLOB' ? `from_base64(${value}) AS ${quote(column.name)}` : `CAST(${value} AS ${type}) AS ${quote(column.name)}`;
  });
  // A row holds whole values (a LONGBLOB is up to 4 GiB), far past DuckDB's 2 MiB line limit, and no
  // line is longer than its file: the limit is raised to the largest file only where that is larger,
  // with a buffer of the same size (DuckDB's default is 16 lines; it allocates at most a file's size).
  const lineSize = Math.max(DUCKDB_MAX_LINE_SIZE, longestFile + 1);
  const sizes = lineSize > DUCKDB_MAX_LINE_SIZE ? `, max_line_size=${lineSize}, buffer_size=${lineSize}` : '';
  const lines =
    `read_csv(${fileList(paths)}, columns={'line': 'VARCHAR'}, delim='\x02\x02', quote='', escape='', comment='', ` +
    `header=false, auto_detect=false, new_line='\\n', skip=0${sizes})`;
  return { columns, from: `(SELECT line, ${FIELDS} AS f FROM ${lines})` };
}

async function parquetSelect(connection: DuckDBConnection, table: TableDefinition, paths: string[]): Promise<{ columns: string[]; from: string }> {
  const from = `read_parquet(${fileList(paths)}, union_by_name=true)`;
  let present: Set<string>;
  try {
    // Only the footers: Hive reads Parquet columns by name, and a file written before an ADD COLUMNS
    // lacks the new ones, which read as NULL.
    const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${from}`);
    present = new Set(described.getRowObjects().map((row) => String(row.column_name).toLowerCase()));
  } catch (error) {
    throw new SluiceError('SLUICE_QUERY', `the Parquet files of ${table.database}.${table.name} cannot be read: ${(error as Error).message}`, {
      cause: error,
      context: { table: `${table.database}.${table.name}` },
    });
  }
  const columns = table.columns.map(
    (column) => `CAST(${present.has(column.name.toLowerCase()) ? quote(column.name) : 'NULL'} AS ${duckDbTypeFor(column.type)}) AS ${quote(column.name)}`,
  );
  return { columns, from };
}

export async function withScratch<T>(run: (scratch: () => Promise<string>) => Promise<T>): Promise<T> {
  let dir: string | undefined;
  try {
    return await run(async () => (dir ??= await mkdtemp(join(tmpdir(), 'sluice-query-'))));
  } finally {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
}
