// Reads back what the daemon committed, file by file (as a Hive reader would: the partitions the
// catalog lists, visible files only), and checks it against the workload without holding the rows.
// The catalog and the file system are the daemon's own kinds (local or HiveServer2, local disk or
// WebHDFS), so a run on HDFS is read back over WebHDFS. Text files are decoded with sluice's Hive text
// codec; Parquet files are read by DuckDB (read_parquet on a local copy), an independent reader.
//
// Every row is compared value by value with the workload (checkRow), every _seq must appear once in
// 1..total, and the ids of each kind of change must add up to the workload's checksum of them.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBBlobValue, DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { Catalog, TableDefinition } from '../src/catalog/catalog.ts';
import type { CellValue } from '../src/core/change-event.ts';
import type { FileSystem } from '../src/filesystem/filesystem.ts';
import { decodeLine } from '../src/sinks/hive-text-codec.ts';
import { addId, checkRow, emptyChecksum, formatChecksum, OPS, sameChecksum, totalOf, type IdChecksum, type OpCounts } from './workload.ts';

export interface Expected {
  counts: OpCounts;
  ids: IdChecksum;
}

export interface VerifyResult {
  format: string;
  rows: number;
  counts: OpCounts;
  /** The committed ids, by kind of change (see workload.ts); `ok` needs it equal to the workload's. */
  checksum: string;
  checksumOk: boolean;
  files: number;
  bytes: number;
  /** Row values that differ from the workload, sequence numbers seen twice or outside 1..expected. */
  problems: string[];
  problemCount: number;
  ok: boolean;
  seconds: number;
  /** Of `seconds`, the time spent fetching the files (readFile: WebHDFS OPEN, or local reads). */
  readSeconds: number;
}

export interface VerifyOptions {
  catalog: Catalog;
  fs: FileSystem;
  database: string;
  table: string;
  expected: Expected;
}

export async function verifyCommitted(options: VerifyOptions): Promise<VerifyResult> {
  const { catalog, fs, database, table, expected } = options;
  const started = performance.now();
  let readMs = 0;
  const definition = await catalog.getTable(database, table);
  const problems: string[] = [];
  let problemCount = 0;
  const problem = (text: string): void => {
    problemCount++;
    if (problems.length < 10) problems.push(text);
  };
  const counts: OpCounts = { insert: 0, update: 0, delete: 0 };
  const ids = emptyChecksum();
  const total = totalOf(expected.counts);
  let rows = 0;
  let files = 0;
  let bytes = 0;
  if (!definition) {
    problem(`table ${database}.${table} is not in the catalog`);
  } else {
    const index = (name: string): number => definition.columns.findIndex((column) => column.name === name);
    const opAt = index('_op');
    const seqAt = index('_seq');
    // Sequence numbers restart at 1 for a configured start: each must appear exactly once in 1..total.
    const seen = new Uint8Array(total + 1);
    const checkValues = (values: CellValue[]): void => {
      rows++;
      const op = String(values[opAt]);
      if (op === 'insert' || op === 'update' || op === 'delete') {
        counts[op]++;
        const id = Number(values[0]);
        if (Number.isSafeInteger(id)) addId(ids, op, id);
      } else problem(`row with _op ${op}`);
      const seq = Number(values[seqAt]);
      if (!Number.isSafeInteger(seq) || seq < 1 || seq > total) problem(`_seq ${String(values[seqAt])} outside 1..${total}`);
      else if (seen[seq] === 1) problem(`_seq ${seq} appears twice`);
      else seen[seq] = 1;
      const wrong = checkRow(op, values);
      if (wrong) problem(wrong);
    };
    const read = await forEachCommittedRow({ catalog, fs, database, table, definition }, checkValues, (path) => problem(`${path} does not end with a newline`));
    files = read.files;
    bytes = read.bytes;
    readMs = read.readMs;
  }
  for (const op of OPS) {
    if (counts[op] !== expected.counts[op]) problem(`${counts[op]} ${op} rows committed, expected ${expected.counts[op]}`);
  }
  if (rows !== total) problem(`${rows} rows committed, expected ${total}`);
  const checksumOk = sameChecksum(ids, expected.ids);
  if (!checksumOk) problem(`id checksum ${formatChecksum(ids)}, expected ${formatChecksum(expected.ids)}`);
  return {
    format: definition?.format ?? 'unknown',
    rows,
    counts,
    checksum: formatChecksum(ids),
    checksumOk,
    files,
    bytes,
    problems,
    problemCount,
    ok: problemCount === 0,
    seconds: (performance.now() - started) / 1000,
    readSeconds: readMs / 1000,
  };
}

/**
 * Every row a table's committed files hold, as a Hive reader sees them (the partitions the catalog
 * lists, visible files only), one file at a time: text decoded with sluice's codec, Parquet by DuckDB.
 */
export async function forEachCommittedRow(
  where: { catalog: Catalog; fs: FileSystem; database: string; table: string; definition: TableDefinition },
  onRow: (values: CellValue[]) => void,
  onUnterminated: (path: string) => void = () => {},
): Promise<{ files: number; bytes: number; readMs: number }> {
  const { catalog, fs, database, table, definition } = where;
  const types = definition.columns.map((column) => column.type);
  const parquet = definition.format === 'parquet' ? await ParquetReader.open(definition) : undefined;
  let files = 0;
  let bytes = 0;
  let readMs = 0;
  try {
    for (const partition of await catalog.listPartitions(database, table)) {
      for (const file of await fs.list(partition.location)) {
        const name = file.path.slice(file.path.lastIndexOf('/') + 1);
        if (file.type !== 'file' || name.startsWith('.') || name.startsWith('_')) continue;
        const readStarted = performance.now();
        const content = await fs.readFile(file.path);
        readMs += performance.now() - readStarted;
        files++;
        bytes += content.length;
        if (parquet) {
          await parquet.forEachRow(content, onRow);
          continue;
        }
        let start = 0;
        for (let end = content.indexOf(0x0a); end !== -1; end = content.indexOf(0x0a, start)) {
          onRow(decodeLine(content.subarray(start, end), types));
          start = end + 1;
        }
        if (start < content.length) onUnterminated(file.path);
      }
    }
  } finally {
    await parquet?.close();
  }
  return { files, bytes, readMs };
}

/**
 * Parquet through DuckDB: each file is copied to a local temp file (it may come from HDFS) and read
 * with read_parquet, the values cast to the text the Hive text codec gives for the same column, so
 * that checkRow compares both formats alike.
 */
class ParquetReader {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly dir: string,
    private readonly select: string,
  ) {}

  static async open(definition: TableDefinition): Promise<ParquetReader> {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-verify-'));
    const select = definition.columns.map((column) => selectExpression(column.name, column.type)).join(', ');
    return new ParquetReader(instance, connection, dir, select);
  }

  async forEachRow(content: Buffer, onRow: (values: CellValue[]) => void): Promise<void> {
    const file = join(this.dir, 'file.parquet');
    await writeFile(file, content);
    const result = await this.connection.stream(`SELECT ${this.select} FROM read_parquet('${file.replace(/'/g, "''")}')`);
    for await (const chunk of result.yieldRows()) {
      for (const row of chunk) onRow(row.map(toCell));
    }
  }

  async close(): Promise<void> {
    this.connection.closeSync();
    this.instance.closeSync();
    await rm(this.dir, { recursive: true, force: true });
  }
}

function selectExpression(name: string, hiveType: string): string {
  const column = `"${name.replace(/"/g, '""')}"`;
  const type = hiveType.trim().toLowerCase();
  // Binary stays bytes; doubles stay numbers (String() of a double is exact); the rest becomes text.
  if (type === 'binary' || type === 'double' || type === 'float') return column;
  // DATETIME(6) as the binlog gives it: always six fractional digits (DuckDB's own text drops zeros).
  if (type === 'timestamp') return `strftime(${column}, '%Y-%m-%d %H:%M:%S.%f')`;
  return `CAST(${column} AS VARCHAR)`;
}

function toCell(value: unknown): CellValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (value instanceof DuckDBBlobValue) return Buffer.from(value.bytes);
  return String(value);
}

/**
 * A table loaded from a workload of N inserts (a snapshot's `read` rows, a topic's `insert`s): every
 * id 1..N exactly once, each of `op`, nothing else, and the ids' sum as a last cross-check.
 */
export async function checkEveryIdOnce(where: { catalog: Catalog; fs: FileSystem; database: string; table: string; rows: number; op: string }): Promise<{ ok: boolean; text: string }> {
  const { catalog, fs, database, table, rows, op } = where;
  const definition = await catalog.getTable(database, table);
  if (!definition) return { ok: false, text: `${database}.${table} is not in the catalog` };
  const idAt = definition.columns.findIndex((column) => column.name === 'id');
  const opAt = definition.columns.findIndex((column) => column.name === '_op');
  const seen = new Uint8Array(rows + 1);
  let matching = 0;
  let others = 0;
  let twice = 0;
  let outside = 0;
  let idSum = 0n;
  const { files, bytes } = await forEachCommittedRow({ catalog, fs, database, table, definition }, (values) => {
    if (values[opAt] !== op) return void others++;
    matching++;
    const id = Number(values[idAt]);
    idSum += BigInt(id);
    if (!Number.isSafeInteger(id) || id < 1 || id > rows) outside++;
    else if (seen[id] === 1) twice++;
    else seen[id] = 1;
  });
  const expectedSum = (BigInt(rows) * BigInt(rows + 1)) / 2n;
  const ok = matching === rows && others === 0 && twice === 0 && outside === 0 && idSum === expectedSum;
  const count = (value: number): string => value.toLocaleString('en-US');
  const text =
    `${count(matching)} ${op} rows${others ? `, ${count(others)} others` : ''}${twice ? `, ${count(twice)} ids twice` : ''}${outside ? `, ${count(outside)} ids outside 1..N` : ''}, ` +
    `id sum ${idSum === expectedSum ? 'OK' : `${idSum} != ${expectedSum}`} (${files} files, ${(bytes / 1048576).toFixed(1)} MiB)`;
  return { ok, text };
}
