// Which changes each target table takes. Normally all of them: every table's committed changes end
// at the checkpoint's position. A table stopped by a change it cannot follow falls behind while the
// others go on; a restart reads the source again from the earliest stopped table's point, and then the
// other tables must not take the changes they already hold. Sequence numbers decide, because they
// are handed out in source order to every routed change, the same numbers on every read of a stretch.
// The gate knows of a source's state only its sequence number.
import { SluiceError } from '../core/errors.ts';
import type { SourceState } from '../core/source.ts';
import type { CheckpointRecord, StoppedTable, TableProgress } from './checkpoint-record.ts';

export interface GateResume<S extends SourceState = SourceState> {
  gate: TableGate<S>;
  /** Where the stream must start: the record's position, or earlier for tables being retried. */
  start: S | undefined;
  /** The tables the record had stopped, retried by this run from their `since`. */
  retrying: Array<[string, StoppedTable<S>]>;
}

export class TableGate<S extends SourceState = SourceState> {
  private readonly stopped = new Map<string, StoppedTable<S>>();
  private readonly fromByTable = new Map<string, S>();
  private othersFrom: S | undefined;

  /**
   * The gate and the start a run resumes with from the newest record, for the pipeline's source
   * `source` (by default the record's only one). The record holds what that source wrote: `S`.
   */
  static resume<S extends SourceState = SourceState>(record: CheckpointRecord | undefined, source?: string): GateResume<S> {
    const gate = new TableGate<S>();
    if (!record) return { gate, start: undefined, retrying: [] };
    const progress = (record.tables ?? {}) as TableProgress<S>;
    const retrying = Object.entries(progress.stopped ?? {});
    gate.othersFrom = progress.ahead?.others;
    const recorded = sourceOf(record, source) as S;
    // A table's recorded point may lie behind the record: it was ahead of the others then, and has
    // since committed everything up to the record too. A start before the record (a table that stays
    // stopped) must not give it those changes again.
    for (const [table, from] of Object.entries(progress.ahead?.tables ?? {})) gate.fromByTable.set(table, later(from, recorded));
    let start = recorded;
    if (retrying.length > 0) {
      // Every table not stopped holds all changes up to the record; stopped ones up to their `since`.
      gate.othersFrom = later(gate.othersFrom, recorded);
      for (const [table, entry] of retrying) {
        gate.fromByTable.set(table, entry.since);
        if (sequenceOf(entry.since) < sequenceOf(start)) start = entry.since;
      }
    }
    gate.passed(start);
    return { gate, start, retrying };
  }

  /** Whether the change with this sequence number, routed to `table`, is to be written. */
  admits(table: string, sequence: bigint | number): boolean {
    if (this.stopped.has(table)) return false;
    const from = this.fromByTable.get(table) ?? this.othersFrom;
    return from === undefined || sequence >= sequenceOf(from);
  }

  get stoppedTables(): ReadonlyMap<string, StoppedTable<S>> {
    return this.stopped;
  }

  /** Some tables still skip changes they hold (a restart reading again for stopped tables), until a checkpoint past their points. */
  get catchingUp(): boolean {
    return this.othersFrom !== undefined || this.fromByTable.size > 0;
  }

  /** The tables that skip changes they already hold, with the point each takes changes from (key undefined: every table not named). */
  get aheadPoints(): ReadonlyMap<string | undefined, S> {
    return new Map<string | undefined, S>([...(this.othersFrom ? [[undefined, this.othersFrom] as const] : []), ...this.fromByTable]);
  }

  /**
   * Stops a table: it takes nothing more in this run, and holds what it had at `committed` (the last
   * recorded checkpoint), or at its own later point when it was already ahead of that.
   */
  stop(table: string, committed: S, failure: { code: string; message: string; at: string }): StoppedTable<S> {
    const since = later(this.fromByTable.get(table) ?? this.othersFrom, committed);
    const entry: StoppedTable<S> = { since, code: failure.code, message: failure.message, at: failure.at, stoppedAt: new Date().toISOString() };
    this.stopped.set(table, entry);
    this.fromByTable.delete(table);
    return entry;
  }

  /**
   * Forgets the points the stream has reached. A table's own point is kept, though passed, for as long
   * as the others' point is ahead: without it the table would fall back to the others' point.
   */
  passed(boundary: S): void {
    const reached = sequenceOf(boundary);
    if (this.othersFrom && sequenceOf(this.othersFrom) <= reached) this.othersFrom = undefined;
    if (this.othersFrom) return;
    for (const [table, from] of this.fromByTable) if (sequenceOf(from) <= reached) this.fromByTable.delete(table);
  }

  /** What a checkpoint at `boundary` records of the tables, or undefined when all of them are at it. */
  progressAt(boundary: S): TableProgress<S> | undefined {
    this.passed(boundary);
    const progress: TableProgress<S> = {};
    if (this.stopped.size > 0) progress.stopped = Object.fromEntries(this.stopped);
    if (this.othersFrom || this.fromByTable.size > 0) {
      progress.ahead = {
        ...(this.othersFrom ? { others: this.othersFrom } : {}),
        ...(this.fromByTable.size > 0 ? { tables: Object.fromEntries(this.fromByTable) } : {}),
      };
    }
    return progress.stopped || progress.ahead ? progress : undefined;
  }
}

/**
 * The highest sequence number a record accounts for. While tables are ahead of the record's position,
 * their rows already carry numbers up to their points, and a moved checkpoint must go on above them.
 */
export function highestSequence(record: CheckpointRecord): bigint {
  const ahead = record.tables?.ahead;
  const points = [...Object.values(record.sources), ...(ahead?.others ? [ahead.others] : []), ...Object.values(ahead?.tables ?? {})];
  return points.reduce((highest, point) => (sequenceOf(point) > highest ? sequenceOf(point) : highest), 0n);
}

function sequenceOf(state: SourceState): bigint {
  return BigInt(state.nextSequence);
}

function later<S extends SourceState>(a: S | undefined, b: S): S {
  return a && sequenceOf(a) > sequenceOf(b) ? a : b;
}

function sourceOf(record: CheckpointRecord, name: string | undefined): SourceState {
  const names = Object.keys(record.sources);
  const state = name !== undefined ? record.sources[name] : names.length === 1 ? record.sources[names[0]!] : undefined;
  if (state) return state;
  throw new SluiceError(
    'SLUICE_CHECKPOINT_CORRUPT',
    `checkpoint record ${record.id} (written by ${record.jobId}) has no position of the source ${name ?? '(one source)'}; it holds ${names.join(', ') || 'none'}. ` +
      'It was written by another pipeline: point checkpoint.dir at this pipeline\'s own directory.',
  );
}
