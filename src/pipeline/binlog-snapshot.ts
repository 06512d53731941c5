// The snapshot of existing rows in the binlog -> Hive job (`snapshot` in the config): what the
// record says of it, the connection it reads with, and the merge the binlog stream takes it in by.
import type { Logger } from 'pino';
import type mysql from 'mysql2/promise';
import type { CheckpointStore } from '../checkpoint/checkpoint-store.ts';
import type { CheckpointRecord } from '../core/checkpoint-record.ts';
import { connectMysql, EXACT_VALUES, useUtcSession, type MysqlServerOptions } from '../core/mysql-connect.ts';
import type { SourceState } from '../core/source.ts';
import type { Router } from '../routing/router.ts';
import type { SluiceMetrics } from '../runtime/metrics.ts';
import { SluiceError } from '../core/errors.ts';
import { GTID_WAIT_SECONDS } from '../sources/snapshot/gtid-wait.ts';
import { SnapshotMerge } from '../sources/snapshot/snapshot-merge.ts';
import { isCapturedTable, SnapshotRequestWatch } from './snapshot-request-watch.ts';
import { isDone } from '../sources/snapshot/snapshot-progress.ts';
import { planSnapshot, requireNoReplayOverSnapshot, type SnapshotMode } from '../sources/snapshot/snapshot-plan.ts';

export interface SnapshotSettings {
  mode: SnapshotMode;
  /** Rows per chunk at most. */
  chunkRows: number;
  /** Bytes of values per chunk, roughly: the chunk size follows the rows' size. */
  chunkBytes: number;
  /** Debezium's signal table, 'db.table': its `execute-snapshot` rows read tables again (snapshot-signal.ts). */
  signalTable?: string | undefined;
}

export interface BinlogSnapshot {
  merge: SnapshotMerge;
  /** No checkpoint yet: the stream starts at the binlog's end. */
  fresh: boolean;
  statesAt(nextSequence: bigint): Record<string, SourceState>;
  close(): Promise<void>;
}

export async function openBinlogSnapshot(options: {
  /** The job's `snapshot` settings (none: no snapshot) and the source it reads the tables from. */
  job: { snapshot?: SnapshotSettings | undefined; connection: MysqlServerOptions };
  /** What preflight found; hasGtid: gtid_mode=ON (MySQL), or MariaDB: the snapshot on MySQL needs it. */
  facts: { isMariaDb: boolean; hasGtid: boolean };
  /** host:port, for messages. */
  server: string;
  record: CheckpointRecord | undefined;
  /** when_needed, and the record's position is purged: every table is read again. */
  purged: boolean;
  router: Router;
  /** The records that answer `sluice snapshot`'s requests, in the state store that holds the requests too. */
  requests: { store: CheckpointStore };
  retrying: ReadonlyArray<[string, { since: { nextSequence: string } }]>;
  held: () => boolean;
  onDone: () => void;
  logger: Logger;
  metrics: SluiceMetrics;
  /** Where the progress line goes when the user watches on a terminal. */
  tty?: NodeJS.WriteStream;
}): Promise<BinlogSnapshot | undefined> {
  const settings = options.job.snapshot;
  const { isMariaDb, hasGtid } = options.facts;
  if (!settings || settings.mode === 'never') return undefined;
  if (settings.signalTable !== undefined) requireCapturedSignalTable(settings.signalTable, options.router);
  const connection: mysql.Connection = await connectMysql(options.job.connection, 'source', EXACT_VALUES);
  try {
    await useUtcSession(connection);
    const plan = await planSnapshot(connection, settings.mode, options.record, options.router, options.purged);
    if (!plan) {
      await connection.end().catch(() => undefined);
      return undefined;
    }
    requireNoReplayOverSnapshot(plan, options.retrying);
    if (!isMariaDb && !hasGtid) {
      // Nothing to read (a checkpoint that streamed without a snapshot): as before the snapshot existed.
      if (isDone(plan.progress)) {
        await connection.end().catch(() => undefined);
        return undefined;
      }
      throw noGtidsOnMysql(options.server, settings.mode);
    }
    const merge = new SnapshotMerge({
      connection,
      isMariaDb,
      ...(isMariaDb ? {} : { waitForGtids: { server: options.server, timeoutSeconds: GTID_WAIT_SECONDS } }),
      progress: plan.progress,
      keys: plan.keys,
      chunkRows: settings.chunkRows,
      chunkBytes: settings.chunkBytes,
      held: options.held,
      ...(settings.mode === 'initial_only' ? { onDone: options.onDone } : {}),
      logger: options.logger,
      metrics: options.metrics,
      ...(options.tty ? { tty: options.tty } : {}),
      ...(settings.signalTable !== undefined ? { signals: { table: settings.signalTable, isCaptured: (table: string) => isCapturedTable(options.router, table) } } : {}),
    });
    const requests = new SnapshotRequestWatch({ ...options.requests, router: options.router, merge, logger: options.logger });
    requests.start();
    return {
      merge,
      fresh: plan.fresh,
      statesAt: (nextSequence) => merge.statesAt(nextSequence),
      close: async () => {
        requests.stop();
        merge.close();
        await connection.end().catch(() => undefined);
      },
    };
  } catch (error) {
    await connection.end().catch(() => undefined);
    throw error;
  }
}

/** The stream hands on the changes of captured tables only, so a signal table must be one (as Debezium asks). */
function requireCapturedSignalTable(table: string, router: Router): void {
  if (isCapturedTable(router, table)) return;
  throw new SluiceError(
    'SLUICE_SNAPSHOT',
    `snapshot.signalTable ${table} is not captured by the routing, so sluice would never see its signals; add it to routing.include (its rows then land in Hive as any table's), or remove snapshot.signalTable`,
    { context: { key: 'snapshot.signalTable', table } },
  );
}

/**
 * On MySQL a chunk read must wait until the transactions the stream has handed on are visible
 * (sources/snapshot/gtid-wait.ts), and only a GTID set says which those are: a binlog offset does
 * not tell whether its transaction is committed in the engine yet.
 */
function noGtidsOnMysql(server: string, mode: SnapshotMode): SluiceError {
  return new SluiceError(
    'SLUICE_SNAPSHOT',
    `snapshot.mode: ${mode} needs gtid_mode=ON on MySQL, and ${server} has gtid_mode=OFF: without GTIDs sluice cannot tell when a change it has read from the binlog is visible to a chunk's SELECT, ` +
      'and a row could land with an older state than the binlog already gave. Fix: turn GTIDs on (SET GLOBAL enforce_gtid_consistency=ON, then gtid_mode OFF_PERMISSIVE -> ON_PERMISSIVE -> ON, and both in my.cnf), or set snapshot.mode: never',
    { context: { server, key: 'snapshot.mode', gtidMode: 'OFF' } },
  );
}
