// The default state store: a local directory (checkpoint.dir), each file replaced by temp file, fsync,
// rename and fsync of the directory (core/atomic-file.ts), the lock a pid file (state-lock.ts). This
// is the behaviour sluice has always had; the HDFS store (hdfs-state-store.ts) keeps the same contract.
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.ts';
import { listDirectory } from '../core/json-records.ts';
import { probeWritable } from '../core/local-disk.ts';
import type { LockHolder, StateLock, StateStore } from '../core/state-store.ts';
import { acquireStateLock, lockHolder } from './state-lock.ts';

export class LocalStateStore implements StateStore {
  readonly description: string;

  constructor(
    readonly dir: string,
    readonly configKey = 'checkpoint.dir',
  ) {
    this.description = dir;
  }

  async list(): Promise<string[]> {
    return (await listDirectory(this.dir)).filter((name) => !name.startsWith('.'));
  }

  async read(name: string): Promise<Buffer | undefined> {
    try {
      return await readFile(join(this.dir, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async write(name: string, content: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(join(this.dir, name), content);
  }

  async remove(name: string): Promise<void> {
    await unlink(join(this.dir, name)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }

  child(name: string): StateStore {
    return new LocalStateStore(join(this.dir, name), this.configKey);
  }

  elsewhere(dir: string): StateStore {
    return new LocalStateStore(dir, this.configKey);
  }

  lock(): Promise<StateLock> {
    return acquireStateLock(this.dir);
  }

  lockHolder(): Promise<LockHolder | undefined> {
    return lockHolder(this.dir);
  }

  probe(): Promise<void> {
    return probeWritable([{ configKey: this.configKey, dir: this.dir }]);
  }
}

/** Callers that were given a directory (tests, older call sites) get the local store on it. */
export function stateStoreOf(state: string | StateStore): StateStore {
  return typeof state === 'string' ? new LocalStateStore(state) : state;
}
