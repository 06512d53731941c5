// A sink as the pipeline and the checkpoint see it. Its pending commits are plain data: the record
// stores them between pre-commit and commit, and recovery hands them back after a crash, so every
// commit step must be idempotent.
import type { ChangeEvent, XaStep } from './change-event.ts';

/** What a sink's pre-commit returns and the record keeps: the commit steps, and any data of the sink's own. */
export interface SinkCommits {
  commits: readonly unknown[];
}

export interface Sink<Target, C extends SinkCommits = SinkCommits> {
  /**
   * Writes one change for a target into staging; nothing is visible until a checkpoint commits it.
   * Returns SETTLED (core/settled.ts) when the change is written already, which the loop need not await.
   */
  write(target: Target, event: ChangeEvent, checkpointId: number): Promise<void>;
  /** Closes and uploads staging; returns what the record must hold for `commit` (and recovery) to finish. */
  preCommit(): Promise<C>;
  /** After the record is written: carries out its commits. */
  commit(pending: C): Promise<void>;
  /** Drops what is open without committing it (the next start's recovery deletes it). */
  abort(): Promise<void>;
  /** Gives up what a stopped target has staged since the last checkpoint; a later run writes those changes again from `readAgainFrom`. */
  discard(target: Target, readAgainFrom: bigint): Promise<void>;
  /** An XA transaction's step, at its boundary (sinks that hold prepared transactions). */
  onXa?(step: XaStep, at: string): Promise<void>;
}

/**
 * A sink's part of recovery on start, before the sink is opened: carry out the newest record's
 * commits again, and delete the staging no record names.
 */
export interface SinkRecovery<C extends SinkCommits = SinkCommits> {
  recover(pending: C | undefined): Promise<void>;
}
