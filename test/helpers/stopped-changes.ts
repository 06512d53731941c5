// For tests of changes that stop a table: a checkpoint past everything the server has logged, and
// what a table holds, as short lines in _seq order.
import { LocalCatalog } from '../../src/catalog/local-catalog.ts';
import type { BinlogHiveRecord as CheckpointRecord } from '../../src/pipeline/binlog-to-hive-record.ts';
import { LocalFileSystem } from '../../src/filesystem/local-filesystem.ts';
import type mysql from 'mysql2/promise';
import type { MariaDbServer } from '../servers/mariadb.ts';
import { type DaemonWorkspace, gtidBinlogPos, latestCheckpoint, makeWorkspace, type RunningDaemon, waitForCheckpoint, withDaemon } from './daemon.ts';
import { testMariaDb } from './servers.ts';
import { bySequence, readCommittedRows } from './warehouse.ts';

/** Waits for a checkpoint at or past the server's position, and returns the newest record. */
export async function checkpointAtEnd(workspace: DaemonWorkspace, daemon: RunningDaemon, server: MariaDbServer): Promise<CheckpointRecord> {
  await waitForCheckpoint(workspace, await gtidBinlogPos(server), 30_000, daemon);
  return (await latestCheckpoint(workspace))!;
}

/** The committed rows of a table as `op id v`, in _seq order. */
export async function changesOf(workspace: DaemonWorkspace, database: string, table: string): Promise<string[]> {
  const catalog = new LocalCatalog(workspace.catalogDir);
  if (!(await catalog.getTable(database, table))) return [];
  const rows = bySequence(await readCommittedRows(catalog, new LocalFileSystem(workspace.warehouse), database, table));
  return rows.map((row) => `${String(row._op)} ${String(row.id)} ${String(row.v)}`);
}

export interface CaptureRun {
  server: MariaDbServer;
  /** A root connection for fixtures, in ROW format. */
  db: mysql.Connection;
  /** A database of the run's own, captured by the daemon (`<tag>.*`). */
  tag: string;
  workspace: DaemonWorkspace;
  daemon: RunningDaemon;
}

/**
 * Creates a database `<prefix><n>` with `setup(tag)` (SQL), starts the daemon on it from the current
 * position, runs `body`, and stops the daemon and connections whatever happens. `extra`: top-level
 * YAML for the config (`capture:`, say).
 */
export async function withCapture(prefix: string, setup: (tag: string) => string, body: (run: CaptureRun) => Promise<void>, options: { extra?: (tag: string) => string } = {}): Promise<void> {
  const server = await testMariaDb();
  const db = await server.rootConnection();
  const tag = `${prefix}${Date.now() % 1_000_000}`;
  await db.query(`CREATE DATABASE ${tag}; ${setup(tag)}`);
  const start = await gtidBinlogPos(server);
  const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: `  include: ['${tag}.*']`, intervalSeconds: 0.3, ...(options.extra ? { extra: options.extra(tag) } : {}) });
  await withDaemon(workspace, server, (daemon) => body({ server, db, tag, workspace, daemon })).finally(() => db.end());
}
