// The checkpoint record (see core/checkpoint-record.ts), and the records of earlier versions, which
// are read and converted: a daemon updated in place resumes from what the old one wrote.
import type { CheckpointRecord, TableProgress } from '../core/checkpoint-record.ts';
import type { SourceState } from '../core/source.ts';

export type { CheckpointRecord, StoppedTable, TableProgress } from '../core/checkpoint-record.ts';

/**
 * Format 1, written by sluice before pipelines had named parts. Only the binlog -> Hive daemon
 * existed, so its one source is the binlog and its one sink is Hive: under those names it converts.
 */
export interface CheckpointRecordV1 {
  format: 1;
  id: number;
  jobId: string;
  createdAt: string;
  source: SourceState;
  commits: readonly unknown[];
  tables?: TableProgress;
  preparedXa?: Record<string, unknown>;
}

/** The names format 1's source and sink have in a record of format 2. */
export const FORMAT_1_SOURCE = 'binlog';
export const FORMAT_1_SINK = 'hive';

/** A record as a file may hold it: the current format, or format 1. */
export type StoredRecord = CheckpointRecord | CheckpointRecordV1;

export function upgradeRecord(stored: StoredRecord): CheckpointRecord {
  if (stored.format === 2) return stored;
  const { source, commits, preparedXa, tables, format: _format, ...rest } = stored;
  return {
    format: 2,
    ...rest,
    sources: { [FORMAT_1_SOURCE]: source },
    sinks: { [FORMAT_1_SINK]: { commits, ...(preparedXa ? { preparedXa } : {}) } },
    ...(tables ? { tables } : {}),
  };
}
