// `sluice run`: the daemon. SIGTERM or SIGINT asks for a clean stop (final checkpoint, exit 0; while
// waiting to retry there is nothing to checkpoint, so at once); a second signal exits at once (130),
// which is safe too: the next start recovers from the last checkpoint.
import type { KafkaDaemonConfig, SluiceConfig } from '../config/schema.ts';
import { redactConfig } from '../config/load.ts';
import { BinlogToHiveJob, type HiveSettings } from '../pipeline/binlog-to-hive-job.ts';
import { KafkaToHiveJob } from '../pipeline/kafka-to-hive-job.ts';
import { createParquetFormat } from '../sinks/parquet-format.ts';
import { startHealthServer, type HealthServer } from '../runtime/health-server.ts';
import { SluiceMetrics } from '../runtime/metrics.ts';
import { DaemonStatus } from '../runtime/daemon-status.ts';
import { endpointUrl, writeStatusEndpoint } from '../runtime/status-endpoint.ts';
import { openStorage } from '../runtime/embedded-runtime.ts';
import { createLogger } from '../core/logger.ts';
import { localPlaces } from '../config/local-places.ts';
import { nameDiskError, probeWritable } from '../core/local-disk.ts';
import { isRetriable, withRetry } from '../core/retry.ts';
import { openStateStore } from '../runtime/open-state-store.ts';
import type { StateStore } from '../core/state-store.ts';
import { exitCodeOf } from './exit-codes.ts';
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
  // Before anything reads or writes state: a second daemon on the same state directory stops here.
  const state = openStateStore(config, logger);
  const lock = await state.lock().catch((error: unknown) => {
    state.close?.();
    return Promise.reject(named(error));
  });
  // On HDFS a daemon paused past the lock's lease may find a standby holding it: it must not write
  // another byte, not even a final checkpoint.
  void lock.lost?.then((error) => {
    logger.fatal({ code: error.code, exitCode: exitCodeOf(error), err: error }, error.message);
    process.exit(exitCodeOf(error));
  });
  const storage = openStorage(config, logger);
  let stopping = false;
  let job: BinlogToHiveJob | KafkaToHiveJob | undefined;
  // One registry and one HTTP server for the process, across retries of the job.
  const metrics = new SluiceMetrics();
  metrics.collectProcessMetrics();
  let health: HealthServer | undefined;
  let stopStatus = async (): Promise<void> => undefined;
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
    if (config.metrics.enabled) {
      const status = new DaemonStatus(metrics, packageVersion());
      health = await startHealthServer(
        config.metrics.host,
        config.metrics.port,
        metrics,
        { notReadyReason: () => (job ? job.notReadyReason() : 'starting') },
        () => status.report(job),
      );
      logger.info({ host: config.metrics.host, port: health.port }, 'metrics and health on /metrics, /status, /health, /ready');
      // For `sluice status`, which knows the state directory but not a port chosen at random.
      const forget = await writeStatusEndpoint(config.checkpoint.dir, endpointUrl(config.metrics.host, health.port)).catch(() => undefined);
      stopStatus = async () => {
        status.stop();
        await forget?.();
      };
    }
    await withRetry(
      async () => {
        // Every local directory is written once before anything else, so a directory sluice may not
        // write fails the start, naming its config key, not the first row; a full one is waited out.
        await probeWritable(places);
        if (config.checkpoint.store === 'hdfs') await state.probe();
        // Each attempt starts over from the newest checkpoint: recovery makes that exact.
        job = config.source.kind === 'kafka' ? kafkaJob(config as KafkaDaemonConfig, storage, state, logger, metrics) : new BinlogToHiveJob({
          connection: sourceConnection(config as SluiceConfig),
          serverId: config.source.serverId,
          start: toBinlogStart(config.source.start),
          routing: config.routing,
          ...hiveSettings(config, storage),
          capture: config.capture,
          onTableError: config.sink.onTableError,
          stateDir: state,
          keepCheckpoints: config.checkpoint.keep,
          checkpointIntervalMs: config.checkpoint.intervalSeconds * 1000,
          maxQueuedEvents: config.runtime.maxQueuedEvents,
          compaction: config.sink.compaction,
          snapshot: config.snapshot,
          logger,
          metrics,
          // The log goes to stdout: a terminal on stderr shows the snapshot's progress line instead of its periodic log lines.
          ...(process.stderr.isTTY ? { progressTty: process.stderr } : {}),
        });
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
    state.close?.();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

/** The Kafka -> Hive job a `source.kind: kafka` config describes (docs/kafka.md). */
function kafkaJob(config: KafkaDaemonConfig, storage: ReturnType<typeof openStorage>, state: StateStore, logger: ReturnType<typeof createLogger>, metrics: SluiceMetrics): KafkaToHiveJob {
  const { source } = config;
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
    ...hiveSettings(config, storage),
    capture: config.capture,
    stateDir: state,
    keepCheckpoints: config.checkpoint.keep,
    checkpointIntervalMs: config.checkpoint.intervalSeconds * 1000,
    maxQueuedEvents: config.runtime.maxQueuedEvents,
    logger,
    metrics,
  });
}

/** The Hive sink's settings from `sink:`, the same for every source. */
function hiveSettings(config: Pick<SluiceConfig, 'sink'>, storage: ReturnType<typeof openStorage>): HiveSettings {
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
  };
}
