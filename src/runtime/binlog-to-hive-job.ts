// The daemon's main job: binlog -> routing -> Hive changelog tables, committed on checkpoint ticks.
// One loop takes items in binlog order; a checkpoint runs inside that loop at a transaction boundary,
// so no event after the recorded position is handed on until the checkpoint is recorded.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Catalog, StorageFormat } from '../catalog/catalog.ts';
import type { BinlogSourceState } from '../checkpoint/checkpoint-record.ts';
import { CheckpointCoordinator } from '../checkpoint/checkpoint-coordinator.ts';
import { CheckpointStore } from '../checkpoint/checkpoint-store.ts';
import { recover } from '../checkpoint/recovery.ts';
import { TableGate, type GateResume } from '../checkpoint/table-gate.ts';
import type { ChangeEvent } from '../core/change-event.ts';
import { isSluiceError, isTableScopedError, SluiceError } from '../errors.ts';
import type { FileSystem } from '../filesystem/filesystem.ts';
import { routeKey, Router, type Route, type RoutingConfig } from '../routing/router.ts';
import type { PartitionScheme } from '../sinks/changelog-layout.ts';
import { HiveChangelogSink, type HiveChangelogSinkOptions } from '../sinks/hive-changelog-sink.ts';
import { Compactor, type CompactionSettings } from '../sinks/compaction.ts';
import { describePosition, type BinlogPosition, type BinlogStart } from '../sources/binlog/position/binlog-position.ts';
import { connectMysql as connectControl, type MysqlServerOptions as BinlogConnectionOptions } from '../core/mysql-connect.ts';
import { BinlogSource } from '../sources/binlog/stream/binlog-source.ts';
import { requirePositionAvailable } from '../sources/binlog/position/position-available.ts';
import { preflight, type ServerFacts } from '../sources/binlog/server/preflight.ts';
import { SchemaHistory } from '../sources/binlog/schema/schema-history.ts';
import { checkServerIdFree } from '../sources/binlog/server/server-id.ts';
import { resolveStartOnServer, type ResolvedStart } from '../sources/binlog/position/resolve-start.ts';
import type { ReadinessProbe } from './health-server.ts';
import { SluiceMetrics } from './metrics.ts';

export interface BinlogToHiveJobOptions {
  connection: BinlogConnectionOptions;
  serverId: number;
  start: BinlogStart;
  routing: RoutingConfig;
  fs: FileSystem;
  catalog: Catalog;
  warehouse: string;
  format: StorageFormat;
  partition: PartitionScheme;
  rollBytes: number;
  rollSeconds: number;
  /** What an error of one table stops (sink.onTableError). */
  onTableError?: 'table' | 'daemon';
  stateDir: string;
  keepCheckpoints: number;
  checkpointIntervalMs: number;
  maxQueuedEvents: number;
  /** Compaction of closed partitions (`sink.compaction`); none when absent or disabled. */
  compaction?: CompactionSettings;
  /** Row formats other than text, by name (Parquet). */
  formats?: HiveChangelogSinkOptions['formats'];
  logger: Logger;
  metrics?: SluiceMetrics;
}

export interface JobFigures {
  changesWritten: number;
  checkpoints: number;
  lastCheckpointAt: Date | undefined;
  lastPosition: BinlogPosition | undefined;
}

export class BinlogToHiveJob implements ReadinessProbe {
  private stopRequested = false;
  private source: BinlogSource | undefined;
  private streaming = false;
  /** When a tick last found the stream at a boundary and committed (or had nothing to commit). */
  private lastTickHandledAt = 0;
  private gate = new TableGate();
  readonly figures: JobFigures = { changesWritten: 0, checkpoints: 0, lastCheckpointAt: undefined, lastPosition: undefined };
  readonly metrics: SluiceMetrics;

  constructor(private readonly options: BinlogToHiveJobOptions) {
    this.metrics = options.metrics ?? new SluiceMetrics();
  }

  notReadyReason(): string | undefined {
    if (!this.streaming) return 'not streaming from the binlog yet';
    // A checkpoint waits for the end of a transaction, so allow a few intervals (and at least a
    // minute) before calling the daemon stuck.
    const allowedMs = Math.max(3 * this.options.checkpointIntervalMs, 60_000);
    const sinceMs = Date.now() - this.lastTickHandledAt;
    if (sinceMs > allowedMs) return `no checkpoint for ${Math.round(sinceMs / 1000)} s (allowed ${allowedMs / 1000} s)`;
    const stopped = [...this.gate.stoppedTables].map(([table, entry]) => `${table} (${entry.code})`);
    if (stopped.length > 0) return `tables stopped by an error: ${stopped.join(', ')}`;
    return undefined;
  }

  /** Asks for a clean stop: the job ends at the next transaction boundary with a final checkpoint. */
  requestStop(): void {
    this.stopRequested = true;
    this.source?.injectTick();
  }

  /** Where this run starts, refused if the server no longer has it. */
  private async availableStart(server: string, facts: ServerFacts, resumed: GateResume): Promise<ResolvedStart> {
    const { options } = this;
    const start = await resolveStartOnServer({ connection: options.connection, serverId: options.serverId }, server, facts, resumed.start, options.start);
    if (start.dump && 'gtidSet' in start.dump && start.dump.gtidSet !== '') {
      // A purged GTID is otherwise only reported by the dump, in the server's words; say it in ours:
      // the position, how far the server has purged, and what to do.
      const control = await connectControl(options.connection);
      try {
        await requirePositionAvailable(control, server, facts, start.position);
      } finally {
        await control.end().catch(() => undefined);
      }
    }
    return start;
  }

  async run(): Promise<void> {
    const { options } = this;
    const logger = options.logger;
    const server = `${options.connection.host}:${options.connection.port}`;
    const facts = await preflight(options.connection);
    await checkServerIdFree(options.connection, options.serverId);
    const store = new CheckpointStore(options.stateDir);
    const record = await recover(store, options.fs, options.catalog, logger);
    const schemaHistory = await SchemaHistory.load(options.stateDir);
    const resumed = TableGate.resume(record);
    const gate = resumed.gate;
    this.gate = gate;
    this.metrics.stoppedTables.set(0);
    for (const [table, entry] of resumed.retrying) {
      logger.warn(
        { table, since: entry.since.position, stoppedAt: entry.stoppedAt, code: entry.code, error: entry.message },
        'retrying a stopped table from where it stopped; the other tables skip the changes they already hold',
      );
    }
    const start = await this.availableStart(server, facts, resumed).catch((error: unknown) => {
      throw explainPurgeForStoppedTables(error, resumed.retrying);
    });
    const jobId = newJobId();
    logger.info({ server, version: facts.version, start: start.description, jobId }, 'starting binlog capture');

    const metrics = this.metrics;
    const router = new Router(options.routing, (source, changes) => metrics.unmatchedChanges.inc({ source }, changes));
    const sink = new HiveChangelogSink({
      ...(options.formats ? { formats: options.formats } : {}),
      fs: options.fs,
      catalog: options.catalog,
      warehouse: options.warehouse,
      format: options.format,
      partition: options.partition,
      rollBytes: options.rollBytes,
      rollSeconds: options.rollSeconds,
      channel: 0,
      jobId,
      logger,
      metrics,
      ...(record?.preparedXa ? { preparedXa: record.preparedXa } : {}),
    });
    const coordinator = new CheckpointCoordinator(store, sink, options.fs, options.catalog, jobId, options.keepCheckpoints, record?.id ?? 0);
    const source = new BinlogSource({
      connection: options.connection,
      serverId: options.serverId,
      router,
      maxQueuedItems: options.maxQueuedEvents,
      firstSequence: start.nextSequence,
      startPosition: start.position,
      skipsRows: (target, firstSequence) => !gate.admits(target, firstSequence),
      schemaHistory,
      // Once a history exists it is kept up to date, also while the server sends FULL metadata.
      trackSchemas: facts.rowMetadata !== 'FULL' || schemaHistory.size > 0,
      logger,
    });
    this.source = source;
    source.start(start.dump);
    this.lastTickHandledAt = Date.now();
    const timer = setInterval(() => source.injectTick(), options.checkpointIntervalMs);
    // Compaction runs here in the loop, between checkpoints, when its schedule has made it due: no
    // commit runs meanwhile. The stream waits for it; maxPartitionsPerRun bounds the wait.
    const compactor = options.compaction?.enabled
      ? new Compactor({ fs: options.fs, catalog: options.catalog, stateDir: options.stateDir, jobId, rollBytes: options.rollBytes, settings: options.compaction, logger })
      : undefined;
    compactor?.start();
    const compactIfDue = async (): Promise<void> => {
      if (!this.stopRequested) await compactor?.runIfDue(coordinator.lastCheckpointId);
    };
    if (this.stopRequested) source.injectTick();

    let boundary: BinlogSourceState = { kind: 'binlog', position: start.position, nextSequence: start.nextSequence.toString() };
    let checkpointed = resumed.start ? describePosition(resumed.start.position) : undefined;
    // What the tables hold for sure: the last recorded position (or the start), from which a stopped table is retried.
    let committed: BinlogSourceState = boundary;
    const stopTable = async (target: Route, error: SluiceError, at: string): Promise<void> => {
      if ((options.onTableError ?? 'table') === 'daemon') throw error;
      const table = routeKey(target);
      const entry = gate.stop(table, committed, { code: error.code, message: error.message, at });
      await sink.discard(target, BigInt(entry.since.nextSequence));
      metrics.errors.inc({ code: error.code });
      metrics.stoppedTables.set(gate.stoppedTables.size);
      logger.error(
        { table, code: error.code, at, since: entry.since.position, err: error },
        `table ${table} stopped: ${error.message} The other tables go on; ${table} holds every change before ` +
          `${describePosition(entry.since.position)}, and the next start retries it from there once the cause is fixed.`,
      );
    };
    let inTransaction = false;
    let checkpointDue = false;
    // Binlog times (Unix seconds) of the last change handed on, and of the last one committed.
    let lastChangeTs: number | undefined;
    let committedChangeTs: number | undefined;
    let changesAtLastCheckpoint = 0;
    let lastCheckpointMs = performance.now();
    const caughtUp = () => source.queuedItems === 0 && !inTransaction && checkpointed === describePosition(boundary.position);
    metrics.lagSeconds = () => (caughtUp() || committedChangeTs === undefined ? 0 : Math.max(0, Date.now() / 1000 - committedChangeTs));
    const checkpointAtBoundary = async (): Promise<void> => {
      // The columns of every change up to the boundary must be known on a restart from it.
      await schemaHistory.save();
      const figures = await coordinator.checkpoint(boundary, gate.progressAt(boundary));
      checkpointed = describePosition(boundary.position);
      committed = boundary;
      committedChangeTs = lastChangeTs;
      this.figures.checkpoints++;
      this.figures.lastCheckpointAt = new Date();
      this.figures.lastPosition = boundary.position;
      checkpointDue = false;
      metrics.checkpoints.inc();
      metrics.checkpointDuration.observe(figures.durationMs / 1000);
      metrics.lastCheckpointTime.set(Date.now() / 1000);
      const now = performance.now();
      const changes = this.figures.changesWritten - changesAtLastCheckpoint;
      logger.info(
        {
          checkpoint: figures.id,
          commits: figures.commits,
          durationMs: figures.durationMs,
          position: boundary.position,
          changes,
          changesPerSecond: Math.round((changes * 1000) / Math.max(1, now - lastCheckpointMs)),
          lagSeconds: Math.round(metrics.lagSeconds()),
          queued: source.queuedItems,
        },
        'checkpoint committed',
      );
      changesAtLastCheckpoint = this.figures.changesWritten;
      lastCheckpointMs = now;
    };

    try {
      for (;;) {
        const item = await source.next();
        if (item.kind === 'change') {
          const decision = router.decide(item.event.schema, item.event.table);
          if (decision.kind !== 'routed') continue;
          inTransaction = true;
          if (!gate.admits(routeKey(decision.target), item.event.sequence)) continue;
          try {
            await sink.write(decision.target, item.event, coordinator.pendingId);
          } catch (error) {
            if (!isTableScopedError(error)) throw error;
            await stopTable(decision.target, error, describeChangePosition(item.event));
            continue;
          }
          compactor?.noteTarget(decision.target);
          this.figures.changesWritten++;
          metrics.changesRead.inc();
          lastChangeTs = item.event.commitTs;
          continue;
        }
        if (item.kind === 'table-failed') {
          await stopTable(item.target, item.error, item.at);
          continue;
        }
        if (item.kind === 'boundary') {
          inTransaction = false;
          boundary = { kind: 'binlog', position: item.position, nextSequence: item.nextSequence.toString() };
          if (item.statement) logger.info({ statement: item.statement.slice(0, 500), position: item.position }, 'statement in binlog');
          if (item.xa) await sink.onXa(item.xa, describePosition(item.position));
          if (checkpointDue || this.stopRequested) {
            await checkpointAtBoundary();
            this.lastTickHandledAt = Date.now();
            if (this.stopRequested) break;
            await compactIfDue();
          }
          continue;
        }
        // A tick: checkpoint now if the stream rests between transactions, else at the next boundary.
        this.streaming = true;
        metrics.queuedItems.set(source.queuedItems);
        if (inTransaction) {
          checkpointDue = true;
          continue;
        }
        if (checkpointed !== describePosition(boundary.position) || this.stopRequested) await checkpointAtBoundary();
        this.lastTickHandledAt = Date.now();
        if (this.stopRequested) break;
        await compactIfDue();
      }
    } catch (error) {
      await sink.abort().catch(() => undefined);
      throw error;
    } finally {
      this.streaming = false;
      clearInterval(timer);
      compactor?.stop();
      await source.stop();
    }
    logger.info({ checkpoint: coordinator.lastCheckpointId, changes: this.figures.changesWritten }, 'stopped after a final checkpoint');
  }
}

/**
 * A stopped table makes a start read from where it stopped, which the server may have purged since.
 * Say so: the position is the table's, and moving the checkpoint gives up its missing changes.
 */
function explainPurgeForStoppedTables(error: unknown, retrying: GateResume['retrying']): unknown {
  if (!isSluiceError(error, 'SLUICE_BINLOG_POSITION_PURGED') || retrying.length === 0) return error;
  const tables = retrying.map(([table, entry]) => `${table} (since ${describePosition(entry.since.position)})`).join(', ');
  return new SluiceError(
    error.code,
    `${error.message} The position is where the stopped table(s) ${tables} hold their changes up to: sluice reads from there to ` +
      'catch them up. To give up their missing changes and go on, run `sluice checkpoint skip-table <table>` for each ' +
      '(or move the checkpoint with `sluice checkpoint set`, which forgets every stopped table), and copy those tables anew.',
    { cause: error, context: { ...error.context, stoppedTables: retrying.map(([table]) => table) } },
  );
}

function describeChangePosition(event: ChangeEvent): string {
  const at = `${event.position.file}:${event.position.offset}`;
  return event.position.gtid ? `${at} (GTID ${event.position.gtid})` : at;
}

function newJobId(): string {
  // Sortable by start time, unique across restarts and across daemons writing one table.
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}
