// `sluice snapshot db.table`: asks the daemon of this config to read one table again while it
// streams (docs/snapshot.md, "On-demand snapshots"). The request is a file in the state store: the
// running daemon picks it up within a second, a stopped one at its next start; nothing connects to
// the source or to the daemon here.
import type { SluiceConfig } from '../config/schema.ts';
import { SluiceError } from '../core/errors.ts';
import { Router } from '../routing/router.ts';
import { writeSnapshotRequest } from '../sources/snapshot/snapshot-requests.ts';
import { openStateStore } from '../runtime/open-state-store.ts';

export async function requestSnapshot(config: SluiceConfig, table: string): Promise<string> {
  if (config.snapshot.mode === 'never') {
    throw new SluiceError(
      'SLUICE_SNAPSHOT',
      `sluice snapshot ${table}: snapshot.mode is never, so the daemon reads no table; set snapshot.mode: initial (or when_needed) and restart the daemon, then ask again`,
      { context: { key: 'snapshot.mode', table } },
    );
  }
  const dot = table.indexOf('.');
  if (dot <= 0 || dot === table.length - 1) {
    throw new SluiceError('SLUICE_SNAPSHOT', `sluice snapshot ${table}: name the source table as db.table`, { context: { table } });
  }
  if (!new Router(config.routing).isCaptured(table.slice(0, dot), table.slice(dot + 1))) {
    throw new SluiceError('SLUICE_SNAPSHOT', `sluice snapshot ${table}: routing.include (or routing.exclude) does not capture ${table}; name a source table the daemon captures`, {
      context: { key: 'routing.include', table },
    });
  }
  const state = openStateStore(config);
  try {
    const request = await writeSnapshotRequest(state, table);
    return (
      `snapshot of ${table} asked for (request ${request.id}, in ${state.description}).\n` +
      'The running daemon reads the table again within a second, after a truncate marker, while the other tables stream on (a stopped daemon: at its next start).\n' +
      `Watch it with \`sluice checkpoint show\` or the log line "snapshot of ${table} done".\n`
    );
  } finally {
    state.close?.();
  }
}
