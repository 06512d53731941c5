// Moves a stopped daemon to another source position by writing a new newest record. Recovery runs
// first, so the previous record's commits are done and every staging file is gone: the new record
// then names no pending work, and nothing read before the move can be committed after it.
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.ts';
import type { FileSystem } from '../filesystem/filesystem.ts';
import type { BinlogPosition } from '../sources/binlog/position/binlog-position.ts';
import type { CheckpointRecord } from './checkpoint-record.ts';
import type { CheckpointStore } from './checkpoint-store.ts';
import { SluiceError } from '../errors.ts';
import { recover } from './recovery.ts';
import { highestSequence } from './table-gate.ts';

export interface MovedCheckpoint {
  previous: CheckpointRecord | undefined;
  record: CheckpointRecord;
}

/** The caller holds the state lock: no daemon may write records or staging meanwhile. */
export async function moveCheckpoint(
  store: CheckpointStore,
  fs: FileSystem,
  catalog: Catalog,
  logger: Logger,
  position: BinlogPosition,
): Promise<MovedCheckpoint> {
  const previous = await recover(store, fs, catalog, logger);
  const record: CheckpointRecord = {
    format: 1,
    id: (previous?.id ?? 0) + 1,
    // Names the act in the record for a person reading it; the next run gets its own job id.
    jobId: `set-${Date.now().toString(36)}`,
    createdAt: new Date().toISOString(),
    // The sequence goes on from where it was, also when the position moves back: `_seq` must keep
    // meaning "larger is later", so replayed changes sort after the rows already in the tables.
    // A record without `tables`: tables that were stopped or ahead all start over at the new position.
    source: { kind: 'binlog', position, nextSequence: previous ? highestSequence(previous).toString() : '1' },
    commits: [],
  };
  await store.write(record);
  logger.info({ checkpoint: record.id, position, previous: previous?.source.position }, 'checkpoint moved');
  return { previous, record };
}

/**
 * Gives up a stopped table's missing changes: a new record in which the table is no longer stopped,
 * so that it takes changes from where the other tables stand, and no start reads back for it.
 */
export async function skipStoppedTable(store: CheckpointStore, fs: FileSystem, catalog: Catalog, logger: Logger, table: string): Promise<MovedCheckpoint> {
  const previous = await recover(store, fs, catalog, logger);
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
    commits: [],
    ...(tables.stopped || tables.ahead ? { tables } : {}),
  };
  await store.write(record);
  logger.info({ checkpoint: record.id, table }, 'stopped table skipped');
  return { previous, record };
}
