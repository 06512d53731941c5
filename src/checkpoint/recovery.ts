// Recovery on start, as the design fixes it: read the newest record, carry out its commits again,
// then delete every staging file, since no record names any of them any more.
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.ts';
import { joinPath, type FileSystem } from '../filesystem/filesystem.ts';
import { METADATA_COLUMNS } from '../sinks/changelog-layout.ts';
import { STAGING_DIR } from '../sinks/hive-changelog-sink.ts';
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
  // record's commits are done: so after the newest record's commits, all staging is uncommitted work.
  let removed = 0;
  for (const table of await catalog.listTables()) {
    // Only sluice's own tables: another writer (FlinkX itself stages under .data/) keeps its staging.
    if (!isChangelogTable(table)) continue;
    const staging = joinPath(table.location, STAGING_DIR);
    if (await fs.status(staging)) {
      await fs.delete(staging, true);
      removed++;
    }
  }
  if (removed > 0) logger.info({ tables: removed }, 'deleted uncommitted staging files');
  return record;
}

function isChangelogTable(table: TableDefinition): boolean {
  const names = new Set(table.columns.map((column) => column.name));
  return METADATA_COLUMNS.every((column) => names.has(column.name));
}
