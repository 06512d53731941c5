// Recovery on start, as the design fixes it: read the newest record, carry out its commits again,
// then delete every staging file that the record does not name. It names only the files of prepared
// XA transactions, held until their XA COMMIT or XA ROLLBACK (see sinks/xa-held-files.ts).
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.ts';
import { joinPath, type FileSystem } from '../filesystem/filesystem.ts';
import { METADATA_COLUMNS } from '../sinks/changelog-layout.ts';
import { STAGING_DIR } from '../sinks/hive-changelog-sink.ts';
import { HeldXaFiles } from '../sinks/xa-held-files.ts';
import type { TableDefinition } from '../catalog/catalog.ts';
import type { CheckpointRecord } from './checkpoint-record.ts';
import type { CheckpointStore } from './checkpoint-store.ts';
import { executeCommits } from './commit-executor.ts';
import { recoverCompactions } from './compaction-intent.ts';

export async function recover(
  store: CheckpointStore,
  fs: FileSystem,
  catalog: Catalog,
  logger: Logger,
): Promise<CheckpointRecord | undefined> {
  const record = await store.latest();
  if (record) {
    await executeCommits(record.commits, fs, catalog);
    logger.info({ checkpoint: record.id, commits: record.commits.length }, 'recovered: commits of the newest checkpoint are in place');
  }
  // A recorded compaction is finished before staging goes: its merged files are staged there.
  await recoverCompactions(store.dir, fs, logger);
  // Checkpoints are taken one after the other, and a record is written only after the previous
  // record's commits are done: so after the newest record's commits, all staging is uncommitted work,
  // but for the held files of prepared XA transactions.
  const held = HeldXaFiles.paths(record?.preparedXa);
  let removed = 0;
  for (const table of await catalog.listTables()) {
    // Only sluice's own tables: another writer (FlinkX itself stages under .data/) keeps its staging.
    if (!isChangelogTable(table)) continue;
    const staging = joinPath(table.location, STAGING_DIR);
    if (!(await fs.status(staging))) continue;
    removed++;
    if (![...held].some((path) => path.startsWith(`${staging}/`))) await fs.delete(staging, true);
    else await deleteAllBut(fs, staging, held);
  }
  if (removed > 0) logger.info({ tables: removed }, 'deleted uncommitted staging files');
  return record;
}

/** Deletes every file under `dir` that `keep` does not name. */
async function deleteAllBut(fs: FileSystem, dir: string, keep: ReadonlySet<string>): Promise<void> {
  for (const entry of await fs.list(dir)) {
    if (entry.type === 'directory') await deleteAllBut(fs, entry.path, keep);
    else if (!keep.has(entry.path)) await fs.delete(entry.path, false);
  }
}

function isChangelogTable(table: TableDefinition): boolean {
  const names = new Set(table.columns.map((column) => column.name));
  return METADATA_COLUMNS.every((column) => names.has(column.name));
}
