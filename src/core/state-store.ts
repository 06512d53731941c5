// Where the daemon keeps its state: checkpoint records, the schema history, compaction intents, a batch
// copy's records and the lock that makes one process the owner. A flat directory of small named
// files, each replaced whole and atomically (a hidden temp file, made durable, renamed into place), so
// a reader sees the old content or the new, never a torn one. Two implementations: a local directory
// (the default, runtime/local-state-store.ts) and an HDFS directory (runtime/hdfs-state-store.ts), so
// that losing the host does not lose the position that makes the warehouse exactly-once.
import type { SluiceError } from './errors.ts';

export interface StateStore {
  /** For logs and errors: '/var/lib/sluice/state' or 'hdfs:/sluice/state on webhdfs://nn1:9870'. */
  readonly description: string;
  /** The config key that names the directory, for errors: 'checkpoint.dir' or 'checkpoint.hdfs.dir'. */
  readonly configKey: string;
  /** The directory's path (local, or on HDFS). */
  readonly dir: string;
  /** ha.zookeeper: the epoch of the leader writing through this store (docs/ha.md); absent without a standby. */
  readonly epoch?: number;
  /** The names of the files in the directory, none when it does not exist yet; hidden names (temp files) left out. */
  list(): Promise<string[]>;
  /** A file's content, undefined when it does not exist. */
  read(name: string): Promise<Buffer | undefined>;
  /** Replaces (or creates) `name` atomically, creating the directory. */
  write(name: string, content: string): Promise<void>;
  /** Deletes `name`; nothing to delete is fine. */
  remove(name: string): Promise<void>;
  /** The same kind of store on a subdirectory (a batch job's state under checkpoint.dir/<job name>). */
  child(name: string): StateStore;
  /** The same kind of store on another directory: another Kafka loader's, which a partition's next owner reads (docs/kafka.md). */
  elsewhere(dir: string): StateStore;
  /** Takes the lock that makes this process the only writer; refuses (SLUICE_STATE_LOCKED) while a live process holds it. */
  lock(): Promise<StateLock>;
  /** The live holder of the lock, undefined when it is free or stale. */
  lockHolder(): Promise<LockHolder | undefined>;
  /** Writes, reads back and deletes a probe file, so that a start or `sluice check` fails at once on a store it cannot write. */
  probe(): Promise<void>;
  /** Releases connections; the store is not used afterwards. */
  close?(): void;
}

export interface StateLock {
  /** Where the lock is: a path, local or on HDFS. */
  file: string;
  /**
   * Resolves when the lock turns out to be someone else's (HDFS: this process stopped refreshing it
   * past the lease and another took over); the owner must stop writing at once. Never for a local lock.
   */
  lost?: Promise<SluiceError>;
  release(): Promise<void>;
}

export interface LockHolder {
  pid: number;
  /** Set when the holder runs on another host or in another container. */
  host: string | undefined;
  file: string;
}
