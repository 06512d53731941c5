// How far the snapshot has come, as a checkpoint records it (`sources.snapshot`, beside
// `sources.binlog`): per source table, the key of the last row of the last chunk handed on, or done.
// A chunk counts as done only in a record taken after its rows: a restart from an older record
// reads it again, at a new point of the stream.
import type { SourceState } from '../../core/source.ts';
import type { KeyTuple } from '../table/table-key.ts';

export const SNAPSHOT = 'snapshot';

export interface TableSnapshot {
  /** The key of the last row handed on; absent before the first chunk. */
  after?: KeyTuple;
  /**
   * The table's last key when its first chunk was read: it is read up to there (rows inserted past
   * it come through the stream). Absent before the first chunk (and in records of older versions:
   * read again then).
   */
  until?: KeyTuple;
  done?: true;
  /** Rows handed on so far (op read). */
  rows: number;
}

export interface SnapshotProgress {
  /** By source 'db.table', in the order they are read. */
  tables: Record<string, TableSnapshot>;
  /**
   * The stream's sequence number after the last chunk's rows: a stopped table that is read again
   * from before it would meet the stream numbered without those rows (see snapshot-plan.ts).
   */
  rowsUpTo?: string;
}

export interface SnapshotState extends SourceState {
  kind: 'snapshot';
  position: SnapshotProgress;
}

export function freshProgress(tables: readonly string[]): SnapshotProgress {
  return { tables: Object.fromEntries(tables.map((table) => [table, { rows: 0 }])) };
}

export function nextTable(progress: SnapshotProgress): string | undefined {
  return Object.entries(progress.tables).find(([, table]) => !table.done)?.[0];
}

export function isDone(progress: SnapshotProgress): boolean {
  return nextTable(progress) === undefined;
}
