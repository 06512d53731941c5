// Reads the binlog as a replica would (zongji over COM_BINLOG_DUMP) and hands on, in order, one item
// per row change and one per transaction boundary. Nothing is held beyond a bounded queue: when the
// consumer falls behind, the replication socket is paused, so the server's TCP window does the waiting.
import ZongJi from '@vlasky/zongji';
import type { Logger } from 'pino';
import { connectMysql, type MysqlServerOptions } from '../../core/mysql-connect.ts';
import type { ChangeEvent, ChangeOp, SourceColumn, SourcePosition } from '../../core/change-event.ts';
import { isTableScopedError, SluiceError } from '../../errors.ts';
import { routeKey, type Route, type Router } from '../../routing/router.ts';
import { addMysqlGtid, advanceMariadbGtidPosition, describePosition, type BinlogPosition } from './binlog-position.ts';
import { toCellValue } from './cell-decoder.ts';
import { applyServerCollations, builtInCollations, readServerCollations, type CollationCharsets } from './collations.ts';
import type { SchemaHistory } from './schema-history.ts';
import { serverIdConflict } from './server-id.ts';
import { SchemaTracker } from './schema-tracker.ts';
import type { TableRef } from './ddl-statement.ts';
import { droppedDatabaseError, rowsMovedBy, rowsMovedError } from './rows-moved.ts';
import { classifyStatement } from './statement-dml.ts';
import { loadDataStatementError, missingColumns, partialRowImageError, statementDmlError, unboundedStatementError, unsupportedEventError } from './unreadable-changes.ts';
import { decodeSingleByte, isSingleByteCharset } from './single-byte-charsets.ts';
import { anonymousColumnSchemas, columnSchemasFor, hasOptionalMetadata, type TableMapEventLike, type ZongJiColumnSchema } from './table-map-columns.ts';
import { MYSQL_TYPE_VARCHAR, MYSQL_TYPE_BLOB_COMPRESSED, MYSQL_TYPE_VARCHAR_COMPRESSED, MYSQL_TYPE_ENUM, MYSQL_TYPE_SET, MYSQL_TYPE_TINY_BLOB, MYSQL_TYPE_MEDIUM_BLOB, MYSQL_TYPE_LONG_BLOB, MYSQL_TYPE_BLOB, MYSQL_TYPE_STRING, MYSQL_TYPE_GEOMETRY } from './binlog-type-codes.ts';
import { tablesEmptiedBy, truncateMarker } from './table-reset.ts';
import { stopZongji } from './zongji-stop.ts';
import { unreadableTableMap } from './zongji-table-map.ts';
import { eventTooLargeError } from './event-too-large.ts';
import { parseXaStatement, xidOfEvent, type XaStatement, type XaStep } from './xa-statement.ts';

/** Where the dump starts, already resolved against the server (see resolveStart). */
export type BinlogDumpStart =
  | { gtidSet: string }
  | { file: string; offset: number }
  | { atEnd: true };

export type SourceItem =
  | { kind: 'change'; event: ChangeEvent }
  /** Every change before this item is part of a committed transaction; resuming at `position` replays none of them. */
  | { kind: 'boundary'; position: BinlogPosition; nextSequence: bigint; statement?: string; xa?: XaStep }
  /** Injected by the checkpoint coordinator; travels behind the data like a barrier. */
  | { kind: 'tick' }
  /**
   * A change of this target that cannot be decoded exactly: nothing more of the target follows in
   * this run (its rows still count in the sequence numbers, so a later read numbers them the same).
   */
  | { kind: 'table-failed'; target: Route; error: SluiceError; at: string };

export interface BinlogSourceOptions {
  connection: MysqlServerOptions;
  serverId: number;
  router: Router;
  /** Queue length at which the replication socket is paused. */
  maxQueuedItems: number;
  /** First sequence number to hand out (recorded with the checkpoint the stream resumes from). */
  firstSequence: bigint;
  /** The boundary the stream starts at (where the schema history looks before the first transaction). */
  startPosition?: BinlogPosition;
  /**
   * Where columns are kept for TableMaps without names (binlog_row_metadata=MINIMAL). Without one,
   * such TableMaps get zongji's own lookup: information_schema as it is now.
   */
  schemaHistory?: SchemaHistory;
  /**
   * Whether the rows of a routed change, from this sequence number on, are not wanted (the target is
   * stopped, or already holds them): they are counted in the sequence numbers but not decoded.
   */
  skipsRows?: (target: string, firstSequence: bigint) => boolean;
  /** Record DDL statements in the history from the start (the server is not on FULL, or was not); otherwise from the first TableMap without names. */
  trackSchemas?: boolean;
  logger: Logger;
}

type ZongJiInstance = InstanceType<typeof ZongJi> & {
  options: { filename?: string; position?: number };
  gtidSet?: string;
  connection?: { pause(): void; resume(): void } | null;
  /** zongji's cache of column descriptions by table id, filled by _fetchTableInfo. */
  tableMap: Record<number, { columnSchemas: unknown[]; parentSchema: string; tableName: string } | undefined>;
  /** Called, with the replication socket paused, for a TableMap without column names; calls `next` once tableMap holds the table. */
  _fetchTableInfo(event: TableMapEventLike, next: () => void): void;
};

interface RawTableMap {
  parentSchema: string;
  tableName: string;
  columnSchemas: { COLUMN_NAME: string; COLUMN_TYPE: string; CHARACTER_SET_NAME: string | null }[];
}

export class BinlogSource {
  private readonly queue: SourceItem[] = [];
  private head = 0;
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;
  private paused = false;
  private zongji: ZongJiInstance | undefined;
  private nextSequence: bigint;
  private readonly columnsByMap = new WeakMap<object, SourceColumn[]>();
  /** The server's collation ids, read before the dump starts (see collations.ts). */
  private collations: CollationCharsets | undefined;
  private currentFile = '';
  private readonly tracker: SchemaTracker | undefined;
  private tracking: boolean;
  /** The last boundary handed on: where the next transaction's columns are looked up. */
  private lastBoundary: BinlogPosition | undefined;
  /** Column lookups under way; the socket stays paused for them whatever the queue says. */
  private fetching = 0;
  /** Items handed to the consumer so far, for metrics and progress. */
  changesRead = 0;
  /** The xid of the XA transaction whose rows are being read (between XA START and XA PREPARE). */
  private xa: string | undefined;
  /** Targets given up in this run (table-failed): their rows are skipped. */
  private readonly failedTargets = new Set<string>();
  /**
   * Where an event zongji does not decode ('unknown') came, since the transaction began or the last
   * statement: User_var and Rand events come before the statement they serve, while a LOAD DATA
   * logged as a statement is such events alone (Begin_load_query, Execute_load_query).
   */
  private undecodedEventAt: string | undefined;
  /** Between a BEGIN Query event and its XID or COMMIT: no statement in there is a boundary. */
  private inGroup = false;

  constructor(private readonly options: BinlogSourceOptions) {
    this.nextSequence = options.firstSequence;
    this.lastBoundary = options.startPosition;
    this.tracking = options.trackSchemas ?? false;
    this.tracker = options.schemaHistory
      ? new SchemaTracker({
          history: options.schemaHistory,
          connection: options.connection,
          isCaptured: (schema, table) => options.router.decide(schema, table).kind === 'routed',
          logger: options.logger,
        })
      : undefined;
  }

  start(from: BinlogDumpStart): void {
    const { connection } = this.options;
    const zongji = new ZongJi({
      host: connection.host,
      port: connection.port,
      user: connection.user,
      password: connection.password,
      connectTimeout: connection.connectTimeoutMs,
      // Exact values: temporal types as text in UTC, 64-bit integers and DECIMAL as strings, JSON as text.
      dateStrings: true,
      timezone: 'Z',
      supportBigNumbers: true,
      bigNumberStrings: true,
      jsonStrings: true,
    } as ConstructorParameters<typeof ZongJi>[0]) as ZongJiInstance;
    this.zongji = zongji;
    const fromInformationSchema = zongji._fetchTableInfo.bind(zongji);
    zongji._fetchTableInfo = (event, next) => this.fetchTableColumns(zongji, event, next, fromInformationSchema);
    zongji.on('binlog', (event: unknown) => {
      try {
        this.onBinlogEvent(zongji, event as BinlogEventLike);
      } catch (error) {
        this.fail(error as Error);
      }
    });
    zongji.on('error', (error: Error) => this.onStreamError(zongji, error));
    const startOptions: Record<string, unknown> = {
      serverId: this.options.serverId,
      includeEvents: ['tablemap', 'writerows', 'updaterows', 'deleterows', 'xid', 'query', 'rotate', 'unknown', 'mariadbgtid', 'xaprepare'],
    };
    if ('gtidSet' in from) startOptions.gtidSet = from.gtidSet;
    else if ('file' in from) Object.assign(startOptions, { filename: from.file, position: from.offset });
    else startOptions.startAtEnd = true;
    // The collation list must be there before the first TableMap: the dump waits for it.
    void this.loadCollations().then((collations) => {
      this.collations = collations;
      if (this.zongji === zongji) zongji.start(startOptions);
    });
  }

  /** The server's collation ids; MariaDB 10.11's built-in list when they cannot be read. Never rejects. */
  private async loadCollations(): Promise<CollationCharsets> {
    const { connection, logger } = this.options;
    let control: Awaited<ReturnType<typeof connectMysql>> | undefined;
    try {
      control = await connectMysql(connection);
      return await readServerCollations(control);
    } catch (error) {
      logger.warn(
        { err: error, server: `${connection.host}:${connection.port}` },
        "cannot read the server's collations (information_schema.COLLATIONS); using sluice's built-in list of MariaDB 10.11's",
      );
      return builtInCollations();
    } finally {
      await control?.end().catch(() => undefined);
    }
  }

  /** The next item, in binlog order. Rejects once the stream has failed. */
  async next(): Promise<SourceItem> {
    for (;;) {
      if (this.head < this.queue.length) {
        const item = this.queue[this.head]!;
        this.queue[this.head] = undefined as unknown as SourceItem;
        this.head++;
        if (this.head > 4096 && this.head * 2 > this.queue.length) {
          this.queue.splice(0, this.head);
          this.head = 0;
        }
        this.maybeResume();
        return item;
      }
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  /** Queues a tick behind everything received so far. */
  injectTick(): void {
    this.push({ kind: 'tick' });
  }

  get queuedItems(): number {
    return this.queue.length - this.head;
  }

  async stop(): Promise<void> {
    const zongji = this.zongji;
    this.zongji = undefined;
    await this.tracker?.close();
    if (!zongji) return;
    await stopZongji(zongji);
  }

  private onStreamError(zongji: ZongJiInstance, error: Error): void {
    const { host, port } = this.options.connection;
    this.fail(unsupportedEventError(error, `${host}:${port}`, this.describeHere(zongji, undefined)) ?? error);
  }

  private onBinlogEvent(zongji: ZongJiInstance, event: BinlogEventLike): void {
    const name = event.getEventName();
    switch (name) {
      case 'writerows':
      case 'updaterows':
      case 'deleterows':
        this.onRows(zongji, event, name);
        return;
      case 'xid':
        this.inGroup = false;
        this.requireNoUndecodedChange();
        this.pushBoundary(zongji, event, undefined);
        return;
      case 'unknown':
        this.undecodedEventAt ??= this.describeHere(zongji, event.gtid);
        return;
      case 'mariadbgtid':
        // A prepared XA transaction's group starts here, its xid in the event (see xa-statement.ts).
        this.xa = event.preparedXa ? xidOfEvent(event) : undefined;
        return;
      case 'xaprepare':
        this.onXaPrepare(zongji, event);
        return;
      case 'query': {
        const statement = (event.query ?? '').trim();
        const xa = parseXaStatement(statement);
        if (xa) {
          this.onXaStatement(zongji, event, xa);
          return;
        }
        const upper = statement.slice(0, 16).toUpperCase();
        const ends = upper === 'COMMIT' || upper === 'ROLLBACK';
        if (ends) this.requireNoUndecodedChange();
        else this.undecodedEventAt = undefined;
        if (upper === 'BEGIN') this.inGroup = true;
        if (upper === 'BEGIN' || upper.startsWith('SAVEPOINT')) return;
        // A change of rows logged as a statement belongs to its transaction: no boundary.
        if (this.onStatementDml(zongji, event, statement)) return;
        if (!ends) this.trackStatement(zongji, event, statement);
        if (!ends) this.pushTableResets(zongji, event, statement);
        if (!ends) this.onRowsMoved(zongji, event, statement);
        // COMMIT or ROLLBACK closes a non-transactional group. A DDL is a transaction of its own,
        // unless it is inside BEGIN ... COMMIT (CREATE TABLE ... SELECT under ROW: the bare CREATE,
        // then its rows): the boundary is then the group's end.
        if (this.inGroup && !ends) return;
        this.inGroup = false;
        this.pushBoundary(zongji, event, ends ? undefined : statement);
        return;
      }
      case 'rotate':
        this.currentFile = zongji.options.filename ?? this.currentFile;
        return;
      case 'tablemap': {
        // zongji reads collation ids it does not know (most of MariaDB's own) as utf8mb4.
        // A column type zongji cannot read (zongji-table-map.ts): the table stops, its rows are skipped.
        const problem = unreadableTableMap(event) ?? applyServerCollations(event, this.collations ?? builtInCollations());
        if (problem) {
          const decision = this.options.router.decide(event.schemaName ?? '', event.tableName ?? '');
          if (decision.kind === 'routed') this.failTarget(decision.target, problem, this.describeHere(zongji, event.gtid));
        }
        readGeometryAsBytes(event);
        readSingleByteTextAsBytes(event);
        return;
      }
      default:
        return;
    }
  }

  private onRows(zongji: ZongJiInstance, event: BinlogEventLike, name: string): void {
    const tableMap = event.tableMap?.[event.tableId ?? -1] as RawTableMap | undefined;
    if (!tableMap) return;
    const schema = tableMap.parentSchema;
    const table = tableMap.tableName;
    const rows = event.rows ?? [];
    const decision = this.options.router.decide(schema, table);
    if (decision.kind !== 'routed') {
      if (decision.kind === 'unmatched') this.options.router.countUnmatched(schema, table, rows.length);
      return;
    }
    const target = routeKey(decision.target);
    if (this.failedTargets.has(target) || this.options.skipsRows?.(target, this.nextSequence)) {
      this.nextSequence += BigInt(rows.length);
      return;
    }
    const op: ChangeOp = name === 'writerows' ? 'insert' : name === 'updaterows' ? 'update' : 'delete';
    const missing = missingColumns(event, tableMap.columnSchemas.map((column) => column.COLUMN_NAME));
    if (missing.before.length > 0 || missing.after.length > 0) {
      // A partial row image (binlog_row_image=MINIMAL or NOBLOB): its rows keep their sequence numbers.
      const at = this.describeHere(zongji, event.gtid);
      this.failTarget(decision.target, partialRowImageError({ source: `${schema}.${table}`, target, at, missing, op }), at);
      this.nextSequence += BigInt(rows.length);
      return;
    }
    const position = this.changePosition(zongji, event);
    const commitTs = Math.floor(event.timestamp / 1000);
    const firstSequence = this.nextSequence;
    try {
      const columns = this.columnsOf(tableMap);
      for (const row of rows) {
        const image = row as Record<string, unknown>;
        const before = op === 'insert' ? null : this.imageOf(op === 'update' ? image.before : image, columns);
        const after = op === 'delete' ? null : this.imageOf(op === 'update' ? image.after : image, columns);
        this.push({
          kind: 'change',
          event: { schema, table, op, columns, before, after, commitTs, position, sequence: this.nextSequence++, ...(this.xa ? { xid: this.xa } : {}) },
        });
      }
    } catch (error) {
      if (!isTableScopedError(error)) throw error;
      // The rows of the event already handed on are given up with the target: stopping a table
      // deletes all it staged since its last checkpoint. Every row keeps its sequence number.
      this.failTarget(decision.target, error, this.describeHere(zongji, event.gtid));
      this.nextSequence = firstSequence + BigInt(rows.length);
    }
  }

  /**
   * One marker change per captured table a statement empties (TRUNCATE, DROP TABLE: see
   * table-reset.ts), before the statement's boundary. A marker takes a sequence number as a row
   * does, also when its target skips it, so every read of the stretch numbers it the same.
   */
  private pushTableResets(zongji: ZongJiInstance, event: BinlogEventLike, statement: string): void {
    this.pushMarkers(zongji, event, tablesEmptiedBy(statement, event.schema ?? '', this.describeHere(zongji, event.gtid)));
  }

  private pushMarkers(zongji: ZongJiInstance, event: BinlogEventLike, tables: TableRef[]): void {
    for (const table of tables) {
      const decision = this.options.router.decide(table.schema, table.table);
      if (decision.kind !== 'routed') continue;
      const target = routeKey(decision.target);
      const sequence = this.nextSequence++;
      if (this.failedTargets.has(target) || this.options.skipsRows?.(target, sequence)) continue;
      this.push({ kind: 'change', event: truncateMarker(table, Math.floor(event.timestamp / 1000), this.changePosition(zongji, event), sequence) });
    }
  }

  private changePosition(zongji: ZongJiInstance, event: BinlogEventLike): SourcePosition {
    return {
      file: zongji.options.filename ?? this.currentFile,
      offset: zongji.options.position ?? 0,
      ...(event.gtid ? { gtid: event.gtid } : {}),
    };
  }

  /**
   * A change of rows logged as a statement (binlog_format=STATEMENT or MIXED) stops every captured
   * table it may write, or the stream when those cannot be told. Such a statement takes one sequence
   * number, so that a table that has given up its changes past it (checkpoint skip-table) is not
   * stopped again by it when the stretch is read again for another table. Returns whether the
   * statement was such a change.
   */
  private onStatementDml(zongji: ZongJiInstance, event: BinlogEventLike, statement: string): boolean {
    const kind = classifyStatement(statement, event.schema ?? '');
    if (kind.kind === 'dml-unknown') {
      this.fail(unboundedStatementError({ verb: kind.verb, statement, reason: kind.reason, at: this.describeHere(zongji, event.gtid) }));
      return true;
    }
    if (kind.kind === 'ddl' && kind.rowsInto) this.stopTablesWritten(zongji, event, statement, 'CREATE TABLE ... SELECT', [kind.rowsInto]);
    if (kind.kind !== 'dml') return false;
    this.stopTablesWritten(zongji, event, statement, kind.verb, kind.tables);
    return true;
  }

  private stopTablesWritten(zongji: ZongJiInstance, event: BinlogEventLike, statement: string, verb: string, tables: TableRef[]): void {
    this.stopTables(zongji, event, tables, (source, target, at) => statementDmlError({ source, target, verb, statement, at }));
  }

  /**
   * Stops every captured one of `tables`, whose changes at this statement have no rows. The statement
   * takes one sequence number, so that a table that has given up its changes past it (checkpoint
   * skip-table) is not stopped again by it when the stretch is read again for another table.
   */
  private stopTables(zongji: ZongJiInstance, event: BinlogEventLike, tables: TableRef[], errorFor: (source: string, target: string, at: string) => SluiceError): void {
    const routed = tables.flatMap((ref) => {
      const decision = this.options.router.decide(ref.schema, ref.table);
      return decision.kind === 'routed' ? [{ ref, target: decision.target }] : [];
    });
    if (routed.length === 0) return;
    const sequence = this.nextSequence++;
    const at = this.describeHere(zongji, event.gtid);
    for (const { ref, target } of routed) {
      const key = routeKey(target);
      if (this.options.skipsRows?.(key, sequence)) continue;
      this.failTarget(target, errorFor(`${ref.schema}.${ref.table}`, key, at), at);
    }
  }

  /**
   * A DDL statement that moved rows with no row events (rows-moved.ts): a marker for each captured
   * table it emptied, a stop for each one it changed otherwise; DROP DATABASE stops the stream.
   */
  private onRowsMoved(zongji: ZongJiInstance, event: BinlogEventLike, statement: string): void {
    const moved = rowsMovedBy(statement, event.schema ?? '', (table) => this.options.router.isCaptured(table.schema, table.table));
    if (!moved) return;
    if (moved.droppedSchema !== undefined && this.options.router.mayCaptureSchema(moved.droppedSchema)) {
      this.fail(droppedDatabaseError({ schema: moved.droppedSchema, statement, at: this.describeHere(zongji, event.gtid) }));
      return;
    }
    this.pushMarkers(zongji, event, moved.emptied);
    for (const { table, what } of moved.changed) {
      this.stopTables(zongji, event, [table], (source, target, at) => rowsMovedError({ source, target, what, statement, at }));
    }
  }

  /** At a transaction's end: an undecoded event with no statement after it was a LOAD DATA logged as a statement. */
  private requireNoUndecodedChange(): void {
    const at = this.undecodedEventAt;
    this.undecodedEventAt = undefined;
    if (at !== undefined) this.fail(loadDataStatementError(at));
  }

  /**
   * The rows of an XA transaction carry its xid and end at XA PREPARE, with a boundary: the position
   * moves past them (a restart never reads them again), and the sink holds them until the outcome.
   */
  private onXaPrepare(zongji: ZongJiInstance, event: BinlogEventLike): void {
    const xid = xidOfEvent(event) ?? this.xa;
    this.xa = undefined;
    if (xid === undefined) throw new SluiceError('SLUICE_BINLOG_STREAM', `an XA_PREPARE event without an xid at ${this.describeHere(zongji, event.gtid)}`);
    this.pushBoundary(zongji, event, undefined, { xid, action: event.onePhase ? 'one-phase' : 'prepare' });
  }

  private onXaStatement(zongji: ZongJiInstance, event: BinlogEventLike, xa: XaStatement): void {
    switch (xa.verb) {
      case 'start': // MySQL's way of opening the group (MariaDB's is the GTID event)
        this.xa = xa.xid;
        return;
      case 'end': // rows end here, but the transaction only ends at XA PREPARE: no boundary
      case 'prepare': // mariadb-binlog's text for the XA_PREPARE event; never a Query event of its own
        return;
      case 'commit':
        this.xa = undefined;
        // ONE PHASE is an ordinary transaction in MariaDB's binlog; any rows before it were marked.
        this.pushBoundary(zongji, event, undefined, { xid: xa.xid, action: xa.onePhase ? 'one-phase' : 'commit' });
        return;
      case 'rollback':
        this.xa = undefined;
        this.pushBoundary(zongji, event, undefined, { xid: xa.xid, action: 'rollback' });
        return;
    }
  }

  private failTarget(target: Route, error: SluiceError, at: string): void {
    const key = routeKey(target);
    if (this.failedTargets.has(key)) return;
    this.failedTargets.add(key);
    this.push({ kind: 'table-failed', target, error, at });
  }

  private describeHere(zongji: ZongJiInstance, gtid: string | undefined): string {
    const here = `${zongji.options.filename ?? this.currentFile}:${zongji.options.position ?? 0}`;
    return gtid ? `${here} (GTID ${gtid})` : here;
  }

  private imageOf(raw: unknown, columns: SourceColumn[]): ReturnType<typeof toCellValue>[] {
    const values = raw as Record<string, unknown>;
    return columns.map((column) => toCellValue(values[column.name], column));
  }

  private columnsOf(tableMap: RawTableMap): SourceColumn[] {
    let columns = this.columnsByMap.get(tableMap);
    if (!columns) {
      columns = tableMap.columnSchemas.map((column) => ({
        name: column.COLUMN_NAME,
        mysqlType: column.COLUMN_TYPE.toLowerCase(),
        charset: column.CHARACTER_SET_NAME,
      }));
      requireDecodableLayout(tableMap, columns);
      this.columnsByMap.set(tableMap, columns);
    }
    return columns;
  }

  private pushBoundary(zongji: ZongJiInstance, event: BinlogEventLike, statement: string | undefined, xa?: XaStep): void {
    const position = this.boundaryAfter(zongji, event);
    this.lastBoundary = position;
    this.push({ kind: 'boundary', position, nextSequence: this.nextSequence, ...(statement ? { statement } : {}), ...(xa ? { xa } : {}) });
  }

  private boundaryAfter(zongji: ZongJiInstance, event: BinlogEventLike): BinlogPosition {
    let gtidSet = zongji.gtidSet;
    if (event.gtid && !event.gtid.includes(':')) gtidSet = advanceMariadbGtidPosition(gtidSet, event.gtid);
    // zongji leaves a prepared XA transaction's GTID out of its set until the next group (MySQL gives
    // the PREPARE its own GTID): a restart from here must not read the prepared rows again.
    else if (event.gtid && gtidSet !== undefined && event.getEventName() === 'xaprepare') gtidSet = addMysqlGtid(gtidSet, event.gtid);
    return {
      file: zongji.options.filename ?? this.currentFile,
      offset: zongji.options.position ?? 0,
      ...(gtidSet !== undefined ? { gtidSet } : {}),
    };
  }

  /**
   * Records in the schema history what a statement does to captured tables, before its boundary is
   * handed on: so the history is saved before any checkpoint past the statement. zongji's cached
   * descriptions of those tables go, so that their next TableMap asks again.
   */
  private trackStatement(zongji: ZongJiInstance, event: BinlogEventLike, statement: string): void {
    if (!this.tracker || !this.tracking) return;
    const after = this.boundaryAfter(zongji, event);
    const changed = this.tracker.onStatement(statement, event.schema ?? '', this.lastBoundary ?? after, after);
    if (changed.length === 0) return;
    const names = new Set(changed.map((ref) => `${ref.schema}.${ref.table}`.toLowerCase()));
    for (const [tableId, cached] of Object.entries(zongji.tableMap)) {
      if (cached && names.has(`${cached.parentSchema}.${cached.tableName}`.toLowerCase())) delete zongji.tableMap[Number(tableId)];
    }
  }

  /**
   * Column descriptions for a TableMap without names. For a captured table they come from the
   * schema history at the transaction's position (zongji's own lookup reads information_schema
   * now, which is wrong for any event written before the table's last change). zongji has paused
   * the socket and resumes it in `next`.
   */
  private fetchTableColumns(zongji: ZongJiInstance, event: TableMapEventLike, next: () => void, fromInformationSchema: (event: TableMapEventLike, next: () => void) => void): void {
    const resume = (): void => {
      this.fetching--;
      // zongji resumes the socket in `next`, and the events held meanwhile are pushed from there:
      // the queue's own pause must be able to stop them again.
      this.paused = false;
      next();
      this.pauseIfFull();
    };
    this.fetching++;
    const tracker = this.tracker;
    // FULL metadata names the columns; zongji still asks for MariaDB's pre-10.0 temporal columns,
    // whose precision only the table definition has.
    if (!tracker || event.columnNames !== undefined) {
      fromInformationSchema(event, resume);
      return;
    }
    const schema = event.schemaName;
    const table = event.tableName;
    const decision = this.options.router.decide(schema, table);
    if (decision.kind !== 'routed') {
      if (!hasOptionalMetadata(event)) {
        fromInformationSchema(event, resume);
        return;
      }
      zongji.tableMap[event.tableId] = { columnSchemas: anonymousColumnSchemas(event), parentSchema: schema, tableName: table };
      resume();
      return;
    }
    this.tracking = true;
    const gtidSet = this.lastBoundary?.gtidSet;
    // zongji's position inside a transaction is the one before it: an event start, which SHOW BINLOG EVENTS can read from.
    const at: BinlogPosition = { file: zongji.options.filename ?? this.currentFile, offset: zongji.options.position ?? 0, ...(gtidSet !== undefined ? { gtidSet } : {}) };
    const giveUp = (error: unknown): void => {
      // The table's columns cannot be known here: give the table up, not the stream, when the
      // TableMap's own types let zongji read past its rows (they are skipped, unparsed by sluice).
      if (isTableScopedError(error) && hasOptionalMetadata(event)) {
        zongji.tableMap[event.tableId] = { columnSchemas: anonymousColumnSchemas(event), parentSchema: schema, tableName: table };
        this.failTarget(decision.target, error, describePosition(at));
        resume();
        return;
      }
      this.fetching--;
      this.fail(error as Error);
    };
    tracker.columnsAt(schema, table, at).then((found) => {
      try {
        const columnSchemas = columnSchemasFor(event, found.schema, { table: `${schema}.${table}`, position: describePosition(at), source: found.source });
        zongji.tableMap[event.tableId] = { columnSchemas, parentSchema: schema, tableName: table };
      } catch (error) {
        giveUp(error);
        return;
      }
      resume();
    }, giveUp);
  }

  private push(item: SourceItem): void {
    // Nothing after a failure is handed on: zongji reads on past an event it reports and cannot
    // decode, and a boundary after that event would let a checkpoint step over it.
    if (this.failure) return;
    this.queue.push(item);
    this.pauseIfFull();
    this.wake();
  }

  private pauseIfFull(): void {
    if (!this.paused && this.queuedItems >= this.options.maxQueuedItems && this.zongji?.connection) {
      this.paused = true;
      this.zongji.connection.pause();
    }
  }

  private maybeResume(): void {
    if (this.paused && this.fetching === 0 && this.queuedItems <= this.options.maxQueuedItems / 2) {
      this.paused = false;
      this.zongji?.connection?.resume();
    }
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  private fail(error: Error): void {
    if (this.failure) return;
    const { host, port } = this.options.connection;
    const here = this.zongji ? this.describeHere(this.zongji, undefined) : 'the start';
    this.failure = eventTooLargeError(error, `${host}:${port}`, here) ?? classifyStreamError(error, this.options.connection, this.options.serverId);
    this.wake();
  }
}

interface BinlogEventLike {
  getEventName(): string;
  timestamp: number;
  nextPosition: number;
  gtid?: string;
  query?: string;
  /** A Query event's default database. */
  schema?: string;
  tableId?: number;
  tableMap?: Record<number, unknown>;
  rows?: unknown[];
  /** A rows event's columns-present bitmaps (before image, or the row; the after image of an update). */
  numberOfColumns?: number;
  columns_present_bitmap?: Buffer;
  columns_present_bitmap2?: Buffer;
  /** A TableMap event's table. */
  schemaName?: string;
  tableName?: string;
  _columnCharsetIds?: (number | undefined)[];
  _enumSetValues?: (Buffer[] | undefined)[];
  /** MariaDB GTID event: the group is a prepared XA transaction (its xid follows). */
  preparedXa?: boolean;
  /** XA_PREPARE event: XA COMMIT ... ONE PHASE (MySQL). */
  onePhase?: boolean;
  xidFormatId?: number;
  xidGtrid?: Buffer;
  xidBqual?: Buffer;
}


/** A column as zongji reads it from the row image (lib/binlog_event.js updateColumnInfo). */
interface ZongJiColumn {
  type: number;
  charset: string | null;
  metadata?: Record<string, unknown>;
}

/**
 * zongji 0.9 parses a geometry value into bare coordinates and drops its WKB type (a LINESTRING and
 * a MULTIPOINT come out alike), so a GEOMETRY or GEOMETRYCOLLECTION column could not be written
 * back exactly. In the row image a geometry is a length-prefixed blob (4-byte SRID, then the WKB),
 * laid out as a BLOB is; read as a BLOB without a charset, zongji hands over those bytes and
 * toCellValue keeps the WKB. Runs on every TableMap event, before the rows that use it are parsed.
 */
function readGeometryAsBytes(event: BinlogEventLike): void {
  const tableMap = event.tableMap?.[event.tableId ?? -1] as { columns?: ZongJiColumn[] } | undefined;
  for (const column of tableMap?.columns ?? []) {
    if (column.type !== MYSQL_TYPE_GEOMETRY) continue;
    column.type = MYSQL_TYPE_BLOB;
    column.charset = null;
  }
}

/**
 * zongji decodes text in MySQL's 8-bit charsets with iconv-lite, whose tables are not MySQL's (see
 * single-byte-charsets.ts): latin1's 0x81, 0x8D, 0x8F, 0x90 and 0x9D become U+FFFD, a few bytes of
 * other charsets become other characters. Read as a BLOB without a charset, a CHAR, VARCHAR or TEXT
 * column comes over as its bytes, and toCellValue decodes them by MySQL's own table. The row image
 * lays out a CHAR or VARCHAR value as a BLOB with a 1-byte length when the column holds at most 255
 * bytes, else a 2-byte one. Under FULL metadata the ENUM and SET members come in the TableMap as bytes,
 * which zongji has decoded by iconv-lite too: they are decoded again here.
 *
 * Runs on every TableMap event, after applyServerCollations (so that a column in a collation zongji
 * does not know, such as latin1_nopad_bin, has its real charset here) and before the rows that use it
 * are parsed; zongji keeps the columns of
 * a table it looked up in information_schema from one TableMap to the next, so a column it has
 * already rewritten must stay as it is.
 */
export function readSingleByteTextAsBytes(event: { tableId?: number; tableMap?: Record<number, unknown>; _enumSetValues?: (Buffer[] | undefined)[] }): void {
  const tableMap = event.tableMap?.[event.tableId ?? -1] as { columns?: ZongJiColumn[]; columnSchemas?: ZongJiColumnSchema[] } | undefined;
  tableMap?.columns?.forEach((column, index) => {
    if (column.charset === null || !isSingleByteCharset(column.charset)) return;
    switch (column.type) {
      case MYSQL_TYPE_VARCHAR:
      case MYSQL_TYPE_STRING:
      case MYSQL_TYPE_VARCHAR_COMPRESSED: {
        const maxLength = Number(column.metadata?.max_length);
        column.type = column.type === MYSQL_TYPE_VARCHAR_COMPRESSED ? MYSQL_TYPE_BLOB_COMPRESSED : MYSQL_TYPE_BLOB;
        column.metadata = { length_size: maxLength > 255 ? 2 : 1 };
        column.charset = null;
        return;
      }
      case MYSQL_TYPE_TINY_BLOB:
      case MYSQL_TYPE_BLOB:
      case MYSQL_TYPE_MEDIUM_BLOB:
      case MYSQL_TYPE_LONG_BLOB:
      case MYSQL_TYPE_BLOB_COMPRESSED:
        column.charset = null;
        return;
      case MYSQL_TYPE_ENUM:
      case MYSQL_TYPE_SET: {
        const members = event._enumSetValues?.[index];
        const schema = tableMap.columnSchemas?.[index];
        if (!members || !schema) return;
        const names = members.map((bytes) => decodeSingleByte(bytes, column.charset!)!);
        const keyword = column.type === MYSQL_TYPE_ENUM ? 'enum' : 'set';
        // zongji's spelling of the type, around the members as MySQL reads them.
        schema.COLUMN_TYPE = `${keyword}(${names.map((name) => `'${name.replace(/'/g, "''")}'`).join(',')})`;
        if (keyword === 'enum') schema.ENUM_VALUES = names;
        else schema.SET_VALUES = names;
        return;
      }
    }
  });
}

const GEOMETRY_TYPE = /^(geometry|point|linestring|polygon|multipoint|multilinestring|multipolygon|geometrycollection|geomcollection)\b/;
const CHARACTER_OR_BYTES_TYPE = /^(char|varchar|tinytext|text|mediumtext|longtext|binary|varbinary|tinyblob|blob|mediumblob|longblob|enum|set|json)\b/;

/**
 * zongji 0.9 misreads binlog_row_metadata=FULL for a table with a GEOMETRY column before a text or
 * binary column: MariaDB counts geometry columns in the charset list and zongji does not, so every
 * later character column gets its neighbour's charset (text read as blob, bytes read as latin1).
 * Its values would be silently wrong; stop before one is written.
 */
function requireDecodableLayout(tableMap: RawTableMap, columns: readonly SourceColumn[]): void {
  const firstGeometry = columns.findIndex((column) => GEOMETRY_TYPE.test(column.mysqlType));
  if (firstGeometry < 0) return;
  const affected = columns.slice(firstGeometry + 1).find((column) => CHARACTER_OR_BYTES_TYPE.test(column.mysqlType));
  if (!affected) return;
  const table = `${tableMap.parentSchema}.${tableMap.tableName}`;
  throw new SluiceError(
    'SLUICE_SCHEMA_UNSUPPORTED',
    `table ${table} has a geometry column (${columns[firstGeometry]!.name}) before the text or binary column ${affected.name}: ` +
      'zongji 0.9 decodes the character sets of such columns wrongly under binlog_row_metadata=FULL, so their values would be wrong. ' +
      'Exclude the table (routing.exclude), or move the geometry columns after the text and binary ones.',
    { context: { table } },
  );
}

function classifyStreamError(error: Error, connection: MysqlServerOptions, serverId: number): SluiceError {
  if (error instanceof SluiceError) return error;
  const server = `${connection.host}:${connection.port}`;
  // Before the errno 1236 test: MySQL reports a second replica with this id under that errno too.
  const conflict = serverIdConflict(error, server, serverId);
  if (conflict) return conflict;
  const errno = (error as { errno?: number }).errno;
  if (errno === 1236) {
    return new SluiceError(
      'SLUICE_BINLOG_POSITION_PURGED',
      `${server} no longer has the binlog position sluice needs: ${error.message}. ` +
        'Start from a position the server still has (see `SHOW BINARY LOGS`), or take a new snapshot.',
      { cause: error, context: { server } },
    );
  }
  return new SluiceError('SLUICE_BINLOG_STREAM', `binlog stream from ${server} failed: ${error.message}`, {
    cause: error,
    retriable: true,
    context: { server },
  });
}

export { describePosition };
