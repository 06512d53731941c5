// `sluice run`: the daemon. SIGTERM or SIGINT asks for a clean stop (final checkpoint, exit 0); a
// second signal exits at once, which is safe too: the next start recovers from the last checkpoint.
import type { SluiceConfig } from '../config/schema.ts';
import { redactConfig } from '../config/load.ts';
import { BinlogToHiveJob } from '../runtime/binlog-to-hive-job.ts';
import { openStorage } from '../runtime/embedded-runtime.ts';
import { createLogger } from '../runtime/logger.ts';
import { withRetry } from '../runtime/retry.ts';
import type { BinlogStart } from '../sources/binlog/binlog-position.ts';

export function toBinlogStart(start: SluiceConfig['source']['start']): BinlogStart {
  if (start === 'earliest' || start === 'latest') return { kind: start };
  if ('gtid' in start) return { kind: 'gtid', gtidSet: start.gtid };
  return { kind: 'file', file: start.file, offset: start.position };
}

export async function runDaemon(config: SluiceConfig): Promise<void> {
  const logger = createLogger(config.log.level);
  logger.info({ config: redactConfig(config) }, 'sluice starting');
  const storage = openStorage(config);
  let stopping = false;
  let job: BinlogToHiveJob | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now; the next start recovers from the last checkpoint');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'stopping at the next transaction boundary, after a final checkpoint');
    job?.requestStop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await withRetry(
      async () => {
        // Each attempt starts over from the newest checkpoint: recovery makes that exact.
        job = new BinlogToHiveJob({
          connection: {
            host: config.source.host,
            port: config.source.port,
            user: config.source.user,
            password: config.source.password,
            connectTimeoutMs: config.source.connectTimeoutMs,
          },
          serverId: config.source.serverId,
          start: toBinlogStart(config.source.start),
          routing: config.routing,
          fs: storage.fs,
          catalog: storage.catalog,
          warehouse: storage.warehouse,
          format: config.sink.format,
          partition: config.sink.partition,
          rollBytes: config.sink.rollBytes,
          stateDir: config.checkpoint.dir,
          keepCheckpoints: config.checkpoint.keep,
          checkpointIntervalMs: config.checkpoint.intervalSeconds * 1000,
          maxQueuedEvents: config.runtime.maxQueuedEvents,
          logger,
        });
        if (stopping) job.requestStop();
        await job.run();
      },
      { initialDelayMs: 1000, maxDelayMs: 60_000, maxAttempts: Infinity, logger, shouldStop: () => stopping },
    );
  } finally {
    await storage.catalog.close();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
