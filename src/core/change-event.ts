// The one shape every source hands to routing and sinks.

/**
 * A value as sluice carries it: exact text for every number, temporal and text type (so no
 * precision or time zone is lost on the way), bytes for binary types, null for SQL NULL.
 */
export type CellValue = string | Buffer | null;

/** A source column as the binlog (or information_schema) describes it. */
export interface SourceColumn {
  name: string;
  /** The MySQL column type in lower case, as information_schema.COLUMN_TYPE spells it: 'int unsigned', 'decimal(10,2)', 'datetime(6)'. */
  mysqlType: string;
  /** Character set of a text column ('utf8mb4', 'latin1'), null for others. */
  charset: string | null;
  /**
   * Part of the table's primary key, where the source says so (the TableMap's optional metadata under
   * binlog_row_metadata=FULL, else information_schema). On the column list because that list is built
   * once per TableMap and shared by every event of it: the sink learns the key for free.
   */
  primaryKey?: true;
}

/**
 * What happened to a row. 'truncate' is no row's change but a marker: every earlier change of its
 * source table (`schema`.`table`) is gone (TRUNCATE TABLE, DROP TABLE, CREATE OR REPLACE TABLE).
 * A marker has no columns and no images. 'read' is a row as the snapshot read it from the table
 * (Debezium's 'r'): the row's state at that point of the stream, its image in `after`.
 */
export type ChangeOp = 'insert' | 'update' | 'delete' | 'truncate' | 'read';

/** The columns of a marker: none (shared, so that sinks can cache per column list). */
export const NO_COLUMNS: readonly SourceColumn[] = Object.freeze([]);

/** Where a change sits in the source, precise enough to resume after it and to order it. */
export interface SourcePosition {
  /** Binlog file of the event, e.g. 'mysql-bin.000003'. */
  file: string;
  /** Offset just past the event in that file. */
  offset: number;
  /** GTID of the transaction ('0-1-42' on MariaDB, 'uuid:42' on MySQL), when the server has GTIDs. */
  gtid?: string;
}

export interface ChangeEvent {
  schema: string;
  table: string;
  op: ChangeOp;
  columns: readonly SourceColumn[];
  /** Row image before the change (update, delete), aligned with `columns`. */
  before: readonly CellValue[] | null;
  /** Row image after the change (insert, update), aligned with `columns`. */
  after: readonly CellValue[] | null;
  /** Seconds since the epoch (UTC) from the binlog event header. */
  commitTs: number;
  position: SourcePosition;
  /**
   * Orders every change of the stream (a 64-bit counter). It is recorded with each
   * checkpoint and counted on from there, so a replay after a crash gives the same numbers and later
   * changes always get larger ones. A source may hand it out as a number while it is a safe integer
   * (below 2^53: exact, and the same decimal text), sparing a BigInt per change; compare it with
   * `<`/`>=` or its text, never with `===` against a bigint.
   */
  sequence: bigint | number;
  /**
   * The XA transaction the change belongs to: its rows are prepared, not committed, and land only
   * once XA COMMIT comes (see sources/binlog/xa-statement.ts).
   */
  xid?: string;
}

/** What a transaction boundary completes of an XA transaction: the sink holds, releases or drops its rows. */
export interface XaStep {
  xid: string;
  /** `one-phase`: prepared and committed at once (MySQL's XA COMMIT ... ONE PHASE). */
  action: 'prepare' | 'commit' | 'rollback' | 'one-phase';
}
