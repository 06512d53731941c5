// Where a batch job's rows go. Each target carries out the checkpoint protocol its own way, but to the
// same end: the rows written since the last checkpoint and the channel offsets become visible
// together, or not at all.
import type { CellValue } from '../core/change-event.ts';
import type { TableShape } from '../sources/table/table-shape.ts';
import type { ChannelState, SyncState } from './sync-state.ts';

export interface ChannelWriter {
  write(row: readonly CellValue[]): Promise<void>;
  /**
   * A target whose channels hold locks until they commit (MySQL) commits one channel's rows with its
   * offset here, when the channel stops at the barrier or finishes: a channel waiting at the barrier
   * must hold nothing that another channel needs before it can reach the barrier too.
   */
  commitChannel?(state: ChannelState): Promise<void>;
}

export interface SyncTarget {
  /** For logs and errors: 'local:/data/out', 'ftp://u@host:21/export', 'mysql://host:3306/db.t'. */
  readonly description: string;
  /** Refuses a target that cannot take the job, before any row moves. */
  check(columns: TableShape['columns']): Promise<void>;
  /**
   * The state a restarted job resumes from, with any interrupted commit finished and uncommitted
   * staging removed; undefined when nothing was ever recorded.
   */
  recover(): Promise<SyncState | undefined>;
  /**
   * Adopts `state`, which the job keeps current and hands to every checkpoint. On a fresh start
   * overwrite mode empties the target and `state` is recorded as the starting point.
   */
  start(state: SyncState, fresh: boolean): Promise<void>;
  writer(channel: number): ChannelWriter;
  /** Pre-commit, record and commit: afterwards `state` is what a restart resumes from. */
  checkpoint(state: SyncState): Promise<void>;
  /** Releases connections and files; anything uncommitted stays staged for recovery to remove. */
  close(): Promise<void>;
}
