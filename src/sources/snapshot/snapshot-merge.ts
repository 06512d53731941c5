// The snapshot of existing rows, merged into the binlog stream chunk by chunk with watermarks
// (DBLog; Flink CDC's incremental snapshot), so that the hand-over to the stream has no gap and no
// duplicate:
//   1. At a boundary of the stream (the low watermark) a chunk is asked for, and from there on the
//      keys of every change of its table the stream hands on are noted.
//   2. The chunk is read (chunk-reader.ts): on MySQL once the server has committed the stream's GTID
//      set at step 1 (gtid-wait.ts), the rows after the last key done, up to the table's last key
//      when its first chunk was read, then the binlog's end (the high watermark).
//   3. At the first boundary at or past the high watermark, the chunk's rows go into the stream as
//      changes with op 'read', numbered there, minus every row whose key changed since step 1: the
//      stream carries those changes, which are newer than what was read.
// So every row of a chunk lands once, as of the point where it is numbered, ordered before the
// stream's later changes of its key. A TRUNCATE or DDL of the table while a chunk is under way drops
// the chunk, which is read again. Memory: one chunk's rows, and the keys changed meanwhile.
import type { Logger } from 'pino';
import type mysql from 'mysql2/promise';
import type { ChangeEvent } from '../../core/change-event.ts';
import type { SourceState } from '../../core/source.ts';
import type { SluiceMetrics } from '../../runtime/metrics.ts';
import type { BinlogPosition } from '../binlog/position/binlog-position.ts';
import { isAtOrBefore } from '../binlog/position/position-order.ts';
import type { MergedChange, StreamMerge } from '../binlog/stream/stream-merge.ts';
import type { TableKey } from '../table/table-key.ts';
import { isSluiceError, SluiceError } from '../../core/errors.ts';
import { readChunk, type Chunk } from './chunk-reader.ts';
import type { GtidWait } from './gtid-wait.ts';
import { keyPositions, rowKey } from './row-key.ts';
import { askedBy, readAgain, SNAPSHOT, type AskedBy, type SnapshotProgress, type SnapshotState } from './snapshot-progress.ts';
import { readSignal } from './snapshot-signal.ts';
import { keyOrNothing } from './table-added.ts';
import { SnapshotWatch } from './snapshot-watch.ts';
import { estimateRows } from './table-estimate.ts';

export interface SnapshotMergeOptions {
  connection: mysql.Connection;
  isMariaDb: boolean;
  /**
   * MySQL: each read waits until the server has committed the stream's GTID set where its window
   * opened (gtid-wait.ts). Undefined on MariaDB, whose consistent snapshot needs no wait.
   */
  waitForGtids?: Omit<GtidWait, 'gtidSet'>;
  progress: SnapshotProgress;
  /** The key of every table still to read, by source 'db.table' (a table added later has its key read when its turn comes). */
  keys: ReadonlyMap<string, TableKey>;
  chunkRows: number;
  chunkBytes: number;
  /** While true, no chunk is handed on (a table is stopped, or tables catch up after one: see snapshot-plan.ts). */
  held: () => boolean;
  /** Every table is read and handed on (called once, outside the stream's own calls). */
  onDone?: () => void;
  logger: Logger;
  metrics: SluiceMetrics;
  /** A terminal for the progress line (stderr when it is one); without it the progress is logged. */
  tty?: NodeJS.WriteStream;
  /** snapshot.signalTable: its inserted rows are signals (snapshot-signal.ts); `isCaptured` checks the tables they name. */
  signals?: { table: string; isCaptured: (table: string) => boolean };
}

interface Pending {
  table: string;
  key: TableKey;
  /**
   * Keys of the table's changes the stream handed on since the chunk was asked for; once the chunk is
   * read, only those of its rows (so the set stays within the chunk's size however long the wait).
   */
  changed: Set<string>;
  /** The chunk's row keys, once it is read. */
  rowKeys?: Set<string>;
  /** Where the key columns sit in a change's columns, by that columns array. */
  positions: WeakMap<readonly unknown[], number[]>;
  chunk?: Chunk;
  /** A TRUNCATE of the table came: read the chunk again. */
  redo?: boolean;
}

/** How often a read waiting for room in the stream's queue looks again. */
const ROOM_POLL_MS = 20;

export class SnapshotMerge implements StreamMerge {
  private progress: SnapshotProgress;
  private pending: Pending | undefined;
  private wake: () => void = () => undefined;
  private fail: (error: Error) => void = () => undefined;
  private hasRoom: () => boolean = () => true;
  /** Reads run one after the other on the one connection. */
  private reading: Promise<void> = Promise.resolve();
  private limit: number;
  private closed = false;
  private rowsHandedOn = false;
  private readonly watch: SnapshotWatch;
  private readonly keys: Map<string, TableKey>;
  /** A table added while streaming whose key is being read: no chunk until it is known. */
  private keyLoading: string | undefined;
  /**
   * Tables without a key, stopped in this run: left out of the turn until asked for again. Their
   * read stays due in the record, so a start after a key is added reads them.
   */
  private readonly keyless = new Set<string>();
  private stop: (table: string, error: SluiceError) => void = () => undefined;

  constructor(private readonly options: SnapshotMergeOptions) {
    this.progress = options.progress;
    this.keys = new Map(options.keys);
    this.limit = Math.min(options.chunkRows, 1024);
    this.watch = new SnapshotWatch(options.logger, options.metrics, options.tty);
  }

  attach(wake: () => void, fail: (error: Error) => void, start: BinlogPosition | undefined, hasRoom?: () => boolean, stop?: (table: string, error: SluiceError) => void): void {
    this.wake = wake;
    this.fail = fail;
    if (stop) this.stop = stop;
    if (hasRoom) this.hasRoom = hasRoom;
    const next = this.next();
    // A table read again starts with its marker, which only a boundary of the stream can hand on.
    if (next !== undefined && this.progress.tables[next]!.reset) setImmediate(() => this.wake());
    else this.ask(start);
  }

  /** Stops reading; a read under way is dropped. */
  close(): void {
    this.closed = true;
    this.pending = undefined;
  }

  onChange(event: ChangeEvent): void {
    const signals = this.options.signals;
    if (signals && event.op === 'insert' && `${event.schema}.${event.table}` === signals.table) this.onSignal(event, signals.isCaptured);
    const pending = this.pending;
    if (!pending || `${event.schema}.${event.table}` !== pending.table) return;
    if (event.op === 'truncate') {
      pending.redo = true;
      return;
    }
    let positions = pending.positions.get(event.columns);
    if (!positions) {
      positions = keyPositions(event.columns, pending.key);
      pending.positions.set(event.columns, positions);
    }
    if (event.before) this.noteChanged(pending, rowKey(event.before, positions));
    if (event.after) this.noteChanged(pending, rowKey(event.after, positions));
  }

  /**
   * A signal row, at its place in the stream: the tables it names are read again as `sluice
   * snapshot` would, so the record at its boundary holds the request. An invalid one is skipped.
   */
  private onSignal(event: ChangeEvent, isCaptured: (table: string) => boolean): void {
    const signal = readSignal(event, isCaptured);
    const where = `${event.position.file}:${event.position.offset}`;
    if (signal.kind === 'invalid') {
      this.options.logger.warn({ signal: signal.id, reason: signal.reason, position: where }, `snapshot signal ${signal.id}: ${signal.reason}; skipped, the stream goes on`);
      return;
    }
    for (const table of signal.tables) {
      this.options.logger.info({ table, signal: signal.id, position: where }, `snapshot: signal ${signal.id} asks to read ${table} again; the other tables stream on`);
      this.readAgain(table, { signal: signal.id });
    }
  }

  private noteChanged(pending: Pending, key: string): void {
    if (!pending.rowKeys || pending.rowKeys.has(key)) pending.changed.add(key);
  }

  atBoundary(position: BinlogPosition, statement: string | undefined): MergedChange[] | undefined {
    const pending = this.pending;
    if (!pending) return this.keyLoading === undefined && this.next() !== undefined && !this.options.held() ? this.open(position) : undefined;
    if (pending.redo || (statement !== undefined && mentions(statement, pending.table))) {
      this.options.logger.info({ table: pending.table, statement: statement?.slice(0, 200) }, 'snapshot: the table changed while a chunk was read; reading the chunk again');
      this.ask(position);
      return undefined;
    }
    const chunk = pending.chunk;
    if (!chunk || this.options.held() || !isAtOrBefore(chunk.high, position)) return undefined;
    const commitTs = Math.floor(Date.now() / 1000);
    const [schema, table] = splitTable(chunk.table);
    const at = { file: position.file, offset: position.offset };
    const changes: MergedChange[] = [];
    chunk.rows.forEach((row, index) => {
      if (pending.changed.has(chunk.keys[index]!)) return;
      changes.push({ schema, table, op: 'read', columns: chunk.columns, before: null, after: row, commitTs, position: at });
    });
    this.handedOn(chunk, changes.length);
    return [...changes, ...this.open(position)];
  }

  /**
   * Reads `table` again from its start while the stream goes on (a table new to the routing, rows
   * moved in by a statement, an on-demand request): it joins the end of the list, and a truncate
   * marker goes before its first chunk. A read of it under way is dropped. Called between the
   * stream's events: the next boundary records it.
   */
  readAgain(table: string, asked: AskedBy = {}): boolean {
    if (this.closed) return false;
    this.progress = readAgain(this.progress, table, asked);
    this.keys.delete(table);
    this.keyless.delete(table);
    this.watch.forget(table);
    if (this.pending?.table === table) this.pending = undefined;
    // Not from inside the stream's call (a statement's): its boundary comes first.
    if (!this.pending) setImmediate(() => this.wake());
    return true;
  }

  /**
   * A captured table was created empty in the stream (CREATE TABLE, CREATE OR REPLACE): every row it
   * gets comes as a change from here on, so there is nothing to read; a read of it under way ends.
   */
  created(table: string): void {
    if (this.closed) return;
    const entry = this.progress.tables[table];
    if (entry?.done) return;
    this.progress = { ...this.progress, tables: { ...this.progress.tables, [table]: { rows: entry?.rows ?? 0, done: true, ...askedBy(entry) } } };
    // The statement's own boundary comes next and opens the next table's window.
    if (this.pending?.table === table) this.pending = undefined;
  }

  /** The next table's window opens at `position`: first its truncate marker when it is read again. */
  private open(position: BinlogPosition): MergedChange[] {
    const table = this.next();
    const entry = table === undefined ? undefined : this.progress.tables[table];
    if (table === undefined || !entry?.reset || !this.keys.has(table)) {
      this.ask(position);
      return [];
    }
    const [schema, name] = splitTable(table);
    const { reset: _reset, ...rest } = entry;
    this.progress = { ...this.progress, tables: { ...this.progress.tables, [table]: rest } };
    this.options.logger.info({ table, ...askedBy(entry) }, 'snapshot: reading the table again from its start, after a truncate marker');
    const marker: MergedChange = { schema, table: name, op: 'truncate', columns: [], before: null, after: null, commitTs: Math.floor(Date.now() / 1000), position: { file: position.file, offset: position.offset } };
    this.ask(position);
    return [marker];
  }

  statesAt(nextSequence: bigint): Record<string, SourceState> {
    if (this.rowsHandedOn) {
      this.rowsHandedOn = false;
      this.progress = { ...this.progress, rowsUpTo: nextSequence.toString() };
    }
    const state: SnapshotState = { kind: 'snapshot', position: this.progress, nextSequence: nextSequence.toString() };
    return { [SNAPSHOT]: state };
  }

  /** Records a chunk as handed on (a new progress object: records already taken keep theirs). */
  private handedOn(chunk: Chunk, rows: number): void {
    const before = this.progress.tables[chunk.table] ?? { rows: 0 };
    const table = {
      rows: before.rows + rows,
      ...(chunk.last ? { after: chunk.last } : before.after ? { after: before.after } : {}),
      ...(chunk.until ? { until: chunk.until } : {}),
      ...(chunk.end ? { done: true as const } : {}),
      ...askedBy(before),
    };
    this.progress = { ...this.progress, tables: { ...this.progress.tables, [chunk.table]: table } };
    this.rowsHandedOn = true;
    this.options.metrics.snapshotRows.inc({ source: chunk.table }, rows);
    // The next chunk's size follows the rows' size, so that one chunk stays near chunkBytes.
    if (chunk.rows.length > 0 && chunk.bytes > 0) {
      const fitting = Math.floor((chunk.rows.length * this.options.chunkBytes) / chunk.bytes);
      this.limit = Math.max(1, Math.min(this.options.chunkRows, fitting, this.limit * 2));
    }
    this.watch.chunk(chunk.table, table.rows, chunk.end);
  }

  /**
   * Asks for the next chunk at `low`, the stream's position (its last boundary): from here on the
   * table's changed keys are noted.
   */
  private ask(low: BinlogPosition | undefined): void {
    if (this.closed) return;
    const table = this.next();
    if (table === undefined) {
      const wasReading = this.pending !== undefined || this.watch.started;
      this.pending = undefined;
      if (wasReading) this.options.logger.info({ tables: Object.keys(this.progress.tables).length }, 'snapshot done: every table is read; the stream goes on');
      // Not from inside the stream's call: a stop asked for here must queue behind the last rows.
      if (this.options.onDone) setImmediate(this.options.onDone);
      return;
    }
    const key = this.keys.get(table);
    if (!key) {
      this.pending = undefined;
      this.loadKey(table);
      return;
    }
    const pending: Pending = { table, key, changed: new Set(), positions: new WeakMap() };
    this.pending = pending;
    const { after, until } = this.progress.tables[table] ?? {};
    if (!this.watch.has(table)) this.watch.begin(table, this.progress.tables[table]?.rows ?? 0);
    const limit = this.limit;
    const visible = this.visibleAt(low);
    this.reading = this.reading.then(async () => {
      // Memory: the chunks handed on wait in the stream's queue until the loop writes them, so the
      // next one is read only once the queue has drained to where the binlog socket resumes too.
      // The window is open meanwhile; waiting only widens it, which is safe (more keys left out).
      while (this.pending === pending && !this.hasRoom()) await new Promise((resolve) => setTimeout(resolve, ROOM_POLL_MS));
      if (this.pending !== pending) return;
      // Once per table and run, for the ETA: an estimate from the server's statistics, no scan.
      if (this.watch.wantsEstimate(table)) {
        const estimatedRows = await estimateRows(this.options.connection, table);
        this.watch.estimated(table, estimatedRows);
        this.options.logger.info({ table, after, estimatedRows: estimatedRows ?? null }, 'snapshot: reading table');
      }
      let chunk: Chunk;
      try {
        chunk = await readChunk(this.options.connection, this.options.isMariaDb, table, key, { after, until }, limit, visible());
      } catch (error) {
        if (this.pending === pending) this.fail(error as Error);
        return;
      }
      const rowKeys = new Set(chunk.keys);
      pending.rowKeys = rowKeys;
      pending.changed = new Set([...pending.changed].filter((changed) => rowKeys.has(changed)));
      pending.chunk = chunk;
      if (this.pending === pending) this.wake();
    });
  }

  /**
   * The key of a table added while streaming, read on the snapshot's connection; then the stream is
   * woken to open its window. A table gone meanwhile has nothing to read; one without a key fails
   * the stream with SLUICE_TABLE_KEY, naming the fix.
   */
  private loadKey(table: string): void {
    if (this.keyLoading !== undefined) return;
    this.keyLoading = table;
    this.reading = this.reading.then(async () => {
      let key: TableKey | undefined;
      try {
        key = await keyOrNothing(this.options.connection, table);
      } catch (error) {
        this.keyLoading = undefined;
        if (this.closed) return;
        if (!isSluiceError(error, 'SLUICE_TABLE_KEY')) {
          this.fail(error as Error);
          return;
        }
        // One table that cannot be read stops that table, not the stream.
        this.keyless.add(table);
        this.stop(table, keylessLater(table, error));
        this.wake();
        return;
      }
      this.keyLoading = undefined;
      const entry = this.progress.tables[table];
      if (this.closed || !entry || entry.done) return;
      if (key) this.keys.set(table, key);
      else this.progress = { ...this.progress, tables: { ...this.progress.tables, [table]: { rows: entry.rows, done: true, ...askedBy(entry) } } };
      this.wake();
    });
  }

  /** The next table to read: the first not done, leaving out the keyless ones stopped in this run. */
  private next(): string | undefined {
    return Object.entries(this.progress.tables).find(([table, entry]) => !entry.done && !this.keyless.has(table))?.[0];
  }

  /** What a read at `low` waits for (a thunk, so that a position without GTIDs fails the read, not the stream's call). */
  private visibleAt(low: BinlogPosition | undefined): () => GtidWait | undefined {
    const wait = this.options.waitForGtids;
    if (!wait) return () => undefined;
    const gtidSet = low?.gtidSet;
    if (gtidSet !== undefined) return () => ({ ...wait, gtidSet });
    return () => {
      throw new SluiceError(
        'SLUICE_SNAPSHOT',
        `the snapshot on MySQL ${wait.server} needs the stream's GTID set to know when the rows it has handed on are visible, and the stream's position has none; start from a GTID position (a checkpoint taken with gtid_mode=ON)`,
        { context: { server: wait.server } },
      );
    };
  }
}

function splitTable(qualified: string): [string, string] {
  const dot = qualified.indexOf('.');
  return [qualified.slice(0, dot), qualified.slice(dot + 1)];
}

/** A table read while streaming that has no key: it stops, with the way on. */
function keylessLater(table: string, cause: SluiceError): SluiceError {
  return new SluiceError(
    'SLUICE_TABLE_KEY',
    `the snapshot cannot read ${table}, which came into the routing while streaming (or was asked to be read again): ${cause.message}. ` +
      `The table is stopped; the other tables go on. Fix: add a primary key or a unique index over NOT NULL columns to ${table} ` +
      `(ALTER TABLE ${table} ADD PRIMARY KEY (...)), then restart sluice: its read stays due in the checkpoint, so the start reads it after a truncate marker ` +
      `(no \`sluice snapshot ${table}\` needed; or leave it out of the routing)`,
    { cause, context: { ...cause.context, table } },
  );
}

/** Whether a statement may change the table: it names it as a word (a rename, an ALTER, a DROP). */
function mentions(statement: string, qualified: string): boolean {
  const name = splitTable(qualified)[1].toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^\\w$])${name}([^\\w$]|$)`, 'u').test(statement.toLowerCase());
}
