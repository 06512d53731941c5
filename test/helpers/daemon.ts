// Runs the real daemon as a child process, the way systemd would, so tests can kill it with SIGKILL.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointStore } from '../../src/checkpoint/checkpoint-store.ts';
import type { StateStore } from '../../src/core/state-store.ts';
import { binlogHiveRecord, type BinlogHiveRecord as CheckpointRecord } from '../../src/pipeline/binlog-to-hive-record.ts';
import type { MariaDbServer } from '../servers/mariadb.ts';
import { daemonConfigYaml, LOCAL_STORAGE_YAML } from './daemon-config.ts';
import { REPO_ROOT } from './servers.ts';

export interface DaemonWorkspace {
  dir: string;
  configFile: string;
  stateDir: string;
  warehouse: string;
  catalogDir: string;
  /** Where the daemon keeps its state when not in stateDir (checkpoint.store: hdfs). */
  state?: StateStore;
}

/**
 * Writes a config for the private MariaDB into a fresh temp folder. `storage` replaces the default
 * sink.filesystem/catalog (local, in the folder); `sinkExtra` adds sink keys; `extra` is appended YAML.
 */
export function makeWorkspace(
  server: MariaDbServer,
  options: { start: string; routing: string; intervalSeconds?: number; extra?: string; sinkExtra?: string; storage?: string; state?: { yaml: string; store: StateStore } },
): DaemonWorkspace {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-test-'));
  const configFile = join(dir, 'sluice.yaml');
  writeFileSync(
    configFile,
    daemonConfigYaml({
      server,
      passwordEnv: 'SLUICE_TEST_PASSWORD',
      serverId: 1000 + Math.floor(Math.random() * 100000),
      start: options.start,
      routing: options.routing,
      sink: `${options.storage ?? LOCAL_STORAGE_YAML}\n${options.sinkExtra ?? ''}`,
      checkpointSeconds: options.intervalSeconds ?? 0.5,
      extra: withSnapshotMode(options.extra ?? ''),
      ...(options.state ? { checkpoint: options.state.yaml } : {}),
    }),
  );
  return { dir, configFile, stateDir: join(dir, 'state'), warehouse: join(dir, 'warehouse'), catalogDir: join(dir, 'catalog'), ...(options.state ? { state: options.state.store } : {}) };
}

/**
 * The tests' default is `snapshot.mode: never` (sluice's is `initial`): most tests create their
 * tables and rows before the daemon starts and assert what the stream carries from `start`. A test
 * of the snapshot names its mode in `extra`.
 */
function withSnapshotMode(extra: string): string {
  return /^snapshot:/m.test(extra) ? extra : `${extra}${extra === '' || extra.endsWith('\n') ? '' : '\n'}snapshot:\n  mode: never\n`;
}

export type DaemonExit = { code: number | null; signal: NodeJS.Signals | null };

export interface RunningDaemon {
  child: ChildProcess;
  output: () => string;
  exited: Promise<DaemonExit>;
}

/** `prefix`: a command that execs the daemon's command line it is given (e.g. `unshare -m ...`), keeping its pid. */
export function startDaemon(workspace: DaemonWorkspace, server: MariaDbServer, args: string[] = [], env: NodeJS.ProcessEnv = {}, prefix: string[] = []): RunningDaemon {
  return startSluice(['run', '--config', workspace.configFile, ...args], { cwd: workspace.dir, env: { SLUICE_TEST_PASSWORD: server.password, ...env }, prefix });
}

/**
 * Any sluice command (`sync --job FILE`, say) as a child process, its stdout and stderr together in
 * `output`. `script`: another bin/sluice.js than the checkout's (an installed package's).
 */
export function startSluice(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; prefix?: string[]; script?: string }): RunningDaemon {
  const command = [...(options.prefix ?? []), process.execPath, options.script ?? join(REPO_ROOT, 'bin/sluice.js'), ...args];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  running.add(child);
  const exited = new Promise<DaemonExit>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  return { child, output: () => output, exited };
}

/**
 * Every sluice process a test file started and has not seen end. A test that fails half way leaves
 * its daemon running; the runner ends the file's process anyway (--test-force-exit in run-tests.ts),
 * and this takes the daemons with it, so that none writes on into the next file's servers.
 */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Asks the daemon to stop the way systemd does (SIGTERM) and resolves to how it exited. */
export async function stopDaemon(daemon: RunningDaemon): Promise<DaemonExit> {
  daemon.child.kill('SIGTERM');
  return daemon.exited;
}

/**
 * Starts the daemon, runs `body` with it, and stops it with SIGTERM whatever `body` does; resolves,
 * once it has exited, to the daemon (for its output) and its exit, which the caller asserts on.
 */
export async function withDaemon(
  workspace: DaemonWorkspace,
  server: MariaDbServer,
  body: (daemon: RunningDaemon) => Promise<unknown>,
  options: { args?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<{ daemon: RunningDaemon; exit: DaemonExit }> {
  const daemon = startDaemon(workspace, server, options.args, options.env);
  let exit: DaemonExit;
  try {
    await body(daemon);
  } finally {
    exit = await stopDaemon(daemon);
  }
  return { daemon, exit };
}

/** Runs the daemon until a checkpoint covers `end` (a GTID position), then stops it with SIGTERM. */
export function runUntilCheckpoint(
  workspace: DaemonWorkspace,
  server: MariaDbServer,
  end: string,
  timeoutMs: number,
  options: { args?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<{ daemon: RunningDaemon; exit: DaemonExit }> {
  return withDaemon(workspace, server, (daemon) => waitForCheckpoint(workspace, end, timeoutMs, daemon), options);
}

export async function until<T>(what: string, daemon: RunningDaemon, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined && found !== false) return found;
    if (daemon.child.exitCode !== null || Date.now() > deadline) assert.fail(`${what}: not reached (daemon exit ${daemon.child.exitCode}):\n${daemon.output().slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The daemon's exit code, when it stops by itself within `timeoutMs`; otherwise it is killed and the
 * test fails, instead of hanging on a daemon that read on where it should have stopped.
 */
export async function exitWithin(daemon: RunningDaemon, timeoutMs: number, why = 'it should have stopped by itself'): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
  const outcome = await Promise.race([daemon.exited, late]);
  clearTimeout(timer);
  if (outcome !== 'late') return outcome.code;
  daemon.child.kill('SIGKILL');
  await daemon.exited;
  assert.fail(`the daemon did not stop within ${timeoutMs} ms (${why}):\n${daemon.output().slice(-3000)}`);
}

/** The JSON log's fatal line (level 60), which a log pipeline reads. */
export function fatalLine(daemon: RunningDaemon): { code: string; exitCode: number; msg: string } {
  const line = daemon
    .output()
    .split('\n')
    .find((text) => text.startsWith('{') && text.includes('"level":60'));
  assert.ok(line, `no fatal line in the JSON log:\n${daemon.output().slice(-3000)}`);
  return JSON.parse(line) as { code: string; exitCode: number; msg: string };
}

/** The port the daemon's metrics server listens on, read from its log line. */
export async function metricsPort(daemon: RunningDaemon, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = /"port":(\d+)[^\n]*metrics and health/.exec(daemon.output());
    if (found) return Number(found[1]);
    if (daemon.child.exitCode !== null || Date.now() > deadline) throw new Error(`no metrics port in the daemon's log:\n${daemon.output().slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function latestCheckpoint(workspace: DaemonWorkspace): Promise<CheckpointRecord | undefined> {
  return latestIn(new CheckpointStore(workspace.state ?? workspace.stateDir));
}

/** The newest record of a store as the binlog -> Hive daemon reads it (format 1's shape), if one can be read. */
export async function latestIn(store: CheckpointStore): Promise<CheckpointRecord | undefined> {
  const record = await store.latest().catch(() => undefined);
  return record && binlogHiveRecord(record);
}

/** MariaDB GTID position '0-1-42' (one domain in tests) -> 42. */
export function gtidSeq(position: string | undefined): number {
  if (!position) return 0;
  return Math.max(0, ...position.split(',').map((entry) => Number(entry.split('-')[2] ?? 0)));
}

/** Waits until a checkpoint covers the server's binlog up to `gtidPosition`. */
export async function waitForCheckpoint(workspace: DaemonWorkspace, gtidPosition: string, timeoutMs: number, daemon?: RunningDaemon): Promise<CheckpointRecord> {
  const wanted = gtidSeq(gtidPosition);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const record = await latestCheckpoint(workspace);
    if (record && gtidSeq(record.source.position.gtidSet) >= wanted) return record;
    // A daemon killed by a signal (an abort when its heap runs out) has no exit code, only the signal.
    if (daemon && (daemon.child.exitCode !== null || daemon.child.signalCode !== null)) throw new Error(`daemon exited with ${daemon.child.exitCode ?? daemon.child.signalCode} before reaching ${gtidPosition}:\n${daemon.output().slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`no checkpoint reached ${gtidPosition} in ${timeoutMs} ms (newest: ${JSON.stringify(record?.source)})\n${daemon?.output().slice(-3000) ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Waits until a checkpoint covers `gtidPosition` with every table caught up (the record names no stopped or ahead table). */
export async function waitForCaughtUp(workspace: DaemonWorkspace, gtidPosition: string, daemon: RunningDaemon, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const record = await latestCheckpoint(workspace);
    if (record && gtidSeq(record.source.position.gtidSet) >= gtidSeq(gtidPosition) && !record.tables) return;
    if (Date.now() > deadline || daemon.child.exitCode !== null) assert.fail(`no caught-up checkpoint:\n${daemon.output().slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function gtidBinlogPos(server: MariaDbServer): Promise<string> {
  const connection = await server.rootConnection();
  try {
    const [rows] = await connection.query('SELECT @@gtid_binlog_pos AS pos');
    return (rows as { pos: string }[])[0]!.pos;
  } finally {
    await connection.end();
  }
}

/** Waits until a checkpoint record names `table` as stopped, then stops the daemon cleanly (exit 0). */
export async function stopTableAndDaemon(workspace: DaemonWorkspace, daemon: RunningDaemon, table: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  try {
    for (;;) {
      if ((await latestCheckpoint(workspace))?.tables?.stopped?.[table]) break;
      if (Date.now() > deadline || daemon.child.exitCode !== null) assert.fail(`no checkpoint records ${table} as stopped:\n${daemon.output().slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    daemon.child.kill('SIGTERM');
  }
  assert.equal((await daemon.exited).code, 0, 'a stopped table does not stop the daemon');
}

/** Waits until the daemon has handed `count` changes to the sink (its sluice_changes_read_total counter). */
export async function waitForChangesRead(daemon: RunningDaemon, count: number, timeoutMs = 60_000): Promise<void> {
  const port = await metricsPort(daemon);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const read = Number(/^sluice_changes_read_total (\d+)$/m.exec(text)?.[1] ?? 0);
    if (read >= count) return;
    if (Date.now() > deadline || daemon.child.exitCode !== null) assert.fail(`the daemon read ${read} of ${count} changes:\n${daemon.output().slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
