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
  /**
   * Read again while streaming (a table new to the routing, rows moved in by a statement, or asked
   * for): a truncate marker goes first, at the point where its first chunk's window opens, so that
   * the rows read then are the table's whole state. Cleared once the marker is handed on.
   */
  reset?: true;
  /** The on-demand request (`sluice snapshot`) that started this read, by its id. */
  request?: string;
  /** The signal (an `execute-snapshot` row of snapshot.signalTable) that started this read, by its id. */
  signal?: string;
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

/** The table read again from its start: a marker first, then every row (see TableSnapshot.reset). */
export function readAgain(progress: SnapshotProgress, table: string, asked: AskedBy = {}): SnapshotProgress {
  const tables = { ...progress.tables };
  delete tables[table];
  // At the end of the list: the tables already waiting keep their turn.
  tables[table] = { rows: 0, reset: true, ...askedBy(asked) };
  return { ...progress, tables };
}

/** Who asked for a read: a `sluice snapshot` request, or a signal row. */
export type AskedBy = Pick<TableSnapshot, 'request' | 'signal'>;

/** The request or signal a table's read answers, kept in its entry also once done. */
export function askedBy(entry: AskedBy | undefined): AskedBy {
  return {
    ...(entry?.request !== undefined ? { request: entry.request } : {}),
    ...(entry?.signal !== undefined ? { signal: entry.signal } : {}),
  };
}

export function nextTable(progress: SnapshotProgress): string | undefined {
  return Object.entries(progress.tables).find(([, table]) => !table.done)?.[0];
}

export function isDone(progress: SnapshotProgress): boolean {
  return nextTable(progress) === undefined;
}
