// The one loop every pairing of a source and a sink runs in. It takes items in source order, routes
// each change, lets the table gate decide, writes it to the sink, and takes a checkpoint at a
// transaction boundary once a tick asked for one: so no item after the recorded position is handed
// on until the checkpoint is recorded. What a position or a commit is, stays the source's and the
// sink's; what a pairing does beyond this (compaction, schema history) comes in through hooks.
import type { Logger } from 'pino';
import type { CheckpointCoordinator } from '../checkpoint/checkpoint-coordinator.ts';
import type { TableGate } from '../checkpoint/table-gate.ts';
import type { Sink } from '../core/sink.ts';
import type { Source, SourceState } from '../core/source.ts';
import { isTableScopedError, type SluiceError } from '../core/errors.ts';
import { SETTLED } from '../core/settled.ts';
import { routeKey, type Route, type Router } from '../routing/router.ts';
import type { CaptureTransform } from '../routing/capture/capture-transform.ts';
import type { SluiceMetrics } from '../runtime/metrics.ts';

export interface PipelineFigures<P = unknown> {
  changesWritten: number;
  checkpoints: number;
  lastCheckpointAt: Date | undefined;
  lastPosition: P | undefined;
  lastCheckpointId?: number;
  lastCheckpointDurationMs?: number;
}

export interface PipelineHooks {
  /** Before each checkpoint is taken (what a restart from it needs beside the record). */
  beforeCheckpoint?(): Promise<void>;
  /** Between checkpoints, while the loop rests at a boundary: no commit runs meanwhile, and the stream waits. */
  betweenCheckpoints?(lastCheckpointId: number): Promise<void>;
  /** A change was written for this target. */
  written?(target: Route): void;
}

export interface PipelineLoopOptions<S extends SourceState> {
  /** The source's name in the record (`binlog`). */
  sourceName: string;
  source: Source<S, Route>;
  sink: Sink<Route>;
  coordinator: CheckpointCoordinator;
  router: Router;
  /** What is captured of each routed change (columns, masks, row filters); all of it when absent. */
  capture?: CaptureTransform;
  gate: TableGate<S>;
  /** The boundary the source starts at. */
  start: S;
  /** Other sources' states at the start (see SourceItem's boundary `also`). */
  startAlso?: Record<string, SourceState>;
  /** What the newest record holds, on a resume: a tick with nothing new since does not record it again. */
  checkpointed: S | undefined;
  checkpointIntervalMs: number;
  /** What an error of one table stops (sink.onTableError). */
  onTableError: 'table' | 'daemon';
  logger: Logger;
  metrics: SluiceMetrics;
  /** Updated in place, for whoever shows them. */
  figures: PipelineFigures<S['position']>;
  hooks?: PipelineHooks;
}

export class PipelineLoop<S extends SourceState> {
  private stopRequested = false;
  private started = false;
  private streaming = false;
  /** When a tick last found the stream at a boundary and committed (or had nothing to commit). */
  private lastTickHandledAt = 0;
  /** The last boundary the stream passed. */
  private boundary: S;
  /** Other sources' states at that boundary (the snapshot's progress), recorded with it. */
  private boundaryAlso: Record<string, SourceState> | undefined;
  /** What the tables hold for sure: the last recorded position (or the start), from which a stopped table is retried. */
  private committed: S;
  private checkpointed: string | undefined;
  private inTransaction = false;
  private checkpointDue = false;
  // Source times (Unix seconds) of the last change handed on, and of the last one committed.
  private lastChangeTs: number | undefined;
  private committedChangeTs: number | undefined;
  private changesAtLastCheckpoint = 0;
  private lastCheckpointMs = 0;
  /** Ticks this loop has queued in the source, and taken out of it: so that one tick can be told from an earlier one. */
  private ticksQueued = 0;
  private ticksTaken = 0;
  /** The tick (by number) at which a stop asked for behind the queue takes effect. */
  private stopAtTick: number | undefined;

  constructor(private readonly options: PipelineLoopOptions<S>) {
    this.boundary = options.start;
    this.boundaryAlso = options.startAlso;
    this.committed = options.start;
    this.checkpointed = options.checkpointed ? this.describeBoundary(options.checkpointed) : undefined;
  }

  /**
   * What tells two boundaries apart for "nothing new since the last checkpoint": the position, and
   * the sequence number, which rows merged in at one position (a snapshot's chunk) move on.
   */
  private describeBoundary(state: S): string {
    return `${this.options.source.describe(state)}#${state.nextSequence}`;
  }

  notReadyReason(): string | undefined {
    if (!this.streaming) return `not streaming from the ${this.options.sourceName} yet`;
    // A checkpoint waits for the end of a transaction, so allow a few intervals (and at least a
    // minute) before calling the pipeline stuck.
    const allowedMs = Math.max(3 * this.options.checkpointIntervalMs, 60_000);
    const sinceMs = Date.now() - this.lastTickHandledAt;
    if (sinceMs > allowedMs) return `no checkpoint for ${Math.round(sinceMs / 1000)} s (allowed ${allowedMs / 1000} s)`;
    const stopped = [...this.options.gate.stoppedTables].map(([table, entry]) => `${table} (${entry.code})`);
    if (stopped.length > 0) return `tables stopped by an error: ${stopped.join(', ')}`;
    return undefined;
  }

  /** Where the loop stands now, for the status page: the last recorded boundary, the last one read, and the other sources' states at it. */
  where(): { committed: S; boundary: S; also: Record<string, SourceState> | undefined } {
    return { committed: this.committed, boundary: this.boundary, also: this.boundaryAlso };
  }

  /** Asks for a clean stop: the loop ends at the next transaction boundary with a final checkpoint. */
  requestStop(): void {
    this.stopRequested = true;
    if (this.started) this.tick();
  }

  /**
   * Asks for a clean stop once every item the source has queued so far is handed on (the snapshot's
   * last rows, for `initial_only`): the source may be far ahead of the loop, and a stop at the next
   * boundary would leave the rows queued behind it out of the final checkpoint.
   */
  requestStopBehindQueued(): void {
    if (!this.started) return this.requestStop();
    this.tick();
    this.stopAtTick = this.ticksQueued;
  }

  /** Queues a tick behind everything the source holds. */
  private tick(): void {
    this.ticksQueued++;
    this.options.source.injectTick();
  }

  async run(): Promise<void> {
    const { source, sink, coordinator, logger, metrics, figures } = this.options;
    // Counted once per change: a plain tally, exact in the counter whenever it is read.
    const changesRead = metrics.tally(metrics.changesRead);
    // Rows come in runs of one target (the router hands out one Route object per target).
    let lastTarget: Route | undefined;
    let lastKey = '';
    source.start();
    this.started = true;
    this.lastTickHandledAt = Date.now();
    this.lastCheckpointMs = performance.now();
    const timer = setInterval(() => this.tick(), this.options.checkpointIntervalMs);
    if (this.stopRequested) this.tick();
    metrics.lagSeconds = () => (this.caughtUp() || this.committedChangeTs === undefined ? 0 : Math.max(0, Date.now() / 1000 - this.committedChangeTs));
    try {
      for (;;) {
        const item = source.poll?.() ?? (await source.next());
        if (item.kind === 'change') {
          const decision = this.options.router.decide(item.event.schema, item.event.table);
          if (decision.kind !== 'routed') continue;
          this.inTransaction = true;
          if (decision.target !== lastTarget) {
            lastTarget = decision.target;
            lastKey = routeKey(lastTarget);
          }
          if (!this.options.gate.admits(lastKey, item.event.sequence)) continue;
          try {
            const event = this.options.capture ? this.options.capture.apply(item.event, decision.rule) : item.event;
            if (event === undefined) continue;
            const written = sink.write(decision.target, event, coordinator.pendingId);
            if (written !== SETTLED) await written;
          } catch (error) {
            if (!isTableScopedError(error)) throw error;
            await this.stopTable(decision.target, error, source.describeChange(item.event));
            continue;
          }
          this.options.hooks?.written?.(decision.target);
          figures.changesWritten++;
          changesRead.add();
          this.lastChangeTs = item.event.commitTs;
          continue;
        }
        if (item.kind === 'table-failed') {
          await this.stopTable(item.target, item.error, item.at);
          continue;
        }
        if (item.kind === 'boundary') {
          this.inTransaction = false;
          this.boundary = item.state;
          this.boundaryAlso = item.also;
          if (item.xa) await sink.onXa?.(item.xa, source.describe(item.state));
          if (this.checkpointDue || this.stopRequested) {
            await this.checkpointAtBoundary();
            this.lastTickHandledAt = Date.now();
            if (this.stopRequested) break;
            await this.betweenCheckpoints();
          }
          continue;
        }
        // A tick: checkpoint now if the stream rests between transactions, else at the next boundary.
        this.ticksTaken++;
        if (this.stopAtTick !== undefined && this.ticksTaken >= this.stopAtTick) this.stopRequested = true;
        this.streaming = true;
        metrics.queuedItems.set(source.queuedItems);
        if (this.inTransaction) {
          this.checkpointDue = true;
          continue;
        }
        if (this.checkpointed !== this.describeBoundary(this.boundary) || this.stopRequested) await this.checkpointAtBoundary();
        this.lastTickHandledAt = Date.now();
        if (this.stopRequested) break;
        await this.betweenCheckpoints();
      }
    } catch (error) {
      await sink.abort().catch(() => undefined);
      throw error;
    } finally {
      this.streaming = false;
      clearInterval(timer);
      await source.stop();
    }
    logger.info({ checkpoint: coordinator.lastCheckpointId, changes: figures.changesWritten }, 'stopped after a final checkpoint');
  }

  private caughtUp(): boolean {
    return this.options.source.queuedItems === 0 && !this.inTransaction && this.checkpointed === this.describeBoundary(this.boundary);
  }

  private async betweenCheckpoints(): Promise<void> {
    if (!this.stopRequested) await this.options.hooks?.betweenCheckpoints?.(this.options.coordinator.lastCheckpointId);
  }

  private async stopTable(target: Route, error: SluiceError, at: string): Promise<void> {
    const { gate, sink, metrics, logger, source } = this.options;
    if (this.options.onTableError === 'daemon') throw error;
    const table = routeKey(target);
    const entry = gate.stop(table, this.committed, { code: error.code, message: error.message, at });
    await sink.discard(target, BigInt(entry.since.nextSequence));
    metrics.errors.inc({ code: error.code });
    metrics.stoppedTables.set(gate.stoppedTables.size);
    logger.error(
      { table, code: error.code, at, since: entry.since.position, err: error },
      `table ${table} stopped: ${error.message} The other tables go on; ${table} holds every change before ` +
        `${source.describe(entry.since)}, and the next start retries it from there once the cause is fixed.`,
    );
  }

  private async checkpointAtBoundary(): Promise<void> {
    const { coordinator, gate, metrics, logger, figures, source } = this.options;
    const boundary = this.boundary;
    await this.options.hooks?.beforeCheckpoint?.();
    const taken = await coordinator.checkpoint({ ...this.boundaryAlso, [this.options.sourceName]: boundary }, gate.progressAt(boundary));
    this.checkpointed = this.describeBoundary(boundary);
    this.committed = boundary;
    this.committedChangeTs = this.lastChangeTs;
    figures.checkpoints++;
    figures.lastCheckpointAt = new Date();
    figures.lastPosition = boundary.position;
    figures.lastCheckpointId = taken.id;
    figures.lastCheckpointDurationMs = taken.durationMs;
    this.checkpointDue = false;
    metrics.checkpoints.inc();
    metrics.checkpointDuration.observe(taken.durationMs / 1000);
    metrics.lastCheckpointTime.set(Date.now() / 1000);
    const now = performance.now();
    const changes = figures.changesWritten - this.changesAtLastCheckpoint;
    logger.info(
      {
        checkpoint: taken.id,
        commits: taken.commits,
        durationMs: taken.durationMs,
        position: boundary.position,
        changes,
        changesPerSecond: Math.round((changes * 1000) / Math.max(1, now - this.lastCheckpointMs)),
        lagSeconds: Math.round(metrics.lagSeconds()),
        queued: source.queuedItems,
      },
      'checkpoint committed',
    );
    this.changesAtLastCheckpoint = figures.changesWritten;
    this.lastCheckpointMs = now;
  }
}
