// The daemon's main job: binlog -> routing -> Hive changelog tables, committed on checkpoint ticks.
// A composition: preflight, recovery and where to start are the binlog's and Hive's; then the one
// pipeline loop (pipeline-loop.ts) runs the binlog source into the Hive sink.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { CheckpointCoordinator } from '../checkpoint/checkpoint-coordinator.ts';
import { CheckpointStore } from '../checkpoint/checkpoint-store.ts';
import type { StateStore } from '../core/state-store.ts';
import { TableGate, type GateResume } from '../checkpoint/table-gate.ts';
import type { CheckpointRecord } from '../core/checkpoint-record.ts';
import { isSluiceError, SluiceError } from '../core/errors.ts';
import { Router, type RoutingConfig, type RoutingRule } from '../routing/router.ts';
import type { CaptureConfig, CaptureSettings } from '../routing/capture/capture-transform.ts';
import { setUpCapture } from './capture-setup.ts';
import type { SluiceMetrics } from '../runtime/metrics.ts';
import type { CompactionSettings } from '../sinks/compaction.ts';
import type { MaterializeSettings } from '../sinks/materialize.ts';
import type { MetadataNames } from '../config/metadata-columns.ts';
import type { HiveChangelogSinkOptions } from '../sinks/hive-changelog-sink.ts';
import type { HiveCommits } from '../sinks/hive-commits.ts';
import { HiveSink } from '../sinks/hive-sink.ts';
import { BinlogPipelineSource } from '../sources/binlog/stream/binlog-pipeline-source.ts';
import { describePosition, type BinlogSourceState, type BinlogStart } from '../sources/binlog/position/binlog-position.ts';
import { connectMysql, type MysqlServerOptions } from '../core/mysql-connect.ts';
import { BinlogSource } from '../sources/binlog/stream/binlog-source.ts';
import { requirePositionAvailable } from '../sources/binlog/position/position-available.ts';
import { preflight, type ServerFacts } from '../sources/binlog/server/preflight.ts';
import { resolveStartOnServer, type ResolvedStart } from '../sources/binlog/position/resolve-start.ts';
import { SchemaHistory } from '../sources/binlog/schema/schema-history.ts';
import { checkServerIdFree } from '../sources/binlog/server/server-id.ts';
import { BINLOG, HIVE, recoverBinlogToHive } from './binlog-to-hive-record.ts';
import { PipelineJob } from './pipeline-job.ts';
import { PipelineLoop } from './pipeline-loop.ts';
import { openBinlogSnapshot, type BinlogSnapshot, type SnapshotSettings } from './binlog-snapshot.ts';
import { binlogLiveStatus } from './binlog-live-status.ts';
import { TableMaintenance } from './table-maintenance.ts';
import { purgedError, startAtEndAfterPurge } from './purged-start.ts';

/** The Hive sink's settings, as the sink takes them. */
export type HiveSettings = Pick<HiveChangelogSinkOptions, 'fs' | 'catalog' | 'warehouse' | 'format' | 'partition' | 'rollBytes' | 'rollSeconds' | 'formats'> & {
  /** sink.metadataColumns: the metadata column names of new tables, where not the defaults. */
  metadataColumns?: Partial<MetadataNames>;
  /** ha.zookeeper: the epoch this daemon leads in (docs/ha.md); absent without a standby. */
  epoch?: number;
};

export interface BinlogToHiveJobOptions extends HiveSettings {
  connection: MysqlServerOptions;
  serverId: number;
  start: BinlogStart;
  /** Rules may carry capture settings (columns, masks, a row filter) for the tables they route. */
  routing: Omit<RoutingConfig, 'rules'> & { rules: (RoutingRule & CaptureSettings)[] };
  /** What is captured of each table (`capture`); everything when absent. */
  capture?: CaptureConfig;
  /** What an error of one table stops (sink.onTableError). */
  onTableError?: 'table' | 'daemon';
  /** The state store (checkpoint.store): records, schema history, compaction intents; a directory means the local one. */
  stateDir: string | StateStore;
  keepCheckpoints: number;
  checkpointIntervalMs: number;
  maxQueuedEvents: number;
  /** Compaction of closed partitions (`sink.compaction`); none when absent or disabled. */
  compaction?: CompactionSettings;
  /** Materialized current state (`sink.materialize`); none when absent or disabled. */
  materialize?: MaterializeSettings;
  /** Existing rows first (`snapshot`); none when absent or `never`. */
  snapshot?: SnapshotSettings;
  logger: Logger;
  metrics?: SluiceMetrics;
  /** A terminal for the snapshot's progress line (stderr, when it is one). */
  progressTty?: NodeJS.WriteStream;
}


export class BinlogToHiveJob extends PipelineJob<BinlogSourceState> {
  constructor(private readonly options: BinlogToHiveJobOptions) {
    super(options.metrics, 'not streaming from the binlog yet');
  }

  /** Where this run starts, refused if the server no longer has it. */
  private availableStart(server: string, facts: ServerFacts, resumed: GateResume<BinlogSourceState>, configured: BinlogStart): Promise<ResolvedStart> {
    return availableBinlogStart(this.options, server, facts, resumed.start, configured);
  }

  async run(): Promise<void> {
    const { options } = this;
    const logger = options.logger;
    const server = `${options.connection.host}:${options.connection.port}`;
    const facts = await preflight(options.connection);
    await checkServerIdFree(options.connection, options.serverId);
    const store = new CheckpointStore(options.stateDir);
    const record = await recoverBinlogToHive(store, options.fs, options.catalog, logger);
    const resumed = TableGate.resume<BinlogSourceState>(record, BINLOG);
    const gate = resumed.gate;
    this.metrics.stoppedTables.set(0);
    for (const [table, entry] of resumed.retrying) {
      logger.warn(
        { table, since: entry.since.position, stoppedAt: entry.stoppedAt, code: entry.code, error: entry.message },
        'retrying a stopped table from where it stopped; the other tables skip the changes they already hold',
      );
    }
    const metrics = this.metrics;
    const router = new Router(options.routing, (source, changes) => metrics.unmatchedChanges.inc({ source }, changes));
    // when_needed: a purged position is read again as a snapshot rather than an error (purged-start.ts).
    const purged =
      options.snapshot?.mode === 'when_needed' && record && resumed.start ? await purgedError(() => this.availableStart(server, facts, resumed, options.start)) : undefined;
    if (purged) logger.warn({ err: purged }, "the checkpoint's position is purged on the server; snapshot.mode when_needed: the stream starts at the binlog's end and every captured table is read again");
    const snapshot = await openBinlogSnapshot({
      job: options,
      facts,
      server,
      record,
      purged: purged !== undefined,
      router,
      requests: { store },
      retrying: resumed.retrying,
      // Rows merged in shift the stream's numbers, which a stopped table's retry and the tables
      // catching up with it go by: none while either is under way.
      held: () => gate.stoppedTables.size > 0 || gate.catchingUp,
      // Behind the rows the snapshot has queued already: they belong in the final checkpoint.
      onDone: () => (this.loop ? this.loop.requestStopBehindQueued() : this.requestStop()),
      logger,
      metrics,
      ...(options.progressTty ? { tty: options.progressTty } : {}),
    });
    try {
      await this.stream(server, facts, store, record, resumed, router, snapshot, purged);
    } finally {
      await snapshot?.close();
    }
  }

  private async stream(
    server: string,
    facts: ServerFacts,
    store: CheckpointStore,
    record: Awaited<ReturnType<typeof recoverBinlogToHive>>,
    resumed: GateResume<BinlogSourceState>,
    router: Router,
    snapshot: BinlogSnapshot | undefined,
    purged: SluiceError | undefined,
  ): Promise<void> {
    const { options, metrics } = this;
    const logger = options.logger;
    const gate = resumed.gate;
    const schemaHistory = await SchemaHistory.load(options.stateDir);
    // A first start with a snapshot streams from the binlog's end: the snapshot reads what came before.
    const configured: BinlogStart = snapshot?.fresh ? { kind: 'latest' } : options.start;
    const start =
      purged && record
        ? startAtEndAfterPurge(server, facts, record, purged)
        : await this.availableStart(server, facts, resumed, configured).catch((error: unknown) => {
            throw explainPurgeForStoppedTables(error, resumed.retrying);
          });
    const jobId = newJobId(options.epoch);
    logger.info({ server, version: facts.version, start: start.description, jobId, ...(snapshot ? { snapshot: snapshot.fresh ? 'starting' : 'resuming' } : {}) }, 'starting binlog capture');

    const capture = setUpCapture(options.capture, options.routing.rules, router, logger, options.metadataColumns);
    const sink = openHiveSink(options, jobId, logger, metrics, record, capture);
    const coordinator = new CheckpointCoordinator(store, { [HIVE]: sink }, jobId, options.keepCheckpoints, lastRecordId(record, options.epoch));
    const stream = new BinlogSource({
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
      isMariaDb: facts.isMariaDb,
      ...(snapshot ? { merge: snapshot.merge } : {}),
      logger,
    });
    // Compaction and materialization run in the loop, between checkpoints, when due: no commit runs
    // meanwhile. The stream waits for them; maxPartitionsPerRun bounds the wait.
    const maintenance = new TableMaintenance(options, jobId, logger);
    const loop = new PipelineLoop<BinlogSourceState>({
      sourceName: BINLOG,
      source: new BinlogPipelineSource(stream, start.dump, logger),
      sink,
      coordinator,
      router,
      ...(capture.transform ? { capture: capture.transform } : {}),
      gate,
      start: { kind: 'binlog', position: start.position, nextSequence: start.nextSequence.toString() },
      ...(snapshot ? { startAlso: snapshot.statesAt(start.nextSequence) } : {}),
      checkpointed: resumed.start,
      checkpointIntervalMs: options.checkpointIntervalMs,
      onTableError: options.onTableError ?? 'table',
      logger,
      metrics,
      figures: this.figures,
      hooks: {
        // The columns of every change up to the boundary must be known on a restart from it.
        beforeCheckpoint: () => schemaHistory.save(),
        betweenCheckpoints: (lastCheckpointId) => maintenance.runIfDue(lastCheckpointId),
        written: (target) => maintenance.noteTarget(target),
      },
    });
    this.attach(loop, () => binlogLiveStatus({ server, facts, where: loop.where(), figures: this.figures, gate, compaction: maintenance.compactionStatus() }));
    maintenance.start();
    try {
      await loop.run();
    } finally {
      maintenance.stop();
    }
  }
}

/**
 * A stopped table makes a start read from where it stopped, which the server may have purged since.
 * Say so: the position is the table's, and moving the checkpoint gives up its missing changes.
 */
function explainPurgeForStoppedTables(error: unknown, retrying: GateResume<BinlogSourceState>['retrying']): unknown {
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

/** Where a run starts (the checkpoint's position, else the configured start), refused if the server no longer has it. */
export async function availableBinlogStart(
  options: { connection: MysqlServerOptions; serverId: number },
  server: string,
  facts: ServerFacts,
  recorded: BinlogSourceState | undefined,
  configured: BinlogStart,
): Promise<ResolvedStart> {
  const start = await resolveStartOnServer({ connection: options.connection, serverId: options.serverId }, server, facts, recorded, configured);
  if (start.dump && 'gtidSet' in start.dump && start.dump.gtidSet !== '') {
    // A purged GTID is otherwise only reported by the dump, in the server's words; say it in ours:
    // the position, how far the server has purged, and what to do.
    const control = await connectMysql(options.connection);
    try {
      await requirePositionAvailable(control, server, facts, start.position);
    } finally {
      await control.end().catch(() => undefined);
    }
  }
  return start;
}

/** The Hive sink of a run, taking over what the newest record holds of it (prepared XA files). */
export function openHiveSink(
  settings: HiveSettings,
  jobId: string,
  logger: Logger,
  metrics: SluiceMetrics,
  record: CheckpointRecord | undefined,
  capture?: Pick<HiveChangelogSinkOptions, 'schemaPolicy' | 'metadataNames'>,
): HiveSink {
  const { formats, fs, catalog, warehouse, format, partition, rollBytes, rollSeconds } = settings;
  return new HiveSink(
    { ...(formats ? { formats } : {}), ...(capture?.schemaPolicy ? { schemaPolicy: capture.schemaPolicy } : {}), ...(capture?.metadataNames ? { metadataNames: capture.metadataNames } : {}), fs, catalog, warehouse, format, partition, rollBytes, rollSeconds, channel: 0, jobId, logger, metrics },
    record?.sinks[HIVE] as HiveCommits | undefined,
  );
}

export function newJobId(epoch?: number): string {
  // Sortable by start time, unique across restarts and across daemons writing one table; a leader's
  // epoch (ha.zookeeper) at the end, so every record and staging name says who wrote it.
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}${epoch === undefined ? '' : `e${epoch}`}`;
}

/**
 * The id the next record follows. A leader (ha.zookeeper) skips one: an old leader paused between its
 * epoch check and its rename can still put one record in place, with an id at most one past the
 * newest this leader found, and so never under the name of this leader's records (docs/ha.md).
 */
export function lastRecordId(record: { id: number } | undefined, epoch: number | undefined): number {
  return (record?.id ?? 0) + (epoch === undefined ? 0 : 1);
}
