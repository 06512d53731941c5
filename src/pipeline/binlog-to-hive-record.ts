// The binlog -> Hive pipeline's names in a checkpoint record, and the record as that pipeline reads
// it: one binlog source, one Hive sink. That is format 1's shape, which people and their scripts
// know from `sluice checkpoint show` and earlier versions.
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.ts';
import { FORMAT_1_SINK, FORMAT_1_SOURCE } from '../checkpoint/checkpoint-record.ts';
import type { CheckpointStore } from '../checkpoint/checkpoint-store.ts';
import { recover } from '../checkpoint/recovery.ts';
import type { CheckpointRecord, TableProgress } from '../core/checkpoint-record.ts';
import { SluiceError } from '../core/errors.ts';
import type { StateStore } from '../core/state-store.ts';
import type { FileSystem } from '../filesystem/filesystem.ts';
import type { HeldFile, HiveCommits, PendingCommit } from '../sinks/hive-commits.ts';
import { HiveRecovery } from '../sinks/hive-sink.ts';
import type { BinlogSourceState } from '../sources/binlog/position/binlog-position.ts';

/** The pipeline's source and sink names: those format 1 converts to, so old records resume. */
export const BINLOG = FORMAT_1_SOURCE;
export const HIVE = FORMAT_1_SINK;

/** A record of this pipeline, in format 1's shape. */
export interface BinlogHiveRecord {
  format: 1;
  id: number;
  jobId: string;
  createdAt: string;
  source: BinlogSourceState;
  commits: PendingCommit[];
  tables?: TableProgress<BinlogSourceState>;
  preparedXa?: Record<string, HeldFile[]>;
}

/** Reads a record as this pipeline's, refusing one that another pipeline wrote. */
export function binlogHiveRecord(record: CheckpointRecord): BinlogHiveRecord {
  const source = record.sources[BINLOG];
  const sink = record.sinks[HIVE] as HiveCommits | undefined;
  if (source?.kind !== 'binlog' || !sink) {
    throw new SluiceError(
      'SLUICE_CHECKPOINT_CORRUPT',
      `checkpoint record ${record.id} (written by ${record.jobId}) is not one of a binlog -> Hive pipeline: it holds the sources ` +
        `${Object.keys(record.sources).join(', ') || 'none'} and the sinks ${Object.keys(record.sinks).join(', ') || 'none'}. ` +
        "Point checkpoint.dir at this daemon's own directory.",
    );
  }
  return {
    format: 1,
    id: record.id,
    jobId: record.jobId,
    createdAt: record.createdAt,
    source: source as BinlogSourceState,
    commits: sink.commits,
    ...(record.tables ? { tables: record.tables as TableProgress<BinlogSourceState> } : {}),
    ...(sink.preparedXa ? { preparedXa: sink.preparedXa } : {}),
  };
}

/** The pipeline's sinks' parts of recovery, by name. */
export function binlogHiveRecoveries(fs: FileSystem, catalog: Catalog, stateDir: string | StateStore, logger: Logger): { [HIVE]: HiveRecovery } {
  return { [HIVE]: new HiveRecovery(fs, catalog, stateDir, logger) };
}

/** Recovery of a binlog -> Hive state directory (the daemon's start, `checkpoint set`, tests). */
export function recoverBinlogToHive(store: CheckpointStore, fs: FileSystem, catalog: Catalog, logger: Logger): Promise<CheckpointRecord | undefined> {
  return recover(store, binlogHiveRecoveries(fs, catalog, store.state, logger), logger);
}
