// The state store on HDFS (checkpoint.store: hdfs): the same files as the local store, in an HDFS
// directory, so that a daemon on a new host (the old one lost with its disk) resumes from the last
// checkpoint record. The atomic rule is the local one, step for step:
//
//   1. the content goes to a hidden file beside the target (`.<name>.<pid>.<random>.tmp`; the
//      upload itself lands under a hidden name, is length-checked and renamed, see
//      webhdfs-filesystem.ts), and is durable once the DataNode pipeline has acknowledged the close;
//   2. its length is checked against what was sent;
//   3. it is renamed over the target in one NameNode operation (RENAME, renameoptions=OVERWRITE), so
//      a reader, or a daemon recovering after a crash, sees the old file or the new one, never a torn
//      one.
//
// Hidden files are never read; those a crash left (between steps 1 and 3) are deleted by the next
// lock holder, which is the only writer. Before step 3 `beforeRename` checks the leader's epoch in
// ZooKeeper (ha.zookeeper), so a paused old leader does not replace a record (docs/ha.md).
import { randomUUID } from 'node:crypto';
import { SluiceError, isSluiceError } from '../core/errors.ts';
import type { LockHolder, StateLock, StateStore } from '../core/state-store.ts';
import { joinPath } from '../filesystem/filesystem.ts';
import type { WebHdfsFileSystem } from '../filesystem/webhdfs-filesystem.ts';
import { remoteExceptionOf } from '../filesystem/webhdfs-errors.ts';
import { acquireHdfsStateLock, DEFAULT_LOCK_TIMING, hdfsLockHolder, type HdfsLockPlace, type HdfsLockTiming } from './hdfs-state-lock.ts';

export interface HdfsStateStoreOptions {
  fs: WebHdfsFileSystem;
  /** An absolute HDFS path (checkpoint.hdfs.dir). */
  dir: string;
  configKey?: string;
  lockTiming?: HdfsLockTiming;
  /** Runs before every rename into place: the epoch check of the ZooKeeper leader (runtime/zookeeper-leadership.ts). */
  beforeRename?: () => Promise<void>;
  /** The leader's epoch (ha.zookeeper), stamped on the records that must not lose to a late write of an older epoch. */
  epoch?: number;
  /** ZooKeeper elected this daemon: a lock held by another (live, paused) process is taken over, not waited for. */
  takeOverLock?: boolean;
}

const LEFTOVER = /^\..*\.(tmp|upload)$/;

export class HdfsStateStore implements StateStore {
  readonly description: string;
  readonly configKey: string;
  readonly dir: string;
  readonly epoch?: number;
  private readonly fs: WebHdfsFileSystem;

  constructor(private readonly options: HdfsStateStoreOptions) {
    this.fs = options.fs;
    this.dir = options.dir.replace(/\/+$/, '') || '/';
    this.configKey = options.configKey ?? 'checkpoint.hdfs.dir';
    if (options.epoch !== undefined) this.epoch = options.epoch;
    this.description = `hdfs:${this.dir} on ${this.fs.description}`;
  }

  private pathOf(name: string): string {
    return joinPath(this.dir, name);
  }

  async list(): Promise<string[]> {
    return (await this.fs.list(this.dir))
      .filter((entry) => entry.type === 'file')
      .map((entry) => entry.path.slice(entry.path.lastIndexOf('/') + 1))
      .filter((name) => !name.startsWith('.'));
  }

  async read(name: string): Promise<Buffer | undefined> {
    try {
      return await this.fs.readFile(this.pathOf(name));
    } catch (error) {
      if (remoteExceptionOf(error) === 'FileNotFoundException') return undefined;
      throw error;
    }
  }

  async write(name: string, content: string): Promise<void> {
    const target = this.pathOf(name);
    const temp = this.pathOf(`.${name}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
    const bytes = Buffer.byteLength(content);
    try {
      const writer = await this.fs.create(temp);
      try {
        await writer.write(content);
      } catch (error) {
        await writer.abort();
        throw error;
      }
      await writer.close();
      const landed = await this.fs.status(temp);
      if (landed?.length !== bytes) {
        throw new SluiceError('SLUICE_FILESYSTEM', `${temp} on ${this.fs.description} holds ${landed?.length ?? 'no'} bytes after it was written, ${bytes} were sent`, {
          retriable: true,
          context: { file: temp, configKey: this.configKey },
        });
      }
      await this.options.beforeRename?.();
      await this.fs.replace(temp, target);
    } catch (error) {
      await this.fs.delete(temp, false).catch(() => undefined);
      throw error;
    }
  }

  async remove(name: string): Promise<void> {
    await this.fs.delete(this.pathOf(name), false);
  }

  child(name: string): StateStore {
    return new HdfsStateStore({ ...this.options, dir: this.pathOf(name) });
  }

  elsewhere(dir: string): StateStore {
    return new HdfsStateStore({ ...this.options, dir });
  }

  async lock(): Promise<StateLock> {
    const lock = await acquireHdfsStateLock(this.lockPlace());
    try {
      await this.deleteLeftovers();
    } catch (error) {
      await lock.release();
      throw error;
    }
    return lock;
  }

  lockHolder(): Promise<LockHolder | undefined> {
    return hdfsLockHolder(this.lockPlace());
  }

  async probe(): Promise<void> {
    const name = `sluice-probe.${process.pid}.${randomUUID().slice(0, 8)}`;
    const text = 'sluice checks that it can write here\n';
    try {
      await this.write(name, text);
      const back = await this.read(name);
      if (back?.toString('utf8') !== text) throw new Error(`the probe file ${this.pathOf(name)} read back ${back ? `${back.length} other bytes` : 'as missing'}`);
      await this.remove(name);
    } catch (error) {
      await this.fs.delete(this.pathOf(name), false).catch(() => undefined);
      throw new SluiceError(
        'SLUICE_FILESYSTEM',
        `cannot write a probe file in the state directory ${this.dir} (${this.configKey}) on ${this.fs.description}: ${(error as Error).message}. ` +
          'Fix: create the directory, or let the configured HDFS user write in it (hdfs dfs -chown / -chmod), or point the key at one it may write.',
        { cause: error, retriable: isSluiceError(error) && error.retriable, context: { file: this.dir, configKey: this.configKey } },
      );
    }
  }

  close(): void {
    this.fs.close();
  }

  /** Hidden files a crash left between writing and renaming: never read, deleted by the next holder. */
  async deleteLeftovers(): Promise<number> {
    let deleted = 0;
    for (const entry of await this.fs.list(this.dir)) {
      const name = entry.path.slice(entry.path.lastIndexOf('/') + 1);
      if (entry.type !== 'file' || !LEFTOVER.test(name)) continue;
      await this.fs.delete(entry.path, false);
      deleted++;
    }
    return deleted;
  }

  private lockPlace(): HdfsLockPlace {
    return {
      fs: this.fs,
      dir: this.dir,
      configKey: this.configKey,
      timing: this.options.lockTiming ?? DEFAULT_LOCK_TIMING,
      takeOver: this.options.takeOverLock ?? false,
      write: (name, content) => this.write(name, content),
    };
  }
}
