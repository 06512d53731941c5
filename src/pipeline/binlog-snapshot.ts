// The snapshot of existing rows in the binlog -> Hive job (`snapshot` in the config): what the
// record says of it, the connection it reads with, and the merge the binlog stream takes it in by.
import type { Logger } from 'pino';
import type mysql from 'mysql2/promise';
import type { CheckpointRecord } from '../core/checkpoint-record.ts';
import { connectMysql, EXACT_VALUES, useUtcSession, type MysqlServerOptions } from '../core/mysql-connect.ts';
import type { SourceState } from '../core/source.ts';
import type { Router } from '../routing/router.ts';
import type { SluiceMetrics } from '../runtime/metrics.ts';
import { SnapshotMerge } from '../sources/snapshot/snapshot-merge.ts';
import { planSnapshot, requireNoReplayOverSnapshot, type SnapshotMode } from '../sources/snapshot/snapshot-plan.ts';

export interface SnapshotSettings {
  mode: SnapshotMode;
  /** Rows per chunk at most. */
  chunkRows: number;
  /** Bytes of values per chunk, roughly: the chunk size follows the rows' size. */
  chunkBytes: number;
}

export interface BinlogSnapshot {
  merge: SnapshotMerge;
  /** No checkpoint yet: the stream starts at the binlog's end. */
  fresh: boolean;
  statesAt(nextSequence: bigint): Record<string, SourceState>;
  close(): Promise<void>;
}

export async function openBinlogSnapshot(options: {
  settings: SnapshotSettings | undefined;
  connection: MysqlServerOptions;
  isMariaDb: boolean;
  record: CheckpointRecord | undefined;
  router: Router;
  retrying: ReadonlyArray<[string, { since: { nextSequence: string } }]>;
  held: () => boolean;
  onDone: () => void;
  logger: Logger;
  metrics: SluiceMetrics;
}): Promise<BinlogSnapshot | undefined> {
  const { settings } = options;
  if (!settings || settings.mode === 'never') return undefined;
  const connection: mysql.Connection = await connectMysql(options.connection, 'source', EXACT_VALUES);
  try {
    await useUtcSession(connection);
    const plan = await planSnapshot(connection, settings.mode, options.record, options.router);
    if (!plan) {
      await connection.end().catch(() => undefined);
      return undefined;
    }
    requireNoReplayOverSnapshot(plan, options.retrying);
    const merge = new SnapshotMerge({
      connection,
      isMariaDb: options.isMariaDb,
      progress: plan.progress,
      keys: plan.keys,
      chunkRows: settings.chunkRows,
      chunkBytes: settings.chunkBytes,
      held: options.held,
      ...(settings.mode === 'initial_only' ? { onDone: options.onDone } : {}),
      logger: options.logger,
      metrics: options.metrics,
    });
    return {
      merge,
      fresh: plan.fresh,
      statesAt: (nextSequence) => merge.statesAt(nextSequence),
      close: async () => {
        merge.close();
        await connection.end().catch(() => undefined);
      },
    };
  } catch (error) {
    await connection.end().catch(() => undefined);
    throw error;
  }
}
