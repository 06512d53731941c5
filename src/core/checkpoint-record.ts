// What a checkpoint records: where every source of a pipeline stands, and every sink's pending
// commits, each under the name the composition gives it. The record counts from the moment it is
// durably written, and not before. Its parts are plain JSON data: the checkpoint code stores and
// hands them back without knowing what a source position or a sink commit is.
import type { SinkCommits } from './sink.ts';
import type { SourceState } from './source.ts';

export interface CheckpointRecord {
  format: 2;
  id: number;
  /** The run of the daemon that wrote it; staging file names carry it, so no name is reused after a crash. */
  jobId: string;
  createdAt: string;
  /** Each source's resume point, by name (`binlog`). */
  sources: Record<string, SourceState>;
  /** Each sink's pending commits and whatever else it must find again after a crash, by name (`hive`). */
  sinks: Record<string, SinkCommits>;
  /** Target tables whose committed changes do not end at the sources' positions; absent when all of them do. */
  tables?: TableProgress;
}

/**
 * A target table that met a change it cannot follow (Hive refused the schema change, a value it
 * cannot decode exactly): it holds every change before `since` and none from there on. The stream
 * goes on for the other tables; a restart retries the table from `since`.
 */
export interface StoppedTable<S extends SourceState = SourceState> {
  since: S;
  code: string;
  message: string;
  /** The source position of the change that stopped it, as the source describes it. */
  at: string;
  stoppedAt: string;
}

export interface TableProgress<S extends SourceState = SourceState> {
  /** By target `db.table`. */
  stopped?: Record<string, StoppedTable<S>>;
  /**
   * While a restart re-reads the source for tables that were stopped, the other tables already hold
   * what comes by: each takes changes only from its point on (`others` for every table not named).
   */
  ahead?: { others?: S; tables?: Record<string, S> };
}
