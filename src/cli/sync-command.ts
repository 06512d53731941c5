// `sluice sync --job FILE`: one batch copy, run to its end. SIGTERM or SIGINT stops it at the next
// page boundary with a checkpoint (exit 0); running the same job again resumes from there. A kill -9
// is safe too: the next run recovers from the last checkpoint.
import { loadSyncJob, redactSyncJob } from '../config/load-sync-job.ts';
import { isSluiceError } from '../core/errors.ts';
import { syncPlaces } from '../config/local-places.ts';
import { nameDiskError, probeWritable } from '../core/local-disk.ts';
import { createLogger } from '../core/logger.ts';
import { isRetriable, withRetry } from '../core/retry.ts';
import { runSyncJob, type SyncResult } from '../sync/sync-job.ts';

export async function runSyncCommand(jobFile: string, options: { progress?: boolean; again?: boolean }): Promise<SyncResult | undefined> {
  const job = await loadSyncJob(jobFile);
  // Logs go to stderr so that a person's terminal shows the progress block and the log together.
  const logger = createLogger(job.log.level, 2, job.log.format);
  const places = syncPlaces(job);
  logger.info({ job: redactSyncJob(job) }, `sync ${job.name} starting`);
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) process.exit(130);
    logger.info(`${signal}: stopping ${job.name} at the next checkpoint; a second signal exits at once`);
    controller.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const tty = options.progress !== false && process.stderr.isTTY ? process.stderr : undefined;
  // --again asks for one new copy: once that copy has begun, a retry resumes it instead of beginning
  // another (which, in append mode, would write every row twice).
  let again = options.again === true;
  const onFreshStart = (): void => {
    again = false;
  };
  try {
    // Each attempt starts over from the last checkpoint, as a restart would: recovery makes that exact.
    return await withRetry(
      async () => {
        // As the daemon: a directory sluice may not write fails the start naming its key (exit 78); a full one is waited out.
        try {
          await probeWritable(places, { tidy: true });
          return await runSyncJob(job, { logger, signal: controller.signal, again, onFreshStart, ...(tty ? { tty } : {}) });
        } catch (error) {
          throw nameDiskError(error, places);
        }
      },
      {
        initialDelayMs: 1000,
        maxDelayMs: 30_000,
        maxAttempts: 10,
        outlasts: (error) => isSluiceError(error, 'SLUICE_DISK_FULL'),
        logger,
        shouldStop: () => controller.signal.aborted,
        wake: controller.signal,
      },
    );
  } catch (error) {
    // Asked to stop while waiting to retry: the last checkpoint stands, which is a clean stop.
    if (!(controller.signal.aborted && isRetriable(error))) throw error;
    logger.info({ code: (error as { code?: string }).code }, `stopped ${job.name} while waiting to retry; running it again resumes from its last checkpoint`);
    return undefined;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
