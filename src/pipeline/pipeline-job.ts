// What every job that runs the one pipeline loop (binlog -> Hive, Kafka -> Hive, binlog -> Kafka)
// shows and takes from the daemon: its figures and metrics, `/status` and `/ready` (StatusProbe), and
// a stop that may be asked for at any moment, also before the job's loop exists.
import type { SourceState } from '../core/source.ts';
import type { LiveStatus, StatusProbe } from '../runtime/daemon-status.ts';
import { SluiceMetrics } from '../runtime/metrics.ts';
import type { PipelineFigures, PipelineLoop } from './pipeline-loop.ts';

export abstract class PipelineJob<S extends SourceState> implements StatusProbe {
  protected stopRequested = false;
  /** The loop running now; undefined before it is built and between a Kafka group member's loops. */
  protected loop: PipelineLoop<S> | undefined;
  private live: (() => LiveStatus) | undefined;
  readonly figures: PipelineFigures<S['position']> = { changesWritten: 0, checkpoints: 0, lastCheckpointAt: undefined, lastPosition: undefined };
  readonly metrics: SluiceMetrics;

  /** `notStarted`: what /ready says until the loop runs ('not streaming from the binlog yet'). */
  protected constructor(
    metrics: SluiceMetrics | undefined,
    private readonly notStarted: string,
  ) {
    this.metrics = metrics ?? new SluiceMetrics();
  }

  abstract run(): Promise<void>;

  notReadyReason(): string | undefined {
    return this.loop ? this.loop.notReadyReason() : this.notStarted;
  }

  liveStatus(): LiveStatus | undefined {
    return this.live?.();
  }

  /** Asks for a clean stop: the job ends at the next transaction boundary with a final checkpoint. */
  requestStop(): void {
    this.stopRequested = true;
    this.loop?.requestStop();
  }

  /** Hands over a loop once built, with what `/status` shows of it; a stop asked for before reaches it now. */
  protected attach(loop: PipelineLoop<S>, live: () => LiveStatus): void {
    this.loop = loop;
    this.live = live;
    if (this.stopRequested) loop.requestStop();
  }
}
