// What a batch job's checkpoint records: enough to resume every channel exactly after the last row
// it committed, and to finish the commit a crash interrupted.
import { SluiceError } from '../core/errors.ts';
import type { ChannelSplit } from '../sources/table/key-split.ts';
import type { KeyTuple } from '../sources/table/table-key.ts';

export interface ChannelState {
  /** The key tuple of the last row committed; absent before the channel's first checkpoint. */
  offset?: KeyTuple;
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
  /**
   * 2: offsets are key tuples and the key's columns are recorded. 1 (sluice before key tuples): one
   * column's value as the offset; read as a one-value tuple (see upgradeSyncState).
   */
  format: 2;
  job: string;
  table: string;
  /**
   * The key columns the offsets and split are tuples of. Absent in a record of format 1, whose
   * offsets hold the value of `source.key` only.
   */
  key?: string[];
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

export function freshState(job: string, table: string, key: string[], split: ChannelSplit, now: Date): SyncState {
  return {
    format: 2,
    job,
    table,
    key,
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

/**
 * A recorded state as this version keeps it. A format-1 record (one key column, its value the
 * offset) still resumes: that offset is the first value of the key tuple, and "after it" in the key's
 * first column is what the old reader meant (it always finished the group of rows sharing its last
 * key). Its split (remainder or date ranges) is kept as it was, so the channels read the same rows.
 */
export function upgradeSyncState(recorded: unknown, where: string): SyncState {
  const state = recorded as (Omit<SyncState, 'format' | 'channels'> & { format: number; channels: (Omit<ChannelState, 'offset'> & { offset?: unknown })[] }) | null;
  if (state === null || typeof state !== 'object' || (state.format !== 1 && state.format !== 2) || !Array.isArray(state.channels)) {
    throw new SluiceError('SLUICE_CHECKPOINT_CORRUPT', `sync checkpoint record ${where} cannot be read: not a sync record of format 1 or 2`, { context: { file: where } });
  }
  const channels = state.channels.map((channel) => {
    const { offset, ...rest } = channel ?? {};
    if (offset === undefined || offset === null) return rest as ChannelState;
    return { ...rest, offset: typeof offset === 'string' ? [offset] : (offset as KeyTuple) } as ChannelState;
  });
  return { ...state, format: 2, channels };
}
