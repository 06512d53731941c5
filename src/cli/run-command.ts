// `sluice run`: the daemon. SIGTERM or SIGINT asks for a clean stop (final checkpoint, exit 0; while
// waiting to retry there is nothing to checkpoint, so at once); a second signal exits at once (130),
// which is safe too: the next start recovers from the last checkpoint.
import type { KafkaDaemonConfig, SluiceConfig } from '../config/schema.ts';
import { redactConfig } from '../config/load.ts';
// The jobs and ZooKeeper's client are imported when the config asks for them: a binlog -> Hive
// daemon does not load kafkajs, node-zookeeper-client or another job's code at every start.
import type { BinlogToHiveJob, HiveSettings } from '../pipeline/binlog-to-hive-job.ts';
import type { KafkaToHiveJob } from '../pipeline/kafka-to-hive-job.ts';
import type { BinlogToKafkaJob } from '../pipeline/binlog-to-kafka-job.ts';
import { SluiceError } from '../core/errors.ts';
import { createParquetFormat } from '../sinks/parquet-format.ts';
import { startHealthServer, type HealthServer } from '../runtime/health-server.ts';
import { SluiceMetrics } from '../runtime/metrics.ts';
import { DaemonStatus, type HaRole } from '../runtime/daemon-status.ts';
import { endpointUrl, writeStatusEndpoint } from '../runtime/status-endpoint.ts';
import { openStorage } from '../runtime/embedded-runtime.ts';
import { createLogger } from '../core/logger.ts';
import { localPlaces } from '../config/local-places.ts';
import { nameDiskError, probeWritable } from '../core/local-disk.ts';
import { isRetriable, withRetry } from '../core/retry.ts';
import { openStateStore } from '../runtime/open-state-store.ts';
import type { StateLock, StateStore } from '../core/state-store.ts';
import { exitCodeOf } from './exit-codes.ts';
import type { ZooKeeperSettings } from '../config/ha-schema.ts';
import type { Leadership } from '../runtime/zookeeper-leadership.ts';
import type { BinlogStart } from '../sources/binlog/position/binlog-position.ts';
import type { MysqlServerOptions } from '../core/mysql-connect.ts';
import { parseInstant } from '../core/instant.ts';
import { packageVersion } from './version.ts';

export function toBinlogStart(start: SluiceConfig['source']['start']): BinlogStart {
  if (start === 'earliest' || start === 'latest') return { kind: start };
  if ('gtid' in start) return { kind: 'gtid', gtidSet: start.gtid };
  // The schema has checked that it parses.
  if ('timestamp' in start) return { kind: 'timestamp', at: start.timestamp, epochMs: parseInstant(start.timestamp)! };
  return { kind: 'file', file: start.file, offset: start.position };
}

/** The control and replication connection a config names; `check` and `checkpoint set` use it too. */
export function sourceConnection(config: SluiceConfig): MysqlServerOptions {
  return {
    host: config.source.host,
    port: config.source.port,
    user: config.source.user,
    password: config.source.password,
    connectTimeoutMs: config.source.connectTimeoutMs,
    tls: config.source.tls,
  };
}

export async function runDaemon(config: SluiceConfig | KafkaDaemonConfig): Promise<void> {
  const logger = createLogger(config.log.level, 1, config.log.format);
  logger.info({ version: packageVersion(), node: process.version, config: redactConfig(config) }, 'sluice starting');
  const places = localPlaces(config);
  const named = (error: unknown): unknown => nameDiskError(error, places);
  let job: BinlogToHiveJob | KafkaToHiveJob | BinlogToKafkaJob | undefined;
  // One registry and one HTTP server for the process, across retries of the job; up before the
  // election, so that a standby answers /ready (not ready: standing by) and `sluice status`.
  const metrics = new SluiceMetrics();
  metrics.collectProcessMetrics();
  let ha: HaRole | undefined = config.ha.zookeeper ? { role: 'standby' } : undefined;
  const notReadyReason = (): string | undefined => (ha?.role === 'standby' ? 'standby: another daemon is active (ha.zookeeper)' : job ? job.notReadyReason() : 'starting');
  const serve = () => startHealth(config, metrics, logger, notReadyReason, () => job, ha ? () => ha! : undefined);
  // A standby serves them while it waits; without ha.zookeeper a second daemon stops at the lock
  // before it takes a port.
  const early = ha ? await serve() : undefined;
  let leader: Leadership | undefined;
  let state: StateStore | undefined;
  let lock: StateLock;
  let served: Awaited<ReturnType<typeof serve>>;
  try {
    // ha.zookeeper: a standby waits here until ZooKeeper elects it (docs/ha.md).
    if (config.ha.zookeeper) {
      metrics.haActive.set(0);
      leader = await electActive(config.ha.zookeeper, logger, () => metrics.haTakeovers.inc());
      ha = { role: 'active', epoch: leader.epoch };
      metrics.haActive.set(1);
    }
    // Before anything reads or writes state: a second daemon on the same state directory stops here.
    state = openStateStore(config, logger, leader ? { leader } : {});
    lock = await state.lock();
    served = early ?? (await serve().catch(async (error: unknown) => {
      await lock.release();
      throw error;
    }));
  } catch (error) {
    state?.close?.();
    leader?.close();
    await early?.health?.close();
    await early?.stopStatus();
    throw named(error);
  }
  const { health, stopStatus } = served;
  const store = state;
  // On HDFS a daemon paused past the lock's lease may find a standby holding it, and with
  // ha.zookeeper one may find that another daemon leads: it must not write another byte, not even a
  // final checkpoint.
  const standDown = (error: SluiceError): void => {
    logger.fatal({ code: error.code, exitCode: exitCodeOf(error), err: error }, error.message);
    process.exit(exitCodeOf(error));
  };
  void lock.lost?.then(standDown);
  void leader?.lost.then(standDown);
  const storage = openStorage(config, logger);
  if (leader) {
    const { fenceCatalogWrites, fenceRenames } = await import('../runtime/zookeeper-leadership.ts');
    fenceRenames(storage.fs, leader);
    fenceCatalogWrites(storage.catalog, leader);
  }
  let stopping = false;
  const wake = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now; the next start recovers from the last checkpoint');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'stopping at the next transaction boundary, after a final checkpoint');
    job?.requestStop();
    wake.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await withRetry(
      async () => {
        // Every local directory is written once before anything else, so a directory sluice may not
        // write fails the start, naming its config key, not the first row; a full one is waited out.
        await probeWritable(places);
        if (config.checkpoint.store === 'hdfs') await store.probe();
        // Each attempt starts over from the newest checkpoint: recovery makes that exact.
        job = config.sink.kind === 'kafka' ? await binlogToKafkaJob(config, store, logger, metrics) : undefined;
        job ??= config.source.kind === 'kafka' ? await kafkaJob(config as KafkaDaemonConfig, storage, store, logger, metrics, leader) : await binlogToHiveJob(config as SluiceConfig, storage, store, logger, metrics, leader);
        if (stopping) job.requestStop();
        try {
          await job.run();
        } catch (caught) {
          // A full disk anywhere below the job is retriable: wait, then start over from the checkpoint.
          const error = named(caught);
          metrics.errors.inc({ code: (error as { code?: string }).code ?? 'UNEXPECTED' });
          throw error;
        }
      },
      { initialDelayMs: 1000, maxDelayMs: 60_000, maxAttempts: Infinity, logger, shouldStop: () => stopping, wake: wake.signal },
    );
  } catch (error) {
    // Asked to stop while waiting to retry: the last checkpoint stands, which is a clean stop.
    if (!(stopping && isRetriable(error))) throw error;
    logger.info({ code: (error as { code?: string }).code }, 'stopped while waiting to retry; the next start resumes from the last checkpoint');
  } finally {
    await health?.close();
    await stopStatus();
    await storage.catalog.close();
    await lock.release();
    store.close?.();
    leader?.close();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

/** The binlog -> Hive job: the daemon's main job. */
async function binlogToHiveJob(config: SluiceConfig, storage: ReturnType<typeof openStorage>, state: StateStore, logger: ReturnType<typeof createLogger>, metrics: SluiceMetrics, leader: Leadership | undefined): Promise<BinlogToHiveJob> {
  const { BinlogToHiveJob } = await import('../pipeline/binlog-to-hive-job.ts');
  return new BinlogToHiveJob({
    ...binlogSettings(config),
    ...hiveSettings(config, storage, leader),
    onTableError: config.sink.onTableError,
    ...maintenanceSettings(config),
    ...loopSettings(config, state, logger, metrics),
    // The log goes to stdout: a terminal on stderr shows the snapshot's progress line instead of its periodic log lines.
    ...(process.stderr.isTTY ? { progressTty: process.stderr } : {}),
  });
}

/** The binlog -> Kafka job a `sink.kind: kafka` config describes (docs/kafka.md). */
async function binlogToKafkaJob(config: SluiceConfig | KafkaDaemonConfig, state: StateStore, logger: ReturnType<typeof createLogger>, metrics: SluiceMetrics): Promise<BinlogToKafkaJob> {
  if (config.source.kind === 'kafka' || !config.sink.kafka) {
    throw new SluiceError('SLUICE_CONFIG_INVALID', 'sink.kind kafka takes the binlog as its source: a Kafka source (source.kind kafka) loads into Hive only');
  }
  const { BinlogToKafkaJob } = await import('../pipeline/binlog-to-kafka-job.ts');
  return new BinlogToKafkaJob({
    ...binlogSettings(config as SluiceConfig),
    kafka: config.sink.kafka,
    version: packageVersion(),
    ...loopSettings(config, state, logger, metrics),
  });
}

/** What both binlog jobs take from `source:`, `routing:`, `capture:` and `snapshot:`. */
function binlogSettings(config: SluiceConfig) {
  return {
    connection: sourceConnection(config),
    serverId: config.source.serverId,
    start: toBinlogStart(config.source.start),
    routing: config.routing,
    capture: config.capture,
    snapshot: config.snapshot,
  };
}

/** Joins the election and waits, as a standby, until this daemon leads; `onTakeover` when it stood by first. */
async function electActive(settings: ZooKeeperSettings, logger: ReturnType<typeof createLogger>, onTakeover: () => void): Promise<Leadership> {
  let stoodBy = false;
  const { electLeader } = await import('../runtime/zookeeper-leadership.ts');
  const leader = await electLeader(settings, logger, {
    onStandby: (active) => {
      stoodBy = true;
      logger.info({ active, path: settings.path }, 'standing by: another daemon is active; this one takes over when its ZooKeeper session ends');
    },
  });
  if (stoodBy) onTakeover();
  logger.info({ epoch: leader.epoch, node: leader.node, path: settings.path }, 'active: elected in ZooKeeper; resuming from the last checkpoint record');
  return leader;
}

/** /metrics, /status, /health and /ready when metrics.enabled, and the file that tells `sluice status` their port. */
async function startHealth(
  config: SluiceConfig | KafkaDaemonConfig,
  metrics: SluiceMetrics,
  logger: ReturnType<typeof createLogger>,
  notReadyReason: () => string | undefined,
  job: () => BinlogToHiveJob | KafkaToHiveJob | BinlogToKafkaJob | undefined,
  ha: (() => HaRole) | undefined,
): Promise<{ health: HealthServer | undefined; stopStatus: () => Promise<void> }> {
  if (!config.metrics.enabled) return { health: undefined, stopStatus: async () => undefined };
  const status = new DaemonStatus(metrics, packageVersion(), ha);
  const health = await startHealthServer(config.metrics.host, config.metrics.port, metrics, { notReadyReason }, () => status.report(job()));
  logger.info({ host: config.metrics.host, port: health.port }, 'metrics and health on /metrics, /status, /health, /ready');
  // For `sluice status`, which knows the state directory but not a port chosen at random.
  const forget = await writeStatusEndpoint(config.checkpoint.dir, endpointUrl(config.metrics.host, health.port)).catch(() => undefined);
  return {
    health,
    stopStatus: async () => {
      status.stop();
      await forget?.();
    },
  };
}

/** The Kafka -> Hive job a `source.kind: kafka` config describes (docs/kafka.md). */
async function kafkaJob(config: KafkaDaemonConfig, storage: ReturnType<typeof openStorage>, state: StateStore, logger: ReturnType<typeof createLogger>, metrics: SluiceMetrics, leader: Leadership | undefined): Promise<KafkaToHiveJob> {
  const { source } = config;
  const { KafkaToHiveJob } = await import('../pipeline/kafka-to-hive-job.ts');
  return new KafkaToHiveJob({
    brokers: source.brokers,
    clientId: source.clientId,
    groupId: source.groupId,
    ...(source.group ? { member: source.group.member } : {}),
    sessionTimeoutMs: source.sessionTimeoutMs,
    topics: source.topics,
    start: source.start,
    deadLetterFile: source.deadLetterFile,
    routing: config.routing,
    ...hiveSettings(config, storage, leader),
    capture: config.capture,
    ...maintenanceSettings(config),
    ...loopSettings(config, state, logger, metrics),
  });
}

/** Compaction and materialization of the Hive tables (`sink.compaction`, `sink.materialize`), the same for every source. */
function maintenanceSettings(config: Pick<SluiceConfig, 'sink'>) {
  return { compaction: config.sink.compaction, materialize: config.sink.materialize };
}

/** What every job's loop takes from `checkpoint:` and `runtime:`. */
function loopSettings(config: SluiceConfig | KafkaDaemonConfig, state: StateStore, logger: ReturnType<typeof createLogger>, metrics: SluiceMetrics) {
  return {
    stateDir: state,
    keepCheckpoints: config.checkpoint.keep,
    checkpointIntervalMs: config.checkpoint.intervalSeconds * 1000,
    maxQueuedEvents: config.runtime.maxQueuedEvents,
    logger,
    metrics,
  };
}

/** The Hive sink's settings from `sink:`, the same for every source. */
function hiveSettings(config: Pick<SluiceConfig, 'sink'>, storage: ReturnType<typeof openStorage>, leader: Leadership | undefined): HiveSettings {
  const { sink } = config;
  return {
    fs: storage.fs,
    catalog: storage.catalog,
    warehouse: storage.warehouse,
    format: sink.format,
    partition: { granularity: sink.partition, dayColumn: sink.dayColumn, hourColumn: sink.hourColumn },
    rollBytes: sink.rollBytes,
    rollSeconds: sink.rollSeconds,
    formats: { parquet: createParquetFormat(sink.parquet) },
    ...(sink.metadataColumns ? { metadataColumns: sink.metadataColumns } : {}),
    ...(leader ? { epoch: leader.epoch } : {}),
  };
}
