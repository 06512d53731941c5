// A source of changes as the pipeline sees it: a stream of changes cut into transactions, each
// boundary a point the source can resume from. The binlog is one; table chunks and Kafka
// partitions are the next ones.
import type { SluiceError } from './errors.ts';
import type { ChangeEvent, XaStep } from './change-event.ts';

/**
 * Where a source stands at a boundary, as the checkpoint records it: plain JSON data the source
 * alone reads. `nextSequence` is the sequence number the first change after `position` gets.
 */
export interface SourceState {
  /** Which kind of source wrote it ('binlog'), so that a record of another pipeline is refused by name. */
  kind: string;
  position: unknown;
  nextSequence: string;
}

export type SourceItem<S extends SourceState, Target> =
  | { kind: 'change'; event: ChangeEvent }
  /** Every change before this item is part of a committed transaction; resuming at `state` replays none of them. */
  | {
      kind: 'boundary';
      state: S;
      xa?: XaStep;
      /** Other sources' states at this boundary, by name, recorded with it (the snapshot's progress beside the binlog's position). */
      also?: Record<string, SourceState>;
    }
  /** Injected by the loop; travels behind the data like a barrier. */
  | { kind: 'tick' }
  /**
   * A change of this target that the source cannot decode exactly: nothing more of the target
   * follows in this run (its changes still count in the sequence numbers).
   */
  | { kind: 'table-failed'; target: Target; error: SluiceError; at: string };

export interface Source<S extends SourceState, Target> {
  /** Begins reading; items come from `next`. */
  start(): void;
  /** The next item, in source order. Rejects once the source has failed. */
  next(): Promise<SourceItem<S, Target>>;
  /**
   * The next item if one is ready, without waiting; undefined otherwise (then `next` waits, and
   * reports a failure). Optional: a promise per item is most of the loop's own cost at a million
   * items, so a source that queues items offers them here.
   */
  poll?(): SourceItem<S, Target> | undefined;
  /** Queues a tick behind everything received so far. */
  injectTick(): void;
  /** Items read and not yet taken: back-pressure and lag figures. */
  readonly queuedItems: number;
  stop(): Promise<void>;
  /** A position for people (logs, errors). Equal descriptions mean the same position. */
  describe(state: S): string;
  /** Where a change sits, for people. */
  describeChange(event: ChangeEvent): string;
}
