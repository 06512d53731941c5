// The Hive changelog sink as a pipeline sees it: the staging writer (hive-changelog-sink.ts), the
// commits it hands the checkpoint record as plain data, and its part of recovery: which staging a
// crash left behind, and which of it a prepared XA transaction still holds.
import type { Logger } from 'pino';
import type { Catalog, TableDefinition } from '../catalog/catalog.ts';
import { recoverCompactions } from '../checkpoint/compaction-intent.ts';
import { recoverMaterializations } from '../checkpoint/materialize-intent.ts';
import type { ChangeEvent, XaStep } from '../core/change-event.ts';
import type { Sink, SinkRecovery } from '../core/sink.ts';
import type { StateStore } from '../core/state-store.ts';
import { joinPath, type FileSystem } from '../filesystem/filesystem.ts';
import type { Route } from '../routing/router.ts';
import { metadataNamesOf, metadataNameSet } from '../catalog/metadata-names.ts';
import { executeCommits, type HiveCommits } from './hive-commits.ts';
import { HiveChangelogSink, STAGING_DIR, type HiveChangelogSinkOptions } from './hive-changelog-sink.ts';
import { HeldXaFiles } from './xa-held-files.ts';

export class HiveSink implements Sink<Route, HiveCommits> {
  readonly writer: HiveChangelogSink;

  /** `recorded`: the sink's part of the newest checkpoint record, whose held XA files it takes over. */
  constructor(private readonly options: Omit<HiveChangelogSinkOptions, 'preparedXa'>, recorded: HiveCommits | undefined) {
    this.writer = new HiveChangelogSink({ ...options, ...(recorded?.preparedXa ? { preparedXa: recorded.preparedXa } : {}) });
  }

  write(target: Route, event: ChangeEvent, checkpointId: number): Promise<void> {
    return this.writer.write(target, event, checkpointId);
  }

  async preCommit(): Promise<HiveCommits> {
    const commits = await this.writer.preCommit();
    const preparedXa = this.writer.preparedXa();
    return { commits, ...(preparedXa ? { preparedXa } : {}) };
  }

  async commit(pending: HiveCommits): Promise<void> {
    await this.writer.afterRecord();
    await executeCommits(pending.commits, this.options.fs, this.options.catalog);
  }

  abort(): Promise<void> {
    return this.writer.abort();
  }

  discard(target: Route, readAgainFrom: bigint): Promise<void> {
    return this.writer.discard(target, readAgainFrom);
  }

  onXa(step: XaStep, at: string): Promise<void> {
    return this.writer.onXa(step, at);
  }
}

/**
 * Redoes the newest record's commits, finishes a recorded compaction, then deletes every staging
 * file the record does not name. It names only the files of prepared XA transactions, held until
 * their XA COMMIT or XA ROLLBACK (see xa-held-files.ts).
 */
export class HiveRecovery implements SinkRecovery<HiveCommits> {
  constructor(
    private readonly fs: FileSystem,
    private readonly catalog: Catalog,
    /** Where compaction keeps its intent records (the checkpoints' state store; a directory means the local one). */
    private readonly stateDir: string | StateStore,
    private readonly logger: Logger,
    /**
     * Whose staging this recovery may delete: a staging file's name carries its writer's job id
     * (`<channel>.<jobId>.<checkpoint>-<n>`), and with several loaders writing one table each deletes
     * only the files of job ids this accepts. Absent: every file (one writer per table, as today).
     */
    private readonly ownsJob?: (jobId: string) => boolean,
  ) {}

  async recover(pending: HiveCommits | undefined): Promise<void> {
    const { fs, catalog, logger } = this;
    if (pending) await executeCommits(pending.commits, fs, catalog);
    // A recorded compaction is finished before staging goes: its merged files are staged there.
    await recoverCompactions(this.stateDir, fs, logger);
    // A recorded materialization is swapped in (its files are in their own directory, not in staging).
    await recoverMaterializations(this.stateDir, fs, catalog, logger);
    const held = HeldXaFiles.paths(pending?.preparedXa);
    let removed = 0;
    for (const table of await catalog.listTables()) {
      // Only sluice's own tables: another writer (FlinkX itself stages under .data/) keeps its staging.
      if (!isChangelogTable(table)) continue;
      const staging = joinPath(table.location, STAGING_DIR);
      if (!(await fs.status(staging))) continue;
      removed++;
      const { ownsJob } = this;
      const keep = (path: string): boolean => held.has(path) || (ownsJob !== undefined && !ownsJob(stagingJobId(path)));
      // Several writers: file by file, never the directory, since another loader may be creating its
      // staging in it at this very moment. One writer: the whole directory when it holds nothing to keep.
      if (ownsJob || [...held].some((path) => path.startsWith(`${staging}/`))) await deleteAllBut(fs, staging, keep);
      else await fs.delete(staging, true);
    }
    if (removed > 0) logger.info({ tables: removed }, 'deleted uncommitted staging files');
  }
}

/** The job id in a staging file's name (`<channel>.<jobId>.<checkpoint>-<n>[.ext]`). */
function stagingJobId(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1).split('.')[1] ?? '';
}

/** Deletes every file under `dir` that `keep` does not accept. */
async function deleteAllBut(fs: FileSystem, dir: string, keep: (path: string) => boolean): Promise<void> {
  for (const entry of await fs.list(dir)) {
    if (entry.type === 'directory') await deleteAllBut(fs, entry.path, keep);
    else if (!keep(entry.path)) await fs.delete(entry.path, false);
  }
}

function isChangelogTable(table: TableDefinition): boolean {
  const names = new Set(table.columns.map((column) => column.name));
  return [...metadataNameSet(metadataNamesOf(table))].every((name) => names.has(name));
}
