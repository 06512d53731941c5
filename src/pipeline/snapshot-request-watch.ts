// The daemon's side of `sluice snapshot db.table` (sources/snapshot/snapshot-requests.ts): every
// second, the request files in the state store are looked at; a new one makes the snapshot read
// its table again (after a truncate marker) while the stream goes on, and a file is removed once a
// checkpoint record shows its table's read started for it (or for a later request), so that a
// kill -9 before that record finds the request again at the next start.
import type { Logger } from 'pino';
import type { CheckpointStore } from '../checkpoint/checkpoint-store.ts';
import type { Router } from '../routing/router.ts';
import type { SnapshotMerge } from '../sources/snapshot/snapshot-merge.ts';
import { SNAPSHOT, type SnapshotState } from '../sources/snapshot/snapshot-progress.ts';
import { answers, readSnapshotRequests, removeSnapshotRequest } from '../sources/snapshot/snapshot-requests.ts';

/** How often the request directory is looked at. */
export const REQUEST_POLL_MS = 1000;

/** Whether the routing captures a source table named 'db.table'. */
export function isCapturedTable(router: Router, table: string): boolean {
  const dot = table.indexOf('.');
  return dot > 0 && router.isCaptured(table.slice(0, dot), table.slice(dot + 1));
}

export class SnapshotRequestWatch {
  /** Requests handed to the merge in this run: each once. */
  private readonly handed = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly options: { store: CheckpointStore; router: Router; merge: SnapshotMerge; logger: Logger },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.poll(), REQUEST_POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    const { store, router, merge, logger } = this.options;
    const state = store.state;
    try {
      const requests = await readSnapshotRequests(state);
      if (requests.length === 0) return;
      const record = await store.latest().catch(() => undefined);
      const recorded = (record?.sources[SNAPSHOT] as SnapshotState | undefined)?.position.tables ?? {};
      for (const request of requests) {
        if (answers(recorded[request.table]?.request, request.id)) {
          await removeSnapshotRequest(state, request.id);
          continue;
        }
        if (this.handed.has(request.id) || this.timer === undefined) continue;
        this.handed.add(request.id);
        if (!isCapturedTable(router, request.table)) {
          logger.warn({ table: request.table, request: request.id }, `snapshot request for ${request.table}: the routing does not capture it; request dropped`);
          await removeSnapshotRequest(state, request.id);
          continue;
        }
        logger.info({ table: request.table, request: request.id }, `snapshot: asked to read ${request.table} again (sluice snapshot); the other tables stream on`);
        merge.readAgain(request.table, { request: request.id });
      }
    } catch (error) {
      logger.warn({ err: error, dir: state.description }, 'cannot read the snapshot requests; trying again in a second');
    } finally {
      this.polling = false;
    }
  }
}
