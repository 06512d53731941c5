// The Hive sink's pending commits, as its part of a checkpoint record holds them, and how they are
// carried out. Every step is idempotent, because recovery runs the newest record's commits again
// without knowing how far the crashed run got.
import type { Catalog } from '../catalog/catalog.ts';
import { SluiceError } from '../core/errors.ts';
import type { FileSystem } from '../filesystem/filesystem.ts';

export type PendingCommit =
  /** Move a closed staging file into its final, visible place. */
  | { kind: 'rename'; from: string; to: string }
  /** Register a partition with the catalog (ALTER TABLE ... ADD IF NOT EXISTS PARTITION). */
  | { kind: 'partition'; database: string; table: string; values: Record<string, string>; location: string };

/** A closed staging file of a prepared XA transaction, and what committing it takes. */
export interface HeldFile {
  from: string;
  to: string;
  database: string;
  table: string;
  /** The partition the file goes into, registered when it is committed. */
  values: Record<string, string>;
  location: string;
  /** `_seq` of its first row: a stopped table that reads its changes again from a later number drops the file. */
  firstSequence: string;
}

/** The Hive sink's part of a checkpoint record (`sinks.hive`). */
export interface HiveCommits {
  commits: PendingCommit[];
  /**
   * XA transactions prepared before the record's position and not yet committed or rolled back, by
   * xid, with the staging files that hold their rows (possibly none). Recovery keeps those files;
   * XA COMMIT turns them into pending commits, XA ROLLBACK drops them. Absent: none.
   */
  preparedXa?: Record<string, HeldFile[]>;
}

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
    try {
      await fs.rename(from, to);
      return;
    } catch (error) {
      // Several Kafka loaders: a partition's next owner carries out its old owner's record while the
      // old owner may still be doing the same; whoever renames second finds it done.
      if ((await fs.status(from)) || !(await fs.status(to))) throw error;
      return;
    }
  }
  if (await fs.status(to)) return; // done by the run that crashed
  throw new SluiceError(
    'SLUICE_COMMIT_LOST',
    `a recorded commit cannot be carried out: neither the staging file ${from} nor its target ${to} exists on ${fs.description}. ` +
      'Something outside sluice deleted it; the rows in that file are missing from the table.',
    { context: { file: from } },
  );
}
