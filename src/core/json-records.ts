// Small JSON records in a local directory, one file each, written atomically: the checkpoint
// records, a batch job's state, the compaction intents. A record is replaced by rename, never in
// place, so one that cannot be read was damaged outside sluice; guessing past it could lose or
// duplicate data, so reading it stops with SLUICE_CHECKPOINT_CORRUPT naming the file.
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from './atomic-file.ts';
import { SluiceError } from './errors.ts';

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
