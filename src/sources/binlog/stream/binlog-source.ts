// Reads the binlog as a replica would (zongji over COM_BINLOG_DUMP) and hands on, in order, one item
// per row change and one per transaction boundary, through a bounded queue (source-queue.ts). zongji
// is built and patched in decode/ (zongji.ts, table-map-patches.ts); the columns of a table's rows
// come from column-lookup.ts.
import type { Logger } from 'pino';
import type { ChangeEvent, ChangeOp, SourceColumn, SourcePosition } from '../../../core/change-event.ts';
import type { SourceState } from '../../../core/source.ts';
import { connectMysql, type MysqlServerOptions } from '../../../core/mysql-connect.ts';
import { isTableScopedError, SluiceError } from '../../../core/errors.ts';
import { routeKey, type Route, type Router } from '../../../routing/router.ts';
import { builtInCollations, readServerCollations, type CollationCharsets } from '../decode/collations.ts';
import { patchTableMap } from '../decode/table-map-patches.ts';
import { replayTransactionPayload, type TransactionPayloadEvent } from '../decode/transaction-payload.ts';
import { decodeCellsWith } from '../decode/rows-event-patches.ts';
import { createZongJi, stopZongji, type ZongJiInstance } from '../decode/zongji.ts';
import { addMysqlGtid, advanceMariadbGtidPosition, type BinlogPosition } from '../position/binlog-position.ts';
import type { BinlogDumpStart } from '../position/dump-start.ts';
import type { TableRef } from '../schema/ddl-statement.ts';
import type { SchemaHistory } from '../schema/schema-history.ts';
import { SchemaTracker } from '../schema/schema-tracker.ts';
import { serverIdConflict } from '../server/server-id.ts';
import { ColumnLookup, type RawTableMap } from './column-lookup.ts';
import { cellDecoders, imageCells } from './row-cells.ts';
import { eventTooLargeError } from './event-too-large.ts';
import { droppedDatabaseError, rowsMovedBy, rowsMovedError } from './rows-moved.ts';
import { tableCreatedEmpty } from './table-created.ts';
import { SourceQueue } from '../../source-queue.ts';
import type { StreamMerge } from './stream-merge.ts';
import { classifyStatement } from './statement-dml.ts';
import { tablesEmptiedBy, truncateMarker } from './table-reset.ts';
import { loadDataStatementError, missingColumns, partialRowImageError, statementDmlError, unboundedStatementError, unsupportedEventError } from './unreadable-changes.ts';
import { parseXaStatement, xidOfEvent, type XaStatement, type XaStep } from './xa-statement.ts';

const MAX_SAFE_SEQUENCE = BigInt(Number.MAX_SAFE_INTEGER);

export type SourceItem =
  | { kind: 'change'; event: ChangeEvent }
  /** Every change before this item is part of a committed transaction; resuming at `position` replays none of them. */
  | {
      kind: 'boundary';
      position: BinlogPosition;
      nextSequence: bigint;
      statement?: string;
      /** The statement's default database and its time (Unix seconds), for sinks that pass DDL on (the Kafka sink's schema topic). */
      statementAt?: { schema: string; commitTs: number };
      xa?: XaStep;
      also?: Record<string, SourceState>;
    }
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
  /** Whether the server is MariaDB (see ColumnLookupOptions.geometryInCharsetLists); when unknown, taken as MariaDB. */
  isMariaDb?: boolean;
  /** Rows merged in at boundaries (the snapshot: stream-merge.ts). */
  merge?: StreamMerge;
  logger: Logger;
}

export class BinlogSource {
  private readonly queue: SourceQueue<SourceItem>;
  private readonly columns: ColumnLookup;
  private zongji: ZongJiInstance | undefined;
  private nextSequence: bigint;
  /** The server's collation ids, read before the dump starts (see collations.ts). */
  private collations: CollationCharsets | undefined;
  private currentFile = '';
  private readonly tracker: SchemaTracker | undefined;
  /** The last boundary handed on: where the next transaction's columns are looked up. */
  private lastBoundary: BinlogPosition | undefined;
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
  /** A change was handed on since the last boundary: merged rows wait for the next one. */
  private open = false;

  constructor(private readonly options: BinlogSourceOptions) {
    this.nextSequence = options.firstSequence;
    this.lastBoundary = options.startPosition;
    this.tracker = options.schemaHistory
      ? new SchemaTracker({
          history: options.schemaHistory,
          connection: options.connection,
          isCaptured: (schema, table) => options.router.decide(schema, table).kind === 'routed',
          logger: options.logger,
        })
      : undefined;
    this.queue = new SourceQueue(options.maxQueuedItems, () => this.zongji?.connection);
    this.columns = new ColumnLookup({
      router: options.router,
      tracker: this.tracker,
      tracking: options.trackSchemas ?? false,
      geometryInCharsetLists: options.isMariaDb ?? true,
      queue: this.queue,
      failTarget: (target, error, at) => this.failTarget(target, error, at),
      fail: (error) => this.fail(error),
    });
  }

  start(from: BinlogDumpStart): void {
    const { connection } = this.options;
    const zongji = createZongJi(connection);
    this.zongji = zongji;
    this.options.merge?.attach(
      () => {
        if (this.zongji === zongji && !this.open && this.lastBoundary) this.merge(this.lastBoundary, undefined);
      },
      (error) => this.fail(error),
      this.lastBoundary,
      // The same mark the queue resumes a paused socket at: merged rows wait, as the binlog does.
      () => this.queue.length <= this.options.maxQueuedItems / 2,
      (table, error) => this.stopSource(table, error),
    );
    this.columns.install(zongji, () => {
      const gtidSet = this.lastBoundary?.gtidSet;
      // zongji's position inside a transaction is the one before it: an event start, which SHOW BINLOG EVENTS can read from.
      return { file: zongji.options.filename ?? this.currentFile, offset: zongji.options.position ?? 0, ...(gtidSet !== undefined ? { gtidSet } : {}) };
    });
    // The readers give a routed table's cells themselves where they can (row-readers.ts).
    decodeCellsWith(zongji, (tableMap) => this.cellColumnsOf(tableMap as unknown as RawTableMap));
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
      includeEvents: ['tablemap', 'writerows', 'updaterows', 'deleterows', 'xid', 'query', 'rotate', 'unknown', 'mariadbgtid', 'xaprepare', 'transactionpayload'],
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
  next(): Promise<SourceItem> {
    return this.queue.next();
  }

  /** The next item if one is queued already (see Source.poll). */
  poll(): SourceItem | undefined {
    return this.queue.poll();
  }

  /** Queues a tick behind everything received so far. */
  injectTick(): void {
    this.push({ kind: 'tick' });
  }

  get queuedItems(): number {
    return this.queue.length;
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
        if (!ends) this.noteCreated(event, statement);
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
      case 'transactionpayload': {
        // A compressed transaction: its inner events come back through this handler, in order.
        const server = `${this.options.connection.host}:${this.options.connection.port}`;
        replayTransactionPayload(zongji, event as unknown as TransactionPayloadEvent, {
          describe: () => this.describeHere(zongji, event.gtid),
          classify: (error, at) => unsupportedEventError(error, server, at),
        }).catch((error: Error) => this.fail(error));
        return;
      }
      case 'tablemap': {
        // A table zongji cannot read (table-map-patches.ts): the table stops, its rows are skipped.
        const problem = patchTableMap(event, this.collations ?? builtInCollations());
        this.columns.notePrimaryKey(zongji, event);
        if (problem) {
          const decision = this.options.router.decide(event.schemaName ?? '', event.tableName ?? '');
          if (decision.kind === 'routed') this.failTarget(decision.target, problem, this.describeHere(zongji, event.gtid));
        }
        return;
      }
      default:
        return;
    }
  }

  /** The columns of a table's changes for the row readers, for a routed table whose columns can be known. */
  private cellColumnsOf(tableMap: RawTableMap): readonly SourceColumn[] | undefined {
    if (this.options.router.decide(tableMap.parentSchema, tableMap.tableName).kind !== 'routed') return undefined;
    try {
      return this.columns.columnsOf(tableMap);
    } catch {
      // onRows meets the same error and stops the table.
      return undefined;
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
    const missing = missingColumns(event, tableMap.columnSchemas);
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
    const endSequence = firstSequence + BigInt(rows.length);
    // The rows' numbers as numbers while the last is a safe integer (exact, the same text), instead
    // of a BigInt per row; at a million changes a second a stream gets past 2^53 in 285 years.
    const asNumbers = endSequence <= MAX_SAFE_SEQUENCE;
    const firstNumber = asNumbers ? Number(firstSequence) : 0;
    const xid = this.xa;
    try {
      const columns = this.columns.columnsOf(tableMap);
      const decoders = cellDecoders(event, columns);
      for (let index = 0; index < rows.length; index++) {
        const row = rows[index];
        // An update's row is {before, after}; the others' is the image (row-cells.ts).
        const pair = row as { before: unknown; after: unknown };
        const before = op === 'insert' ? null : imageCells(op === 'update' ? pair.before : row, decoders);
        const after = op === 'delete' ? null : imageCells(op === 'update' ? pair.after : row, decoders);
        const sequence = asNumbers ? firstNumber + index : firstSequence + BigInt(index);
        // One shape for every change (xid undefined outside XA), not an object spread per row.
        this.pushChange({ schema, table, op, columns, before, after, commitTs, position, sequence, xid });
      }
      this.nextSequence = endSequence;
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
      this.pushChange(truncateMarker(table, Math.floor(event.timestamp / 1000), this.changePosition(zongji, event), sequence));
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
    if (kind.kind === 'ddl' && kind.rowsInto && !this.readAgain(kind.rowsInto)) this.stopTablesWritten(zongji, event, statement, 'CREATE TABLE ... SELECT', [kind.rowsInto]);
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
      if (this.readAgain(table)) continue;
      this.stopTables(zongji, event, [table], (source, target, at) => rowsMovedError({ source, target, what, statement, at }));
    }
  }

  /** A captured table that got rows with no row events: the snapshot reads it again, if there is one (stream-merge.ts). */
  private readAgain(table: TableRef): boolean {
    return this.options.router.isCaptured(table.schema, table.table) && (this.options.merge?.readAgain?.(`${table.schema}.${table.table}`) ?? false);
  }

  private noteCreated(event: BinlogEventLike, statement: string): void {
    if (!this.options.merge?.created) return;
    const table = tableCreatedEmpty(statement, event.schema ?? '');
    if (table && this.options.router.isCaptured(table.schema, table.table)) this.options.merge.created(`${table.schema}.${table.table}`);
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

  /** The merge cannot read a captured source table 'db.table': its target stops, the others go on. */
  private stopSource(table: string, error: SluiceError): void {
    const dot = table.indexOf('.');
    const decision = this.options.router.decide(table.slice(0, dot), table.slice(dot + 1));
    const at = this.lastBoundary ? `${this.lastBoundary.file}:${this.lastBoundary.offset}` : 'the start';
    if (decision.kind === 'routed') this.failTarget(decision.target, error, at);
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

  private pushBoundary(zongji: ZongJiInstance, event: BinlogEventLike, statement: string | undefined, xa?: XaStep): void {
    const position = this.boundaryAfter(zongji, event);
    this.lastBoundary = position;
    this.open = false;
    const also = this.options.merge?.statesAt(this.nextSequence);
    this.push({
      kind: 'boundary',
      position,
      nextSequence: this.nextSequence,
      ...(statement ? { statement, statementAt: { schema: event.schema ?? '', commitTs: Math.floor(event.timestamp / 1000) } } : {}),
      ...(xa ? { xa } : {}),
      ...(also ? { also } : {}),
    });
    if (this.options.merge) this.merge(position, statement);
  }

  /** The merged rows due at this boundary, numbered on from the stream's, then a boundary that records them. */
  private merge(position: BinlogPosition, statement: string | undefined): void {
    const merge = this.options.merge!;
    if (this.queue.failed) return;
    let changes: ReturnType<StreamMerge['atBoundary']>;
    try {
      changes = merge.atBoundary(position, statement);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    if (!changes) return;
    for (const change of changes) this.push({ kind: 'change', event: { ...change, sequence: this.nextSequence++ } });
    const also = merge.statesAt(this.nextSequence);
    this.push({ kind: 'boundary', position, nextSequence: this.nextSequence, ...(also ? { also } : {}) });
  }

  private pushChange(event: ChangeEvent): void {
    this.open = true;
    this.options.merge?.onChange(event);
    this.push({ kind: 'change', event });
  }

  private boundaryAfter(zongji: ZongJiInstance, event: BinlogEventLike): BinlogPosition {
    let gtidSet = zongji.gtidSet;
    if (event.gtid && !event.gtid.includes(':')) gtidSet = advanceMariadbGtidPosition(gtidSet, event.gtid);
    // zongji adds a MySQL GTID to its set at a commit marker (XID, COMMIT, XA COMMIT), but leaves a
    // prepared XA transaction's (MySQL gives the PREPARE its own GTID) and a statement's that is a
    // transaction of its own (TRUNCATE, ALTER, DROP: no XID) out until the next group begins. A
    // restart from here must not read them again: a TRUNCATE read twice is two markers.
    else if (event.gtid && gtidSet !== undefined && !this.inGroup) gtidSet = addMysqlGtid(gtidSet, event.gtid);
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
    if (!this.tracker || !this.columns.tracking) return;
    const after = this.boundaryAfter(zongji, event);
    const changed = this.tracker.onStatement(statement, event.schema ?? '', this.lastBoundary ?? after, after);
    if (changed.length > 0) this.columns.forget(zongji, changed);
  }

  private push(item: SourceItem): void {
    this.queue.push(item);
  }

  private fail(error: Error): void {
    if (this.queue.failed) return;
    const { host, port } = this.options.connection;
    const here = this.zongji ? this.describeHere(this.zongji, undefined) : 'the start';
    this.queue.fail(eventTooLargeError(error, `${host}:${port}`, here) ?? classifyStreamError(error, this.options.connection, this.options.serverId));
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
  /** A TableMap event's primary key under FULL metadata: column indexes. */
  primaryKey?: number[];
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

