// What a checkpoint records: where every source stands, and the commits that make the data written
// up to there visible. The record counts from the moment it is durably written, and not before.
import type { BinlogPosition } from '../sources/binlog/position/binlog-position.ts';

export type PendingCommit =
  /** Move a closed staging file into its final, visible place. */
  | { kind: 'rename'; from: string; to: string }
  /** Register a partition with the catalog (ALTER TABLE ... ADD IF NOT EXISTS PARTITION). */
  | { kind: 'partition'; database: string; table: string; values: Record<string, string>; location: string };

export interface BinlogSourceState {
  kind: 'binlog';
  position: BinlogPosition;
  /** The sequence number the first change after `position` gets. */
  nextSequence: string;
}

export interface CheckpointRecord {
  format: 1;
  id: number;
  /** The run of the daemon that wrote it; staging file names carry it, so no name is reused after a crash. */
  jobId: string;
  createdAt: string;
  source: BinlogSourceState;
  commits: PendingCommit[];
  /** Target tables whose committed changes do not end at `source`; absent when all of them do. */
  tables?: TableProgress;
  /**
   * XA transactions prepared before `source` and not yet committed or rolled back, by xid, with the
   * staging files that hold their rows (possibly none). Recovery keeps those files; XA COMMIT turns
   * them into pending commits, XA ROLLBACK drops them. Absent (as in records of older versions): none.
   */
  preparedXa?: Record<string, HeldFile[]>;
}

/** A closed staging file of a prepared XA transaction, and what committing it takes. */
export interface HeldFile {
  from: string;
  to: string;
  database: string;
  table: string;
  /** The partition the file goes into, registered when it is committed. */
  values: Record<string, string>;
  location: string;
  /** `_seq` of its first row: a stopped table that reads its changes again from a later number drops the file. */
  firstSequence: string;
}

/**
 * A target table that met a change it cannot follow (Hive refused the schema change, a value it
 * cannot decode exactly): it holds every change before `since` and none from there on. The stream
 * goes on for the other tables; a restart retries the table from `since`.
 */
export interface StoppedTable {
  since: BinlogSourceState;
  code: string;
  message: string;
  /** The binlog position of the change that stopped it. */
  at: string;
  stoppedAt: string;
}

export interface TableProgress {
  /** By target `db.table`. */
  stopped?: Record<string, StoppedTable>;
  /**
   * While a restart re-reads the binlog for tables that were stopped, the other tables already hold
   * what comes by: each takes changes only from its point on (`others` for every table not named).
   */
  ahead?: { others?: BinlogSourceState; tables?: Record<string, BinlogSourceState> };
}
