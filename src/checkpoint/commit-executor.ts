// Carries out a checkpoint's pending commits. Every step is idempotent, because recovery runs the
// newest record's commits again without knowing how far the crashed run got.
import type { Catalog } from '../catalog/catalog.ts';
import { SluiceError } from '../errors.ts';
import type { FileSystem } from '../filesystem/filesystem.ts';
import type { PendingCommit } from './checkpoint-record.ts';

export async function executeCommits(commits: readonly PendingCommit[], fs: FileSystem, catalog: Catalog): Promise<void> {
  // Files first, then partitions: a partition that Hive lists must already hold its files.
  for (const commit of commits) {
    if (commit.kind === 'rename') await commitRename(commit.from, commit.to, fs);
  }
  for (const commit of commits) {
    if (commit.kind === 'partition') {
      await catalog.addPartition(commit.database, commit.table, { values: commit.values, location: commit.location });
    }
  }
}

async function commitRename(from: string, to: string, fs: FileSystem): Promise<void> {
  const source = await fs.status(from);
  if (source) {
    await fs.rename(from, to);
    return;
  }
  if (await fs.status(to)) return; // done by the run that crashed
  throw new SluiceError(
    'SLUICE_COMMIT_LOST',
    `a recorded commit cannot be carried out: neither the staging file ${from} nor its target ${to} exists on ${fs.description}. ` +
      'Something outside sluice deleted it; the rows in that file are missing from the table.',
    { context: { file: from } },
  );
}
