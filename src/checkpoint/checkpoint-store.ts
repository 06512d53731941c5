// Keeps checkpoint records in a local directory, one file per record, each written atomically.
// The newest record that exists is the state; older ones are kept (a few) for a person to inspect.
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SluiceError } from '../core/errors.ts';
import { listDirectory, readJsonRecord, writeJsonRecord } from '../core/json-records.ts';
import { upgradeRecord, type CheckpointRecord, type StoredRecord } from './checkpoint-record.ts';

const RECORD_FILE = /^checkpoint-(\d{12})\.json$/;

export class CheckpointStore {
  constructor(readonly dir: string) {}

  private fileOf(id: number): string {
    return join(this.dir, `checkpoint-${String(id).padStart(12, '0')}.json`);
  }

  private async recordIds(): Promise<number[]> {
    return (await listDirectory(this.dir))
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
    const record = await readJsonRecord<StoredRecord>(file, 'checkpoint record');
    if (!isRecord(record) || record.id !== id) {
      throw new SluiceError('SLUICE_CHECKPOINT_CORRUPT', `checkpoint record ${file} is not a sluice checkpoint of format 1 or 2`, {
        context: { file },
      });
    }
    return upgradeRecord(record);
  }

  /** Writes a record; the daemon writes the current format (tests also plant records of format 1). */
  async write(record: StoredRecord): Promise<void> {
    await writeJsonRecord(this.fileOf(record.id), record);
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
