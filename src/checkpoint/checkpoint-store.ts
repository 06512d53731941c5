// Keeps checkpoint records in the state store (a local directory, or one on HDFS), one file per
// record, each written atomically. The newest record that exists is the state; older ones are kept (a
// few) for a person to inspect.
import { SluiceError } from '../core/errors.ts';
import { readStoredRecord, storedPath, writeStoredRecord } from '../core/json-records.ts';
import type { StateStore } from '../core/state-store.ts';
import { stateStoreOf } from '../runtime/local-state-store.ts';
import { upgradeRecord, type CheckpointRecord, type StoredRecord } from './checkpoint-record.ts';

const RECORD_FILE = /^checkpoint-(\d{12})\.json$/;

export class CheckpointStore {
  readonly state: StateStore;

  /** A directory means the local store on it. */
  constructor(state: string | StateStore) {
    this.state = stateStoreOf(state);
  }

  /** The state directory (local, or on HDFS). */
  get dir(): string {
    return this.state.dir;
  }

  private nameOf(id: number): string {
    return `checkpoint-${String(id).padStart(12, '0')}.json`;
  }

  private async recordIds(): Promise<number[]> {
    return (await this.state.list())
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
    const file = storedPath(this.state, this.nameOf(id));
    const record = await readStoredRecord<StoredRecord>(this.state, this.nameOf(id), 'checkpoint record');
    if (!isRecord(record) || record.id !== id) {
      throw new SluiceError('SLUICE_CHECKPOINT_CORRUPT', `checkpoint record ${file} is not a sluice checkpoint of format 1 or 2`, {
        context: { file },
      });
    }
    return upgradeRecord(record);
  }

  /** Writes a record; the daemon writes the current format (tests also plant records of format 1). */
  async write(record: StoredRecord): Promise<void> {
    await writeStoredRecord(this.state, this.nameOf(record.id), record);
  }

  /** Deletes all but the newest `keep` records. */
  async prune(keep: number): Promise<void> {
    const ids = await this.recordIds();
    for (const id of ids.slice(0, Math.max(0, ids.length - keep))) {
      await this.state.remove(this.nameOf(id)).catch(() => undefined);
    }
  }
}

function isRecord(record: StoredRecord | null | undefined): boolean {
  if (typeof record !== 'object' || record === null) return false;
  if (record.format === 1) return typeof record.source?.kind === 'string' && Array.isArray(record.commits);
  return record.format === 2 && typeof record.sources === 'object' && record.sources !== null && typeof record.sinks === 'object' && record.sinks !== null;
}
