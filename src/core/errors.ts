// Every error sluice raises on purpose is a SluiceError with a stable `code` that users and tests
// match on, a `retriable` flag that the one retry helper reads, and the context a reader needs to act
// (config key and line, server, binlog position, table, file). Whether a failure may pass by itself
// is decided in one place, isTransient (transient.ts); what each code means to a user is written once,
// in ERROR_CODES (error-codes.ts), from which docs/errors.md is generated.

export type ErrorCode =
  | 'SLUICE_CONFIG_INVALID'
  | 'SLUICE_CONFIG_UNREADABLE'
  | 'SLUICE_MYSQL_UNREACHABLE'
  | 'SLUICE_MYSQL_ACCESS_DENIED'
  | 'SLUICE_MYSQL_PRIVILEGE_MISSING'
  /** TLS to the server failed or does not match source.tls (no TLS offered, a certificate refused, TLS required). */
  | 'SLUICE_MYSQL_TLS'
  | 'SLUICE_BINLOG_SETTING'
  | 'SLUICE_BINLOG_POSITION_PURGED'
  | 'SLUICE_BINLOG_STREAM'
  | 'SLUICE_BINLOG_EVENT_TOO_LARGE'
  /** A change of rows logged as a statement (binlog_format=STATEMENT or MIXED): it has no rows to write. */
  | 'SLUICE_BINLOG_STATEMENT_DML'
  /** A rows event without every column (binlog_row_image=MINIMAL or NOBLOB). */
  | 'SLUICE_BINLOG_ROW_IMAGE'
  /** An event zongji cannot decode (binlog_row_value_options=PARTIAL_JSON; a compressed transaction of a compression type sluice does not know). */
  | 'SLUICE_BINLOG_UNSUPPORTED_EVENT'
  /** A compressed transaction (binlog_transaction_compression) whose zstd data or inner events do not decode. */
  | 'SLUICE_BINLOG_PAYLOAD_UNREADABLE'
  /** A DDL statement moved rows into or out of a captured table with no row events (RENAME, partition operations). */
  | 'SLUICE_BINLOG_ROWS_MOVED'
  /** DROP DATABASE of a database the routing may capture tables of: the binlog names none of them. */
  | 'SLUICE_BINLOG_DATABASE_DROPPED'
  | 'SLUICE_CHECKPOINT_CORRUPT'
  | 'SLUICE_CHECKPOINT_TARGET'
  | 'SLUICE_STATE_LOCKED'
  | 'SLUICE_STATE_LOCK_LOST'
  /** ha.zookeeper: another daemon became the active one (a newer epoch): this one stands down. */
  | 'SLUICE_HA_FENCED'
  /** ha.zookeeper: ZooKeeper cannot confirm that this daemon still leads (unreachable, session expired). */
  | 'SLUICE_HA_ZOOKEEPER_LOST'
  | 'SLUICE_COMMIT_LOST'
  | 'SLUICE_FILESYSTEM'
  | 'SLUICE_DISK_FULL'
  | 'SLUICE_DIR_UNWRITABLE'
  | 'SLUICE_NOT_MYSQL'
  | 'SLUICE_SERVER_ID_IN_USE'
  | 'SLUICE_CATALOG'
  | 'SLUICE_SCHEMA_UNSUPPORTED'
  | 'SLUICE_METADATA_NAMES_CHANGED'
  | 'SLUICE_SCHEMA_HISTORY'
  | 'SLUICE_STATEMENT_UNREADABLE'
  | 'SLUICE_QUERY'
  | 'SLUICE_METRICS_LISTEN'
  | 'SLUICE_SYNC_PRECONDITION'
  | 'SLUICE_SYNC_SOURCE'
  | 'SLUICE_SYNC_TARGET'
  | 'SLUICE_TABLE_KEY'
  | 'SLUICE_SNAPSHOT'
  | 'SLUICE_CAPTURE_FILTER'
  /** A WebHDFS request that made no progress in time; the cause of a SLUICE_FILESYSTEM error. */
  | 'SLUICE_HTTP_TIMEOUT'
  /** The Kafka brokers cannot be reached or refuse the consumer (unknown topic, no access). */
  | 'SLUICE_KAFKA'
  /** A Kafka message's column has no known type: neither the message nor the topic's `columns` states one. */
  | 'SLUICE_KAFKA_COLUMNS_UNKNOWN'
  /** A Kafka message's value does not fit its column's type. */
  | 'SLUICE_KAFKA_VALUE'
  /** Not a SluiceError: what `run` and `sync` log as the code of an error sluice did not foresee. */
  | 'SLUICE_UNEXPECTED';

export interface ErrorContext {
  configKey?: string;
  line?: number;
  column?: number;
  file?: string;
  server?: string;
  position?: string;
  table?: string;
  [key: string]: unknown;
}

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly context: ErrorContext;

  constructor(
    code: ErrorCode,
    message: string,
    options: { retriable?: boolean; cause?: unknown; context?: ErrorContext } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.context = options.context ?? {};
  }
}

export function isSluiceError(error: unknown, code?: ErrorCode): error is SluiceError {
  return error instanceof SluiceError && (code === undefined || error.code === code);
}

/**
 * An error that concerns one target table and no other: a change Hive cannot follow (a statement it
 * refuses, a type it cannot widen to), a value that cannot be decoded exactly, or columns that the
 * schema history cannot give at a position. Such an error stops
 * that table and lets the stream go on for the rest (sink.onTableError). An error without a table or a
 * statement (a wrong password, a server down) is the daemon's, and so is anything worth retrying.
 */
export function isTableScopedError(error: unknown): error is SluiceError {
  if (!(error instanceof SluiceError) || error.retriable) return false;
  if (error.code === 'SLUICE_SCHEMA_UNSUPPORTED' || error.code === 'SLUICE_CAPTURE_FILTER') return true;
  // A statement or a partial row image of one table; without a table they are the stream's.
  if (error.code === 'SLUICE_BINLOG_STATEMENT_DML' || error.code === 'SLUICE_BINLOG_ROW_IMAGE' || error.code === 'SLUICE_BINLOG_ROWS_MOVED') return error.context.table !== undefined;
  // The MINIMAL-metadata schema history cannot say one table's columns at a position.
  if (error.code === 'SLUICE_SCHEMA_HISTORY') return error.context.table !== undefined;
  return error.code === 'SLUICE_CATALOG' && (error.context.table !== undefined || error.context.statement !== undefined);
}
