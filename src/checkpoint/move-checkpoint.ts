// Moves a stopped daemon to another source position by writing a new newest record. Recovery runs
// first, so the previous record's commits are done and every staging file is gone: the new record
// then names no pending work, and nothing read before the move can be committed after it.
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.ts';
import type { FileSystem } from '../filesystem/filesystem.ts';
import type { BinlogPosition } from '../sources/binlog/binlog-position.ts';
import type { CheckpointRecord } from './checkpoint-record.ts';
import type { CheckpointStore } from './checkpoint-store.ts';
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
