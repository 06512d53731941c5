// Which files of which partitions compaction merges, and into how many files. Pure functions: the
// runner (compaction.ts) lists, merges and commits.
import type { StorageFormat, TableDefinition } from '../catalog/catalog.ts';
import type { FileStatus } from '../filesystem/filesystem.ts';
import { metadataNamesOf, metadataNameSet } from '../catalog/metadata-names.ts';

/** `sink.compaction` in the configuration. */
export interface CompactionSettings {
  enabled: boolean;
  /** node-cron expression (5 fields, or 6 with seconds), evaluated in UTC. */
  schedule: string;
  /** A partition is closed once its UTC day ended more than this many hours ago. */
  closedAfterHours: number;
  /** A closed partition is compacted when it holds at least this many small files. */
  minFiles: number;
  /** A file smaller than this (and than `sink.rollBytes`) is small. */
  smallFileBytes: number;
  /** At most this many partitions per run, so the stream is not held up long. */
  maxPartitionsPerRun: number;
}

export const DEFAULT_COMPACTION: CompactionSettings = {
  enabled: true,
  schedule: '17 * * * *',
  closedAfterHours: 2,
  minFiles: 4,
  smallFileBytes: 64 * 1024 * 1024,
  maxPartitionsPerRun: 4,
};

/** Data file name extensions by format, as the row formats write them. */
export const FORMAT_EXTENSIONS: Record<StorageFormat, string> = { text: '', parquet: '.parquet' };

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const HOUR_MS = 3_600_000;

/**
 * Closed: the partition's UTC day ended more than `closedAfterHours` ago, so the binlog brings it
 * nothing but late stragglers. A day value that is not 'YYYY-MM-DD' is never taken for closed.
 */
export function partitionClosed(values: Record<string, string>, dayColumn: string, nowMs: number, closedAfterHours: number): boolean {
  const day = DAY.exec(values[dayColumn] ?? '');
  if (!day) return false;
  const dayEndMs = Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3]) + 1);
  return nowMs - dayEndMs > closedAfterHours * HOUR_MS;
}

/** A table sluice writes: the changelog's metadata columns and a partition column. */
export function isChangelogTable(table: TableDefinition): boolean {
  const names = new Set(table.columns.map((column) => column.name));
  return table.partitionColumns.length > 0 && [...metadataNameSet(metadataNamesOf(table))].every((name) => names.has(name));
}

/**
 * A data file sluice wrote: `<channel>.<jobId>.<checkpoint>-<n>` from the sink, `c.<jobId>.<checkpoint>-<n>`
 * from compaction, plus the format's extension. Anything else in a partition (a file a person put
 * there, in some other encoding) is left alone.
 */
export function isSluiceDataFile(name: string, extension: string): boolean {
  if (!name.endsWith(extension)) return false;
  return /^(?:\d+|c)\.[0-9a-z]+\.\d+-\d+$/.test(extension === '' ? name : name.slice(0, -extension.length));
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export interface PartitionPlanOptions {
  extension: string;
  smallFileBytes: number;
  rollBytes: number;
  minFiles: number;
  /** Names of files a kept checkpoint record commits: never inputs (recovery may redo that commit). */
  protectedNames: ReadonlySet<string>;
}

/**
 * The groups of small files to merge, one output file per group, or undefined when the partition is
 * left as it is. A file is small below both `smallFileBytes` and `rollBytes` (a file the size of a
 * roll cannot become part of a bigger one). Groups are filled in name order (roughly the order the
 * files were written) up to `rollBytes`. Only a merge that leaves fewer files is worth its writes.
 */
export function planPartition(files: readonly FileStatus[], options: PartitionPlanOptions): FileStatus[][] | undefined {
  const limit = Math.min(options.smallFileBytes, options.rollBytes);
  const inputs = files
    .filter((file) => {
      const name = baseName(file.path);
      return file.type === 'file' && file.length < limit && isSluiceDataFile(name, options.extension) && !options.protectedNames.has(name);
    })
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (inputs.length < options.minFiles) return undefined;
  const groups: FileStatus[][] = [];
  let current: FileStatus[] = [];
  let bytes = 0;
  for (const file of inputs) {
    if (current.length > 0 && bytes + file.length > options.rollBytes) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(file);
    bytes += file.length;
  }
  if (current.length > 0) groups.push(current);
  // A group of one would only rename a file: leave such files where they are.
  const merging = groups.filter((group) => group.length > 1);
  const merged = merging.reduce((count, group) => count + group.length, 0);
  return merged >= options.minFiles ? merging : undefined;
}
