// What a batch job's checkpoint records: enough to resume every channel exactly after the last row
// it committed, and to finish the commit a crash interrupted.
import type { ChannelSplit } from '../sources/table/key-split.ts';

export interface ChannelState {
  /** The key of the last row committed; absent before the channel's first checkpoint. */
  offset?: string;
  /** Rows committed so far. */
  rows: number;
  done: boolean;
  /** Index of the next staged file of this channel (file targets). */
  nextFile: number;
}

/** A staged file to move into the target: step 4 of the protocol, redone on recovery. */
export interface PendingRename {
  from: string;
  to: string;
}

export interface SyncState {
  format: 1;
  job: string;
  table: string;
  /** Fixed at a fresh start: names this run's files and tells one run's state from the next's. */
  runId: string;
  startedAt: string;
  /** Counts up from 1 with every checkpoint of the run. */
  checkpointId: number;
  split: ChannelSplit;
  channels: ChannelState[];
  /** Every channel done and committed: a new start of the job is a fresh copy. */
  finished: boolean;
  pending: PendingRename[];
}

export function freshState(job: string, table: string, split: ChannelSplit, now: Date): SyncState {
  return {
    format: 1,
    job,
    table,
    // Time-based and in base 36: short, sortable, and never the same for two starts of one job.
    runId: now.getTime().toString(36),
    startedAt: now.toISOString(),
    checkpointId: 0,
    split,
    channels: Array.from({ length: split.channels }, () => ({ rows: 0, done: false, nextFile: 0 })),
    finished: false,
    pending: [],
  };
}
