// Keeps a batch job's checkpoint records in the state store (a local directory, or one on HDFS), one
// file per record, each written atomically (temp file, made durable, renamed); the newest is the state.
import { readStoredRecord, storedPath, writeStoredRecord } from '../core/json-records.ts';
import type { StateStore } from '../core/state-store.ts';
import { stateStoreOf } from '../runtime/local-state-store.ts';
import { upgradeSyncState, type SyncState } from './sync-state.ts';

const RECORD_FILE = /^sync-([0-9a-z]+)-(\d{12})\.json$/;
const KEEP = 3;

export class SyncStateStore {
  readonly state: StateStore;

  /** A directory means the local store on it. */
  constructor(state: string | StateStore) {
    this.state = stateStoreOf(state);
  }

  get dir(): string {
    return this.state.dir;
  }

  private async records(): Promise<string[]> {
    // Run ids are base-36 times of equal length for centuries, so name order is time order.
    return (await this.state.list()).filter((name) => RECORD_FILE.test(name)).sort();
  }

  async latest(): Promise<SyncState | undefined> {
    const newest = (await this.records()).at(-1);
    if (newest === undefined) return undefined;
    return upgradeSyncState(await readStoredRecord<unknown>(this.state, newest, 'sync checkpoint record'), storedPath(this.state, newest));
  }

  async write(state: SyncState): Promise<void> {
    await writeStoredRecord(this.state, `sync-${state.runId}-${String(state.checkpointId).padStart(12, '0')}.json`, state);
    const names = await this.records();
    for (const name of names.slice(0, Math.max(0, names.length - KEEP))) await this.state.remove(name).catch(() => undefined);
  }
}
