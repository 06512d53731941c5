// Keeps checkpoint records in a local directory, one file per record, each written atomically.
// The newest record that exists is the state; older ones are kept (a few) for a person to inspect.
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SluiceError } from '../core/errors.ts';
import { writeFileAtomic } from '../core/atomic-file.ts';
import { upgradeRecord, type CheckpointRecord, type StoredRecord } from './checkpoint-record.ts';

const RECORD_FILE = /^checkpoint-(\d{12})\.json$/;

export class CheckpointStore {
  constructor(readonly dir: string) {}

  private fileOf(id: number): string {
    return join(this.dir, `checkpoint-${String(id).padStart(12, '0')}.json`);
  }

  private async recordIds(): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names
      .map((name) => RECORD_FILE.exec(name)?.[1])
      .filter((id): id is string => id !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  /** The newest record, or undefined on a first start. */
  async latest(): Promise<CheckpointRecord | undefined> {
    const ids = await this.recordIds();
    const newest = ids.at(-1);
    if (newest === undefined) return undefined;
    return this.read(newest);
  }

  async read(id: number): Promise<CheckpointRecord> {
    const file = this.fileOf(id);
    let record: StoredRecord;
    try {
      record = JSON.parse(await readFile(file, 'utf8')) as StoredRecord;
    } catch (error) {
      // Records are written by rename, so a torn one means something outside sluice damaged it.
      // Guessing a position here could lose or duplicate data: stop and say which file.
      throw new SluiceError('SLUICE_CHECKPOINT_CORRUPT', `checkpoint record ${file} cannot be read: ${(error as Error).message}`, {
        cause: error,
        context: { file },
      });
    }
    if (!isRecord(record) || record.id !== id) {
      throw new SluiceError('SLUICE_CHECKPOINT_CORRUPT', `checkpoint record ${file} is not a sluice checkpoint of format 1 or 2`, {
        context: { file },
      });
    }
    return upgradeRecord(record);
  }

  /** Writes a record; the daemon writes the current format (tests also plant records of format 1). */
  async write(record: StoredRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(this.fileOf(record.id), JSON.stringify(record) + '\n');
  }

  /** Deletes all but the newest `keep` records. */
  async prune(keep: number): Promise<void> {
    const ids = await this.recordIds();
    for (const id of ids.slice(0, Math.max(0, ids.length - keep))) {
      await unlink(this.fileOf(id)).catch(() => undefined);
    }
  }
}

function isRecord(record: StoredRecord | null | undefined): boolean {
  if (typeof record !== 'object' || record === null) return false;
  if (record.format === 1) return typeof record.source?.kind === 'string' && Array.isArray(record.commits);
  return record.format === 2 && typeof record.sources === 'object' && record.sources !== null && typeof record.sinks === 'object' && record.sinks !== null;
}
