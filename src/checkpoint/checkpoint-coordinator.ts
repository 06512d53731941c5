// Takes a checkpoint in the order the design fixes: the caller has stopped the source at a
// transaction boundary (the barrier); then pre-commit (sinks close and upload staging), record
// (atomic write: from here on the checkpoint counts), commit (idempotent renames and partitions).
import type { Catalog } from '../catalog/catalog.ts';
import type { FileSystem } from '../filesystem/filesystem.ts';
import type { HiveChangelogSink } from '../sinks/hive-changelog-sink.ts';
import type { BinlogSourceState, CheckpointRecord, TableProgress } from './checkpoint-record.ts';
import type { CheckpointStore } from './checkpoint-store.ts';
import { executeCommits } from './commit-executor.ts';

export interface CheckpointFigures {
  id: number;
  commits: number;
  durationMs: number;
}

export class CheckpointCoordinator {
  private lastId: number;

  constructor(
    private readonly store: CheckpointStore,
    private readonly sink: HiveChangelogSink,
    private readonly fs: FileSystem,
    private readonly catalog: Catalog,
    private readonly jobId: string,
    private readonly keep: number,
    lastId: number,
  ) {
    this.lastId = lastId;
  }

  /** The id the next checkpoint will have; staging files written now are committed by it. */
  get pendingId(): number {
    return this.lastId + 1;
  }

  get lastCheckpointId(): number {
    return this.lastId;
  }

  async checkpoint(source: BinlogSourceState, tables?: TableProgress): Promise<CheckpointFigures> {
    const started = performance.now();
    const id = this.lastId + 1;
    const commits = await this.sink.preCommit();
    const preparedXa = this.sink.preparedXa();
    const record: CheckpointRecord = {
      format: 1,
      id,
      jobId: this.jobId,
      createdAt: new Date().toISOString(),
      source,
      commits,
      ...(tables ? { tables } : {}),
      ...(preparedXa ? { preparedXa } : {}),
    };
    await this.store.write(record);
    this.lastId = id;
    await this.sink.afterRecord();
    await executeCommits(commits, this.fs, this.catalog);
    await this.store.prune(this.keep);
    return { id, commits: commits.length, durationMs: Math.round(performance.now() - started) };
  }
}
