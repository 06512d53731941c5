// Takes a checkpoint in the order the design fixes: the caller has stopped its sources at a
// transaction boundary (the barrier); then pre-commit (sinks close and upload staging), record
// (atomic write: from here on the checkpoint counts), commit (idempotent steps of each sink).
// Sources and sinks come by name; what a position or a commit is stays theirs.
import type { CheckpointRecord, TableProgress } from '../core/checkpoint-record.ts';
import type { Sink, SinkCommits } from '../core/sink.ts';
import type { SourceState } from '../core/source.ts';
import type { CheckpointStore } from './checkpoint-store.ts';

export interface CheckpointFigures {
  id: number;
  commits: number;
  durationMs: number;
}

/** What the coordinator needs of a sink. */
export type CommittingSink = Pick<Sink<unknown, SinkCommits>, 'preCommit' | 'commit'>;

export class CheckpointCoordinator {
  private lastId: number;

  constructor(
    private readonly store: CheckpointStore,
    private readonly sinks: Readonly<Record<string, CommittingSink>>,
    private readonly jobId: string,
    private readonly keep: number,
    lastId: number,
    /**
     * A commit point beyond the record, when another system decides whether the checkpoint counts
     * (a Kafka consumer group's fenced offset commit, docs/kafka.md): after the record is written,
     * before any sink commits. A throw leaves the commits undone, for recovery to judge.
     */
    private readonly atRecord?: (record: CheckpointRecord) => Promise<void>,
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

  async checkpoint(sources: Record<string, SourceState>, tables?: TableProgress): Promise<CheckpointFigures> {
    const started = performance.now();
    const id = this.lastId + 1;
    const pending: Record<string, SinkCommits> = {};
    for (const [name, sink] of Object.entries(this.sinks)) pending[name] = await sink.preCommit();
    const record: CheckpointRecord = {
      format: 2,
      id,
      jobId: this.jobId,
      createdAt: new Date().toISOString(),
      sources,
      sinks: pending,
      ...(tables ? { tables } : {}),
    };
    await this.store.write(record);
    this.lastId = id;
    await this.atRecord?.(record);
    for (const [name, sink] of Object.entries(this.sinks)) await sink.commit(pending[name]!);
    await this.store.prune(this.keep);
    const commits = Object.values(pending).reduce((sum, entry) => sum + entry.commits.length, 0);
    return { id, commits, durationMs: Math.round(performance.now() - started) };
  }
}
