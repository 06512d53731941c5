// Keeps a batch job's checkpoint records in a local directory, one file per record, each written
// atomically (temp file, fsync, rename, fsync of the directory); the newest is the state.
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { listDirectory, readJsonRecord, writeJsonRecord } from '../core/json-records.ts';
import { upgradeSyncState, type SyncState } from './sync-state.ts';

const RECORD_FILE = /^sync-([0-9a-z]+)-(\d{12})\.json$/;
const KEEP = 3;

export class SyncStateStore {
  constructor(readonly dir: string) {}

  private async records(): Promise<string[]> {
    // Run ids are base-36 times of equal length for centuries, so name order is time order.
    return (await listDirectory(this.dir)).filter((name) => RECORD_FILE.test(name)).sort();
  }

  async latest(): Promise<SyncState | undefined> {
    const newest = (await this.records()).at(-1);
    if (newest === undefined) return undefined;
    const file = join(this.dir, newest);
    return upgradeSyncState(await readJsonRecord<unknown>(file, 'sync checkpoint record'), file);
  }

  async write(state: SyncState): Promise<void> {
    await writeJsonRecord(join(this.dir, `sync-${state.runId}-${String(state.checkpointId).padStart(12, '0')}.json`), state);
    const names = await this.records();
    for (const name of names.slice(0, Math.max(0, names.length - KEEP))) await unlink(join(this.dir, name)).catch(() => undefined);
  }
}
