// Rows merged into the binlog stream at transaction boundaries, numbered in stream order: the
// snapshot's chunks (sources/snapshot/). The stream shows the merge every change it hands on, so the
// merge can tell which keys changed while it read, and asks it at each boundary whether rows are due
// there. The rows then take the stream's next sequence numbers, and a second boundary at the same
// position records that they are in.
import type { ChangeEvent } from '../../../core/change-event.ts';
import type { SluiceError } from '../../../core/errors.ts';
import type { SourceState } from '../../../core/source.ts';
import type { BinlogPosition } from '../position/binlog-position.ts';

/** A change the merge hands to the stream: the stream gives it its sequence number. */
export type MergedChange = Omit<ChangeEvent, 'sequence'>;

export interface StreamMerge {
  /**
   * Called once, before the first event: `wake` asks the stream to call `atBoundary` now, with its
   * last boundary, if it rests between transactions (else the next boundary does); `fail` fails the
   * stream (a read of the merge's own failed); `start` is where the stream starts (its last boundary);
   * `hasRoom` says whether the stream's queue has room for more merged rows now (when absent: always),
   * so that the merge reads no more than the consumer keeps up with. `stop` stops the target of one
   * captured source table 'db.table' (a table the merge cannot read), the other tables going on.
   */
  attach(wake: () => void, fail: (error: Error) => void, start: BinlogPosition | undefined, hasRoom?: () => boolean, stop?: (table: string, error: SluiceError) => void): void;
  /** A change the stream hands on (a row's, or a truncate marker), in stream order, before its boundary. */
  onChange(event: ChangeEvent): void;
  /**
   * The stream is at a boundary, nothing open after it: the changes to hand on here, if any are due
   * (an empty list still counts: the merge's state moved on). `statement` is the DDL that ended here.
   */
  atBoundary(position: BinlogPosition, statement: string | undefined): MergedChange[] | undefined;
  /**
   * A statement gave the captured source table 'db.table' rows that reach the binlog as no inserts
   * (a RENAME into the routing, CREATE TABLE ... SELECT logged as a statement): whether the merge
   * reads it again while the stream goes on. If not, the stream stops its target.
   */
  readAgain?(table: string): boolean;
  /** The captured source table 'db.table' was created empty by the statement being handled: its rows all come as changes. */
  created?(table: string): void;
  /** What a checkpoint at a boundary numbered `nextSequence` records beside the binlog, by source name. */
  statesAt(nextSequence: bigint): Record<string, SourceState> | undefined;
}
