// On-demand snapshots (`sluice snapshot db.table`): a request is a small file in the daemon's state
// directory, `<checkpoint.dir>/snapshot-requests/<id>.json`, written atomically by the command and
// picked up by the running daemon (or by the next start). Ids sort by the time they were made, so a
// table's record can say which request its read answers (TableSnapshot.request): a file is removed
// once a checkpoint record shows its table read again for it or for a later one.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../core/atomic-file.ts';

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

export async function writeSnapshotRequest(stateDir: string, table: string): Promise<SnapshotRequest> {
  const request: SnapshotRequest = { id: newRequestId(), table, requestedAt: new Date().toISOString() };
  await mkdir(join(stateDir, REQUESTS_DIR), { recursive: true });
  await writeFileAtomic(join(stateDir, REQUESTS_DIR, `${request.id}.json`), JSON.stringify(request) + '\n');
  return request;
}

/** The requests waiting, oldest first; a file that is not (yet) a whole request is left for later. */
export async function readSnapshotRequests(stateDir: string): Promise<SnapshotRequest[]> {
  const dir = join(stateDir, REQUESTS_DIR);
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  const requests: SnapshotRequest[] = [];
  for (const name of names.filter((entry) => entry.endsWith('.json')).sort()) {
    try {
      const parsed = JSON.parse(await readFile(join(dir, name), 'utf8')) as Partial<SnapshotRequest>;
      if (typeof parsed.id === 'string' && typeof parsed.table === 'string' && `${parsed.id}.json` === name) requests.push(parsed as SnapshotRequest);
    } catch {
      // Gone meanwhile, or not a request: not ours to judge.
    }
  }
  return requests;
}

export async function removeSnapshotRequest(stateDir: string, id: string): Promise<void> {
  await rm(join(stateDir, REQUESTS_DIR, `${id}.json`), { force: true });
}

/** Whether a table's recorded read answers the request (it was started for it, or for a later one). */
export function answers(recordedRequest: string | undefined, id: string): boolean {
  return recordedRequest !== undefined && recordedRequest >= id;
}
