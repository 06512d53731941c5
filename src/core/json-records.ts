// Small JSON records in a state store (a local or an HDFS directory), one file each, written atomically: the checkpoint
// records, a batch job's state, the compaction intents. A record is replaced by rename, never in
// place, so one that cannot be read was damaged outside sluice; guessing past it could lose or
// duplicate data, so reading it stops with SLUICE_CHECKPOINT_CORRUPT naming the file.
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from './atomic-file.ts';
import { SluiceError } from './errors.ts';
import type { StateStore } from './state-store.ts';

/** The names in `dir`, none when it does not exist yet (a first start). */
export async function listDirectory(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Writes `value` as one line of JSON to `file` atomically, creating its directory. */
export async function writeJsonRecord(file: string, value: unknown): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFileAtomic(file, JSON.stringify(value) + '\n');
}

/** Parses `file`; `what` names the kind of record in the error ("checkpoint record"). */
export async function readJsonRecord<T>(file: string, what: string): Promise<T> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (error) {
    throw new SluiceError('SLUICE_CHECKPOINT_CORRUPT', `${what} ${file} cannot be read: ${(error as Error).message}`, {
      cause: error,
      context: { file },
    });
  }
}

/** The path of `name` in `store`, for messages. */
export function storedPath(store: StateStore, name: string): string {
  return `${store.dir.replace(/\/+$/, '')}/${name}`;
}

/** Writes `value` as one line of JSON to `name` in `store`, atomically. */
export async function writeStoredRecord(store: StateStore, name: string, value: unknown): Promise<void> {
  await store.write(name, JSON.stringify(value) + '\n');
}

/** Parses `name` in `store`; `what` names the kind of record in the error ("checkpoint record"). */
export async function readStoredRecord<T>(store: StateStore, name: string, what: string): Promise<T> {
  const file = storedPath(store, name);
  try {
    const content = await store.read(name);
    if (content === undefined) throw new Error('it does not exist');
    return JSON.parse(content.toString('utf8')) as T;
  } catch (error) {
    if (error instanceof SluiceError && error.code !== 'SLUICE_CHECKPOINT_CORRUPT') throw error; // HDFS unreachable, say: not damage
    throw new SluiceError('SLUICE_CHECKPOINT_CORRUPT', `${what} ${file} cannot be read: ${(error as Error).message}`, {
      cause: error,
      context: { file },
    });
  }
}
