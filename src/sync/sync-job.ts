// Runs one batch job: a MySQL table copied over N channels into a target, with a checkpoint every
// `checkpoint.intervalSeconds` and at the end, resumable after any crash from the last one.
//
// The order of each checkpoint is DESIGN.md's: barrier (every channel stopped between pages), then
// the target's pre-commit, record and commit. A channel's offset advances only together with the
// rows its writer holds, so the record always names exactly the committed rows.
import type { Logger } from 'pino';
import type mysql from 'mysql2/promise';
import type { SyncJob } from '../config/sync-job-schema.ts';
import { SluiceError } from '../core/errors.ts';
import { startHealthServer, type HealthServer } from '../runtime/health-server.ts';
import { openSyncStateStore } from '../runtime/open-state-store.ts';
import { ChannelReader } from '../sources/table/channel-reader.ts';
import { connectMysql, EXACT_VALUES, useUtcSession } from '../core/mysql-connect.ts';
import { ChannelBarrier } from './barrier.ts';
import { openTarget } from './open-target.ts';
import { countRows, planSource, planSplit } from './source-plan.ts';
import { SyncMetrics, SyncProgress } from './sync-progress.ts';
import { freshState, type SyncState } from './sync-state.ts';
import { SyncStateStore } from './sync-state-store.ts';
import { MysqlTarget } from './mysql-target.ts';

export interface SyncRunOptions {
  logger: Logger;
  /** Aborting stops the job at the next page boundary with a checkpoint; a later run resumes. */
  signal?: AbortSignal;
  /** Where progress redraws in place (a terminal); without it, progress goes to the log. */
  tty?: NodeJS.WriteStream;
  /** Start a new copy even when the job's last run finished (otherwise that run is final). */
  again?: boolean;
  /** Called once a new copy's starting state is durable: from then on, a retry resumes that copy. */
  onFreshStart?: () => void;
}

export interface SyncResult {
  /** Rows committed by this job in all (this run and the runs it resumed). */
  rows: number;
  rowsThisRun: number;
  channelRows: number[];
  checkpoints: number;
  seconds: number;
  resumed: boolean;
  /** The run was stopped (signal) before the copy finished. */
  stopped: boolean;
  /** The job had finished before this run, which therefore did nothing. */
  alreadyFinished: boolean;
}

export async function runSyncJob(job: SyncJob, options: SyncRunOptions): Promise<SyncResult> {
  const { logger } = options;
  const started = Date.now();
  const stateStore = openSyncStateStore(job, logger);
  const stateDir = stateStore.description;
  const lock = await stateStore.lock().catch((error: unknown) => {
    stateStore.close?.();
    throw error;
  });
  const connections: mysql.Connection[] = [];
  let health: HealthServer | undefined;
  let target: ReturnType<typeof openTarget> | undefined;
  try {
    const control = await connectMysql(job.source, 'source', EXACT_VALUES);
    connections.push(control);
    await useUtcSession(control);
    const plan = await planSource(control, job.source);
    target = openTarget(job, plan.hiveTypes, new SyncStateStore(stateStore), logger);
    await target.check(plan.columns);

    const recovered = await target.recover();
    if (recovered?.finished && !options.again) {
      // A finished job stays finished: a restart after a crash between its last record and its exit
      // (or a second `systemctl start`) must not append a second copy. --again asks for one.
      const rows = recovered.channels.reduce((sum, channel) => sum + channel.rows, 0);
      logger.info(
        { job: job.name, run: recovered.runId, rows },
        `${job.name} already finished (run ${recovered.runId}, started ${recovered.startedAt}, ${rows} rows in ${target.description}); nothing to do. Run with --again for a new copy.`,
      );
      return { rows, rowsThisRun: 0, channelRows: recovered.channels.map((c) => c.rows), checkpoints: 0, seconds: (Date.now() - started) / 1000, resumed: false, stopped: false, alreadyFinished: true };
    }
    let state: SyncState;
    const resumed = recovered !== undefined && !recovered.finished;
    if (recovered && resumed) {
      if (recovered.table !== job.source.table || recovered.channels.length !== job.channels) {
        throw new SluiceError(
          'SLUICE_SYNC_PRECONDITION',
          `job ${job.name} was interrupted while copying ${recovered.table} over ${recovered.channels.length} channels; this job file says ${job.source.table} over ${job.channels}. ` +
            `Finish the interrupted copy with the same table and channels, or start over with a new job name (or delete ${stateDir} and, for a MySQL target, its rows in sluice_sync_state).`,
          { context: { configKey: 'channels', file: stateDir } },
        );
      }
      const keyNames = plan.key.columns.map((column) => column.name);
      if (recovered.key !== undefined && recovered.key.join(',').toLowerCase() !== keyNames.join(',').toLowerCase()) {
        throw new SluiceError(
          'SLUICE_SYNC_PRECONDITION',
          `job ${job.name} was interrupted while copying ${recovered.table} in the order of (${recovered.key.join(', ')}); the key is now (${keyNames.join(', ')}), so its offsets would name other rows. ` +
            `Set source.key back to ${recovered.key.join(', ')} to finish the interrupted copy, or start over with a new job name (or delete ${stateDir} and, for a MySQL target, its rows in sluice_sync_state).`,
          { context: { configKey: 'source.key', file: stateDir } },
        );
      }
      // A record of format 1 names no key: its offsets are values of the key's first column.
      state = { ...recovered, key: keyNames, pending: [] };
      logger.info({ job: job.name, run: state.runId, checkpoint: state.checkpointId, channels: state.channels }, `resuming ${job.name} from checkpoint ${state.checkpointId}`);
    } else {
      const split = await planSplit(control, job.source, plan.key, job.channels);
      state = freshState(job.name, job.source.table, plan.key.columns.map((column) => column.name), split, new Date());
      logger.info({ job: job.name, run: state.runId, split }, `starting ${job.name}: ${job.source.table} over ${job.channels} channel(s) to ${target.description} (${job.writer.mode})`);
    }
    await target.start(state, !resumed);
    if (!resumed) options.onFreshStart?.();

    const totals = await countRows(control, job.source, plan.key, state.split);
    const metrics = job.metrics.enabled ? new SyncMetrics() : undefined;
    if (metrics) {
      health = await startHealthServer(job.metrics.host, job.metrics.port, metrics, { notReadyReason: () => undefined });
      logger.info(`metrics on http://${job.metrics.host}:${health.port}/metrics`);
    }
    const progress = new SyncProgress(job.name, totals, state.channels.map((channel) => channel.rows), logger, options.tty, metrics);
    const rowsAtStart = state.channels.reduce((sum, channel) => sum + channel.rows, 0);
    state.channels.forEach((channel, index) => channel.done && progress.finish(index));

    if (target instanceof MysqlTarget) await target.openChannels(job.channels);
    const readers: ChannelReader[] = [];
    for (let channel = 0; channel < job.channels; channel++) {
      const connection = await connectMysql(job.source, 'source', EXACT_VALUES);
      connections.push(connection);
      await useUtcSession(connection);
      readers.push(
        new ChannelReader(connection, {
          table: job.source.table,
          key: plan.key,
          columns: plan.columns,
          split: state.split,
          channel,
          where: job.source.where,
          pageRows: job.source.pageRows,
        }),
      );
    }

    const barrier = new ChannelBarrier(job.channels);
    let stopping = false;
    let failure: unknown;
    const runChannel = async (channel: number): Promise<void> => {
      const channelState = state.channels[channel]!;
      const writer = target!.writer(channel);
      try {
        while (!channelState.done) {
          if (barrier.requested) {
            await writer.commitChannel?.(channelState);
            await barrier.arrive();
          }
          if (stopping) return;
          const page = await readers[channel]!.nextPage(channelState.offset);
          if (!page) {
            channelState.done = true;
            await writer.commitChannel?.(channelState);
            progress.finish(channel);
            break;
          }
          for (const row of page.rows) await writer.write(row);
          channelState.offset = page.lastKey;
          channelState.rows += page.rows.length;
          progress.add(channel, page.rows.length);
        }
      } catch (error) {
        // Before leaving the barrier: a checkpoint waiting for this channel must see the failure
        // when the barrier lets it go, and never record an offset whose rows did not reach the target.
        failure ??= error;
        stopping = true;
        barrier.end();
        throw error;
      } finally {
        barrier.leave();
      }
    };

    progress.start();
    const loops = Promise.all(state.channels.map((_, channel) => runChannel(channel))).catch((error: unknown) => {
      failure ??= error;
      stopping = true;
      barrier.end();
    });
    let finished = false;
    void loops.then(() => (finished = true));
    let checkpoints = 0;
    const stopped = new Promise<void>((resolve) => {
      if (options.signal?.aborted) resolve();
      options.signal?.addEventListener('abort', () => resolve(), { once: true });
    });
    const checkpoint = async (): Promise<void> => {
      state.checkpointId++;
      state.finished = state.channels.every((channel) => channel.done);
      const begun = Date.now();
      await target!.checkpoint(state);
      checkpoints++;
      progress.committed(state.channels.map((channel) => channel.rows));
      logger.debug({ job: job.name, checkpoint: state.checkpointId, ms: Date.now() - begun, offsets: state.channels.map((c) => c.offset ?? null) }, 'sync checkpoint committed');
    };

    while (!finished && failure === undefined) {
      let timer: NodeJS.Timeout | undefined;
      const tick = new Promise<'tick'>((resolve) => (timer = setTimeout(() => resolve('tick'), job.checkpoint.intervalSeconds * 1000)));
      const why = await Promise.race([tick, loops.then(() => 'done' as const), stopped.then(() => 'stop' as const)]);
      clearTimeout(timer);
      if (why === 'done' || failure !== undefined) break;
      await barrier.request();
      if (failure !== undefined) break;
      await checkpoint();
      if (why === 'stop') stopping = true;
      barrier.open();
      if (stopping) break;
    }
    await loops;
    progress.stop();
    if (failure !== undefined) throw failure;
    // The last checkpoint: the rows since the previous one, and `finished` once every channel is done.
    await checkpoint();
    const rows = state.channels.reduce((sum, channel) => sum + channel.rows, 0);
    const result: SyncResult = {
      rows,
      rowsThisRun: rows - rowsAtStart,
      channelRows: state.channels.map((channel) => channel.rows),
      checkpoints,
      seconds: (Date.now() - started) / 1000,
      resumed,
      stopped: !state.finished,
      alreadyFinished: false,
    };
    logger.info(
      { job: job.name, ...result },
      state.finished
        ? `${job.name} done: ${rows} rows in ${target.description} (${Math.round(result.rowsThisRun / Math.max(result.seconds, 0.001))} rows/s this run)`
        : `${job.name} stopped at checkpoint ${state.checkpointId} after ${rows} rows; run it again to resume`,
    );
    return result;
  } finally {
    await target?.close().catch(() => undefined);
    for (const connection of connections) await connection.end().catch(() => undefined);
    await health?.close().catch(() => undefined);
    await lock.release();
    stateStore.close?.();
  }
}
