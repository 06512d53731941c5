// On-demand snapshots (`sluice snapshot db.table`): a request is a small file in the daemon's state
// store, `snapshot-requests/<id>.json` under checkpoint.dir (or checkpoint.hdfs.dir), written atomically by the command and
// picked up by the running daemon (or by the next start). Ids sort by the time they were made, so a
// table's record can say which request its read answers (TableSnapshot.request): a file is removed
// once a checkpoint record shows its table read again for it or for a later one.
import { randomBytes } from 'node:crypto';
import type { StateStore } from '../../core/state-store.ts';

export const REQUESTS_DIR = 'snapshot-requests';

export interface SnapshotRequest {
  id: string;
  /** Source 'db.table'. */
  table: string;
  requestedAt: string;
}

export function newRequestId(now = Date.now()): string {
  return `${now.toString(36).padStart(9, '0')}-${randomBytes(3).toString('hex')}`;
}

/** Where the requests are: a directory of the daemon's state store. */
export function requestStore(state: StateStore): StateStore {
  return state.child(REQUESTS_DIR);
}

export async function writeSnapshotRequest(state: StateStore, table: string): Promise<SnapshotRequest> {
  const request: SnapshotRequest = { id: newRequestId(), table, requestedAt: new Date().toISOString() };
  await requestStore(state).write(`${request.id}.json`, JSON.stringify(request) + '\n');
  return request;
}

/** The requests waiting, oldest first; a file that is not (yet) a whole request is left for later. */
export async function readSnapshotRequests(state: StateStore): Promise<SnapshotRequest[]> {
  const store = requestStore(state);
  const requests: SnapshotRequest[] = [];
  for (const name of (await store.list()).filter((entry) => entry.endsWith('.json')).sort()) {
    try {
      const content = await store.read(name);
      if (content === undefined) continue;
      const parsed = JSON.parse(content.toString('utf8')) as Partial<SnapshotRequest>;
      if (typeof parsed.id === 'string' && typeof parsed.table === 'string' && `${parsed.id}.json` === name) requests.push(parsed as SnapshotRequest);
    } catch {
      // Not a request: not ours to judge.
    }
  }
  return requests;
}

export async function removeSnapshotRequest(state: StateStore, id: string): Promise<void> {
  await requestStore(state).remove(`${id}.json`);
}

/** Whether a table's recorded read answers the request (it was started for it, or for a later one). */
export function answers(recordedRequest: string | undefined, id: string): boolean {
  return recordedRequest !== undefined && recordedRequest >= id;
}
