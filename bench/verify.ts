// Reads back what the daemon committed, file by file (as a Hive reader would: the partitions the
// catalog lists, visible files only), and checks it against the workload without holding the rows.
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { decodeLine } from '../src/sinks/hive-text-codec.ts';
import { checkRow, totalOf, type OpCounts } from './workload.ts';

export interface VerifyResult {
  rows: number;
  counts: OpCounts;
  files: number;
  bytes: number;
  /** Row values that differ from the workload, sequence numbers seen twice or outside 1..expected. */
  problems: string[];
  problemCount: number;
  ok: boolean;
  seconds: number;
}

export async function verifyCommitted(catalogDir: string, warehouse: string, database: string, table: string, expected: OpCounts): Promise<VerifyResult> {
  const started = performance.now();
  const catalog = new LocalCatalog(catalogDir);
  const fs = new LocalFileSystem(warehouse);
  const definition = await catalog.getTable(database, table);
  const problems: string[] = [];
  let problemCount = 0;
  const problem = (text: string): void => {
    problemCount++;
    if (problems.length < 10) problems.push(text);
  };
  const counts: OpCounts = { insert: 0, update: 0, delete: 0 };
  const total = totalOf(expected);
  let rows = 0;
  let files = 0;
  let bytes = 0;
  if (!definition) {
    problem(`table ${database}.${table} is not in the catalog`);
  } else {
    const types = definition.columns.map((column) => column.type);
    const index = (name: string): number => definition.columns.findIndex((column) => column.name === name);
    const opAt = index('_op');
    const seqAt = index('_seq');
    // Sequence numbers restart at 1 for a configured start: each must appear exactly once in 1..total.
    const seen = new Uint8Array(total + 1);
    for (const partition of await catalog.listPartitions(database, table)) {
      for (const file of await fs.list(partition.location)) {
        const name = file.path.slice(file.path.lastIndexOf('/') + 1);
        if (file.type !== 'file' || name.startsWith('.') || name.startsWith('_')) continue;
        const content = await fs.readFile(file.path);
        files++;
        bytes += content.length;
        let start = 0;
        for (let end = content.indexOf(0x0a); end !== -1; end = content.indexOf(0x0a, start)) {
          const values = decodeLine(content.subarray(start, end), types);
          start = end + 1;
          rows++;
          const op = String(values[opAt]);
          if (op === 'insert' || op === 'update' || op === 'delete') counts[op]++;
          else problem(`row with _op ${op}`);
          const seq = Number(values[seqAt]);
          if (!Number.isSafeInteger(seq) || seq < 1 || seq > total) problem(`_seq ${String(values[seqAt])} outside 1..${total}`);
          else if (seen[seq] === 1) problem(`_seq ${seq} appears twice`);
          else seen[seq] = 1;
          const wrong = checkRow(op, values);
          if (wrong) problem(wrong);
        }
      }
    }
  }
  for (const op of ['insert', 'update', 'delete'] as const) {
    if (counts[op] !== expected[op]) problem(`${counts[op]} ${op} rows committed, expected ${expected[op]}`);
  }
  if (rows !== total) problem(`${rows} rows committed, expected ${total}`);
  return { rows, counts, files, bytes, problems, problemCount, ok: problemCount === 0, seconds: (performance.now() - started) / 1000 };
}
