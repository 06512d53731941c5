// The staging files of prepared XA transactions, held by xid until XA COMMIT or XA ROLLBACK, which
// may come checkpoints (and restarts) later. Each checkpoint records what is held (the record's
// `preparedXa`), so that recovery keeps those files and a restarted sink knows them. An outcome takes
// effect at the next checkpoint, as every change does: a commit's files join its pending commits; a
// rollback's files leave its record and are deleted once the record is written.
import type { HeldFile, PendingCommit } from './hive-commits.ts';
import type { FileSystem } from '../filesystem/filesystem.ts';

export class HeldXaFiles {
  private readonly held: Map<string, HeldFile[]>;
  /** Pending commits of transactions committed since the last checkpoint. */
  private released: PendingCommit[] = [];
  /** Files of transactions rolled back since the last checkpoint: deleted once a record leaves them out. */
  private dropped: string[] = [];
  /** Those of them the record being written leaves out. */
  private droppable: string[] = [];

  constructor(recorded: Record<string, HeldFile[]> | undefined) {
    this.held = new Map(Object.entries(recorded ?? {}).map(([xid, files]) => [xid, [...files]]));
  }

  get size(): number {
    return this.held.size;
  }

  /**
   * The transaction's rows are all read. A transaction already held (read again while a stopped table
   * catches up, which writes only that table's rows) gains the new files.
   */
  prepare(xid: string, files: HeldFile[]): void {
    this.held.set(xid, [...(this.held.get(xid) ?? []), ...files]);
  }

  /** False when the xid is not held: prepared before the stream's start, or already decided. */
  commit(xid: string): boolean {
    const files = this.held.get(xid);
    if (!files) return false;
    this.held.delete(xid);
    const partitions = new Map<string, PendingCommit>();
    for (const file of files) {
      this.released.push({ kind: 'rename', from: file.from, to: file.to });
      partitions.set(file.location, { kind: 'partition', database: file.database, table: file.table, values: file.values, location: file.location });
    }
    this.released.push(...partitions.values());
    return true;
  }

  rollback(xid: string): boolean {
    const files = this.held.get(xid);
    if (!files) return false;
    this.held.delete(xid);
    this.dropped.push(...files.map((file) => file.from));
    return true;
  }

  /** At pre-commit: the commits that released transactions add to the checkpoint. */
  takeReleased(): PendingCommit[] {
    const released = this.released;
    this.released = [];
    this.droppable.push(...this.dropped);
    this.dropped = [];
    return released;
  }

  /** What the checkpoint being taken records as held; undefined when nothing is. */
  recorded(): Record<string, HeldFile[]> | undefined {
    return this.held.size > 0 ? Object.fromEntries(this.held) : undefined;
  }

  /** Once the record is written: the files of rolled-back transactions are no one's any more. */
  async deleteDropped(fs: FileSystem): Promise<void> {
    const paths = this.droppable;
    this.droppable = [];
    // Not needed for correctness (the next start deletes unnamed staging), but an XA transaction may be large.
    for (const path of paths) await fs.delete(path, false).catch(() => undefined);
  }

  /**
   * A stopped table gives up the held files whose rows it will read again, from `fromSequence` on (the
   * transaction was prepared after its last checkpoint); it keeps the files of transactions prepared
   * before, which no read of the binlog from its point would bring back. Returns the dropped paths,
   * which no record names.
   */
  discard(database: string, table: string, fromSequence: bigint): string[] {
    const paths: string[] = [];
    for (const [xid, files] of this.held) {
      const kept = files.filter((file) => {
        const drop = sameName(file.database, database) && sameName(file.table, table) && BigInt(file.firstSequence) >= fromSequence;
        if (drop) paths.push(file.from);
        return !drop;
      });
      this.held.set(xid, kept);
    }
    return paths;
  }

  /** Every held staging path (recovery keeps these). */
  static paths(recorded: Record<string, HeldFile[]> | undefined): Set<string> {
    return new Set(Object.values(recorded ?? {}).flatMap((files) => files.map((file) => file.from)));
  }
}

// The catalog's names of a table, and the route's, differ at most in case (Hive folds to lower case).
function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
