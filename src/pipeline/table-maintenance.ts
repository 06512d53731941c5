// Compaction and materialization of the Hive tables a job writes (sink.compaction, sink.materialize),
// for any job whose sink is the Hive changelog sink. Both run in the pipeline loop between
// checkpoints, when their schedule has made them due, so no commit runs meanwhile; both fold or merge
// committed files only, and each keeps its own intents in the state store for a crash mid-way.
import type { Logger } from 'pino';
import type { StateStore } from '../core/state-store.ts';
import type { Route } from '../routing/router.ts';
import type { LiveStatus } from '../runtime/daemon-status.ts';
import { Compactor, type CompactionSettings } from '../sinks/compaction.ts';
import { Materializer, type MaterializeSettings } from '../sinks/materialize.ts';
import type { Catalog } from '../catalog/catalog.ts';
import type { FileSystem } from '../filesystem/filesystem.ts';

export interface TableMaintenanceOptions {
  fs: FileSystem;
  catalog: Catalog;
  /** Compaction writes files of up to this size (sink.rollBytes). */
  rollBytes: number;
  stateDir: string | StateStore;
  compaction?: CompactionSettings;
  materialize?: MaterializeSettings;
}

/** What `/status` shows of compaction for a job that runs none (the Kafka sink). */
export const NO_COMPACTION: LiveStatus['compaction'] = { enabled: false, due: false, running: false, lastRun: undefined };

export class TableMaintenance {
  private readonly compactor: Compactor | undefined;
  private readonly materializer: Materializer | undefined;
  private readonly compaction: CompactionTracker;

  constructor(options: TableMaintenanceOptions, jobId: string, logger: Logger) {
    const { fs, catalog, stateDir, rollBytes } = options;
    this.compactor = options.compaction?.enabled ? new Compactor({ fs, catalog, stateDir, jobId, rollBytes, settings: options.compaction, logger }) : undefined;
    this.materializer = options.materialize?.enabled ? new Materializer({ fs, catalog, stateDir, jobId, settings: options.materialize, logger }) : undefined;
    this.compaction = new CompactionTracker(this.compactor);
  }

  /** The loop's `betweenCheckpoints` hook: compaction first, then materialization, each only when due. */
  async runIfDue(lastCheckpointId: number): Promise<void> {
    await this.compaction.runIfDue(lastCheckpointId);
    await this.materializer?.runIfDue(lastCheckpointId);
  }

  /** The loop's `written` hook: the tables a schedule's run looks at. */
  noteTarget(target: Route): void {
    this.compactor?.noteTarget(target);
    this.materializer?.noteTarget(target);
  }

  /** Starts the schedules; `stop` in a finally ends them. */
  start(): void {
    this.compactor?.start();
    this.materializer?.start();
  }

  stop(): void {
    this.compactor?.stop();
    this.materializer?.stop();
  }

  compactionStatus(): LiveStatus['compaction'] {
    return this.compaction.state();
  }
}

/** Runs compaction and remembers what the status page shows of it. */
class CompactionTracker {
  private running = false;
  private lastRun: LiveStatus['compaction']['lastRun'];

  constructor(private readonly compactor: Compactor | undefined) {}

  async runIfDue(checkpointId: number): Promise<void> {
    if (!this.compactor?.isDue) return;
    this.running = true;
    try {
      const figures = await this.compactor.runIfDue(checkpointId);
      if (figures) this.lastRun = { at: new Date().toISOString(), partitions: figures.partitions, filesIn: figures.filesIn, filesOut: figures.filesOut, durationMs: figures.durationMs };
    } finally {
      this.running = false;
    }
  }

  state(): LiveStatus['compaction'] {
    return { enabled: this.compactor !== undefined, due: this.compactor?.isDue ?? false, running: this.running, lastRun: this.lastRun };
  }
}
