// Shared by the tests of snapshots taken while streaming (snapshot-later.test.ts,
// snapshot-request.test.ts): a table's current-state view against the source, the marker a read
// again starts with, a wait for a checkpoint with the snapshot done, `sluice snapshot` and a writer.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { LocalCatalog } from '../../src/catalog/local-catalog.ts';
import { CheckpointStore } from '../../src/checkpoint/checkpoint-store.ts';
import type { HiveCommits } from '../../src/sinks/hive-commits.ts';
import type { MariaDbServer } from '../servers/mariadb.ts';
import { prng } from './change-generator.ts';
import { gtidBinlogPos, startSluice, until, waitForCheckpoint, type DaemonWorkspace, type RunningDaemon } from './daemon.ts';
import { runQueryCli } from './query-cli.ts';
import { snapshotDone, snapshotState } from './snapshot-check.ts';

export const TABLE = '(id INT PRIMARY KEY, v VARCHAR(20))';

export function rowsSql(table: string, count: number, prefix: string): string {
  return `INSERT INTO ${table} VALUES ${Array.from({ length: count }, (_, n) => `(${n + 1}, '${prefix}${n + 1}')`).join(', ')}`;
}

/** The current-state view of a Hive table against the source table, row by row. */
export async function assertCurrentIsSource(workspace: DaemonWorkspace, server: MariaDbServer, db: mysql.Connection, hiveDb: string, table: string, sourceTable: string): Promise<void> {
  const current = await runQueryCli(workspace, server, `SELECT id, v FROM ${hiveDb}.${table}_current ORDER BY id`, {}, ['--key', 'id']);
  const [source] = await db.query<mysql.RowDataPacket[]>(`SELECT id, v FROM ${sourceTable} ORDER BY id`);
  assert.deepEqual(
    current.map((row) => `${row.id}=${row.v}`),
    source.map((row) => `${String(row.id)}=${String(row.v)}`),
    `${hiveDb}.${table}: the current state is the source's ${sourceTable}`,
  );
}

/**
 * One truncate marker, every read row after it, no key read twice. The sink leaves out a marker for
 * a Hive table that does not exist yet (it has no rows to cover): `mayHaveNone` for a table whose
 * Hive table may not exist when its marker comes.
 */
export function assertReadAfterOneMarker(changes: string[], table: string, mayHaveNone = false): void {
  const markers = changes.flatMap((line, index) => (line.startsWith('truncate ') ? [index] : []));
  assert.ok(markers.length === 1 || (mayHaveNone && markers.length === 0), `${table}: one truncate marker: ${changes.join(' | ')}`);
  const reads = changes.flatMap((line, index) => (line.startsWith('read ') ? [index] : []));
  assert.ok(reads.length > 0 && reads[0]! > (markers[0] ?? -1), `${table}: rows read, after the marker: ${changes.join(' | ')}`);
  const keys = reads.map((index) => changes[index]!.split(' ')[1]);
  assert.equal(new Set(keys).size, keys.length, `${table}: no key read twice`);
}

/**
 * Waits until a checkpoint covers the server's position and records the snapshot done.
 * `checkpointAtEnd` waits for that checkpoint on another server than MariaDB (MySQL's GTID set).
 */
export async function settled(workspace: DaemonWorkspace, server: MariaDbServer, daemon: RunningDaemon, checkpointAtEnd?: () => Promise<unknown>): Promise<void> {
  await until('the snapshot is done', daemon, async () => snapshotDone(await snapshotState(workspace)) || undefined);
  await (checkpointAtEnd ? checkpointAtEnd() : waitForCheckpoint(workspace, await gtidBinlogPos(server), 60_000, daemon));
  await until('the snapshot is done at the end', daemon, async () => snapshotDone(await snapshotState(workspace)) || undefined);
  await until("the newest record's commits are carried out", daemon, () => committed(workspace));
}

/**
 * Whether the newest record's commits are carried out: a record lands before its files are renamed
 * into place and its partitions added (DESIGN.md's order), so a read right after it may miss them.
 */
async function committed(workspace: DaemonWorkspace): Promise<true | undefined> {
  const record = await new CheckpointStore(workspace.stateDir).latest();
  const commits = ((record?.sinks.hive ?? { commits: [] }) as HiveCommits).commits;
  const catalog = new LocalCatalog(workspace.catalogDir);
  for (const commit of commits) {
    if (commit.kind === 'rename' && (existsSync(join(workspace.warehouse, commit.from)) || !existsSync(join(workspace.warehouse, commit.to)))) return undefined;
    if (commit.kind === 'partition') {
      const partitions = await catalog.listPartitions(commit.database, commit.table).catch(() => []);
      if (!partitions.some((partition) => JSON.stringify(partition.values) === JSON.stringify(commit.values))) return undefined;
    }
  }
  return true;
}

export async function sluiceSnapshot(workspace: DaemonWorkspace, server: MariaDbServer, table: string): Promise<string> {
  const command = startSluice(['snapshot', table, '--config', workspace.configFile], { cwd: workspace.dir, env: { SLUICE_TEST_PASSWORD: server.password } });
  const exit = await command.exited;
  assert.equal(exit.code, 0, command.output());
  return command.output();
}

export function requestFiles(workspace: DaemonWorkspace): string[] {
  try {
    return readdirSync(join(workspace.stateDir, 'snapshot-requests')).filter((name) => name.endsWith('.json'));
  } catch {
    return [];
  }
}

/** The changelog drifts from the source: changes made with sql_log_bin=0, which no binlog reader sees. */
export async function driftFromChangelog(server: MariaDbServer, table: string): Promise<void> {
  const hidden = await server.rootConnection();
  try {
    await hidden.query(`SET SESSION sql_log_bin = 0; DELETE FROM ${table} WHERE id <= 5; UPDATE ${table} SET v = 'hidden' WHERE id = 9; INSERT INTO ${table} VALUES (500, 'hidden-new')`);
  } finally {
    await hidden.end();
  }
}

/** A writer of random updates, inserts and deletes on `tables` (ids 1..70, new ones from 1000), until stopped. */
export class RandomWriter {
  private writing = false;
  private done: Promise<void> = Promise.resolve();

  constructor(private readonly db: mysql.Connection) {}

  start(tables: string[]): void {
    this.writing = true;
    this.done = this.write(tables);
  }

  /** Stops after the statement under way; rejects with the writer's error, if it had one. */
  async stop(): Promise<void> {
    this.writing = false;
    await this.done;
  }

  private async write(tables: string[]): Promise<void> {
    const random = prng(11);
    // Past every row a test table starts with.
    let next = 1_000_000;
    while (this.writing) {
      const table = tables[Math.floor(random() * tables.length)]!;
      const id = 1 + Math.floor(random() * 70);
      const roll = random();
      if (roll < 0.3) await this.db.query(`INSERT INTO ${table} VALUES (?, ?)`, [next++, `new${next}`]);
      else if (roll < 0.8) await this.db.query(`UPDATE ${table} SET v = ? WHERE id = ?`, [`upd${next++}`, id]);
      else await this.db.query(`DELETE FROM ${table} WHERE id = ?`, [id]);
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
  }
}

/** `sluice snapshot <table>` for the running daemon, and a wait until a record holds the table read for it and the request file is gone. */
export async function snapshotAgain(workspace: DaemonWorkspace, server: MariaDbServer, daemon: RunningDaemon, table: string): Promise<string> {
  const said = await sluiceSnapshot(workspace, server, table);
  await until(`the snapshot of ${table} is taken and recorded, and its request file removed`, daemon, async () => {
    const entry = (await snapshotState(workspace))?.position.tables[table];
    return entry?.request !== undefined && entry.done && requestFiles(workspace).length === 0 ? true : undefined;
  });
  return said;
}
