// Moves a stopped daemon to another source position by writing a new newest record. Recovery runs
// first, so the previous record's commits are done and every staging file is gone: the new record
// then names no pending work, and nothing read before the move can be committed after it.
import type { Logger } from 'pino';
import type { SinkCommits, SinkRecovery } from '../core/sink.ts';
import type { CheckpointRecord } from './checkpoint-record.ts';
import type { CheckpointStore } from './checkpoint-store.ts';
import { SluiceError } from '../core/errors.ts';
import { recover } from './recovery.ts';
import { highestSequence } from './table-gate.ts';

export interface MovedCheckpoint {
  previous: CheckpointRecord | undefined;
  record: CheckpointRecord;
}

/** The source moved, by name, and its new position (as the source writes it). */
export interface MovedSource {
  name: string;
  kind: string;
  position: unknown;
}

/**
 * The caller holds the state lock: no daemon may write records or staging meanwhile. `sinks` are the
 * pipeline's sinks by name; the new record names none of their work, and no held data either.
 */
export async function moveCheckpoint(store: CheckpointStore, sinks: Readonly<Record<string, SinkRecovery>>, logger: Logger, moved: MovedSource): Promise<MovedCheckpoint> {
  const previous = await recover(store, sinks, logger);
  const record: CheckpointRecord = {
    format: 2,
    id: (previous?.id ?? 0) + 1,
    // Names the act in the record for a person reading it; the next run gets its own job id.
    jobId: `set-${Date.now().toString(36)}`,
    createdAt: new Date().toISOString(),
    // The sequence goes on from where it was, also when the position moves back: `_seq` must keep
    // meaning "larger is later", so replayed changes sort after the rows already in the tables.
    // A record without `tables`: tables that were stopped or ahead all start over at the new position.
    sources: {
      ...previous?.sources,
      [moved.name]: { kind: moved.kind, position: moved.position, nextSequence: previous ? highestSequence(previous).toString() : '1' },
    },
    sinks: Object.fromEntries(Object.keys(sinks).map((name) => [name, { commits: [] }])),
  };
  await store.write(record);
  logger.info({ checkpoint: record.id, position: moved.position, previous: previous?.sources[moved.name]?.position }, 'checkpoint moved');
  return { previous, record };
}

/**
 * Gives up a stopped table's missing changes: a new record in which the table is no longer stopped,
 * so that it takes changes from where the other tables stand, and no start reads back for it.
 */
export async function skipStoppedTable(store: CheckpointStore, sinks: Readonly<Record<string, SinkRecovery>>, logger: Logger, table: string): Promise<MovedCheckpoint> {
  const previous = await recover(store, sinks, logger);
  const stopped = { ...(previous?.tables?.stopped ?? {}) };
  if (!previous || !stopped[table]) {
    const names = Object.keys(stopped);
    throw new SluiceError(
      'SLUICE_CHECKPOINT_TARGET',
      `checkpoint skip-table: ${table} is not a stopped table in ${store.dir}` + (names.length > 0 ? `; the stopped tables are ${names.join(', ')}` : '; no table is stopped'),
      { context: { table, file: store.dir } },
    );
  }
  delete stopped[table];
  const { tables: _tables, ...rest } = previous;
  const tables = { ...(Object.keys(stopped).length > 0 ? { stopped } : {}), ...(previous.tables?.ahead ? { ahead: previous.tables.ahead } : {}) };
  const record: CheckpointRecord = {
    ...rest,
    id: previous.id + 1,
    jobId: `skip-${Date.now().toString(36)}`,
    createdAt: new Date().toISOString(),
    // Its commits are done; what else a sink keeps (held XA transactions) stays held.
    sinks: Object.fromEntries(Object.entries(previous.sinks).map(([name, pending]): [string, SinkCommits] => [name, { ...pending, commits: [] }])),
    ...(tables.stopped || tables.ahead ? { tables } : {}),
  };
  await store.write(record);
  logger.info({ checkpoint: record.id, table }, 'stopped table skipped');
  return { previous, record };
}
