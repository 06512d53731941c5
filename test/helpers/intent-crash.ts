// The frame of the crash tests of scheduled work that records intents (compaction, materialization):
// two sharded source tables merged into one Hive table, daemons killed at random moments or the
// instant an intent record lands (the window random timing alone rarely hits), and a clean last run.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import type mysql from 'mysql2/promise';
import { ChangeGenerator } from './change-generator.ts';
import { gtidBinlogPos, makeWorkspace, metricsPort, startDaemon, waitForCheckpoint, type DaemonWorkspace, type RunningDaemon } from './daemon.ts';
import type { MariaDbServer } from '../servers/mariadb.ts';
import { testMariaDb } from './servers.ts';

export interface ShardedOrders {
  server: MariaDbServer;
  connection: mysql.Connection;
  tables: string[];
  workspace: DaemonWorkspace;
}

/** `<tag>_shop.order_1` and `order_2`, routed to `ods_<tag>.orders`, checkpoints every 0.2 s; `sinkExtra` is YAML under sink. */
export async function shardedOrders(tag: string, sinkExtra: string): Promise<ShardedOrders> {
  const server = await testMariaDb();
  const connection = await server.rootConnection();
  const tables = [`${tag}_shop.order_1`, `${tag}_shop.order_2`];
  await ChangeGenerator.createTables(connection, tables);
  const startPosition = await gtidBinlogPos(server);
  const workspace = makeWorkspace(server, {
    start: `{ gtid: '${startPosition}' }`,
    routing: `  include: ['${tag}_shop.*']\n  rules:\n    - match: '^${tag}_shop\\.order_\\d+$'\n      target: ods_${tag}.orders`,
    intervalSeconds: 0.2,
    sinkExtra,
  });
  return { server, connection, tables, workspace };
}

/**
 * One start and SIGKILL: the kill lands the instant a `record` file appears when `atRecord` (and it
 * appears within `timeoutMs`), else after `otherwiseMs`. Asserts the daemon ran without an error.
 * Returns whether the kill landed at a record, and whether one was left behind for recovery.
 */
export async function killOnce(
  { server, workspace }: ShardedOrders,
  options: { record: RegExp; atRecord: boolean; timeoutMs: number; otherwiseMs: number; waitForStart?: boolean; onOutput?: (chunk: string) => void },
): Promise<{ atRecord: boolean; recordLeft: boolean }> {
  const daemon = startDaemon(workspace, server);
  daemon.child.stdout!.on('data', (chunk: Buffer) => options.onOutput?.(chunk.toString()));
  if (options.waitForStart) await metricsPort(daemon);
  const atRecord = options.atRecord && (await killWhenStateFileLands(workspace.stateDir, daemon, options.record, options.timeoutMs));
  if (!atRecord) await new Promise((resolve) => setTimeout(resolve, options.otherwiseMs));
  daemon.child.kill('SIGKILL');
  const exit = await daemon.exited;
  const recordLeft = readdirSync(workspace.stateDir).some((name) => options.record.test(name));
  assert.equal(exit.signal, 'SIGKILL', `daemon died on its own:\n${daemon.output().slice(-3000)}`);
  assert.doesNotMatch(daemon.output(), /"level":(50|60)/, `no error before the kill:\n${daemon.output().slice(-3000)}`);
  return { atRecord, recordLeft };
}

/** A clean run: caught up with the source's end; `settled` waits for the scheduled work; then SIGTERM and a clean exit. */
export async function cleanRun({ server, workspace }: ShardedOrders, settled: (daemon: RunningDaemon) => Promise<void>): Promise<void> {
  const endPosition = await gtidBinlogPos(server);
  const last = startDaemon(workspace, server);
  await metricsPort(last);
  await waitForCheckpoint(workspace, endPosition, 60_000, last);
  await settled(last);
  last.child.kill('SIGTERM');
  const exit = await last.exited;
  assert.equal(exit.code, 0, `clean stop exits 0:\n${last.output().slice(-2000)}`);
  assert.doesNotMatch(last.output(), /"level":(50|60)/, `no error in the clean run:\n${last.output().slice(-3000)}`);
}

/**
 * Kills the daemon as soon as a file whose name matches `pattern` (an intent record: compaction-*.json,
 * materialize-*.json) is renamed into the local state directory; false on timeout. The watcher runs in
 * a small process of its own: the test's process is busy driving the workload, and the daemon
 * completes a small step within a millisecond or two of writing its record.
 */
export async function killWhenStateFileLands(stateDir: string, daemon: RunningDaemon, pattern: RegExp, timeoutMs: number): Promise<boolean> {
  const script = `const { watch } = require('node:fs');
const watcher = watch(${JSON.stringify(stateDir)}, (_event, name) => {
  if (!name || !new RegExp(${JSON.stringify(pattern.source)}).test(String(name))) return;
  try { process.kill(${daemon.child.pid}, 'SIGKILL'); } catch {}
  process.stdout.write('killed\\n');
  watcher.close();
  process.exit(0);
});
process.stdout.write('ready\\n');
setTimeout(() => process.exit(1), ${timeoutMs});`;
  const killer = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  killer.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve) => {
    const check = () => (output.includes('ready') ? resolve() : setTimeout(check, 5));
    check();
  });
  await new Promise((resolve) => killer.on('exit', resolve));
  return output.includes('killed');
}
