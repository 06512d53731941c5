// What a checkpoint records: where every source stands, and the commits that make the data written
// up to there visible. The record counts from the moment it is durably written, and not before.
import type { BinlogPosition } from '../sources/binlog/binlog-position.ts';

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
}
