// What the binlog benchmarks measure on one loaded source server, each its own function so that
// bench:binlog and bench:peers run the very same measures: (a) the native decoder, (b) sluice's
// BinlogSource alone (decode-worker.ts), and the daemon (`sluice run`) to committed files, read back
// and checked row by row (verify.ts).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalog } from '../src/catalog/catalog.ts';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { CheckpointStore } from '../src/checkpoint/checkpoint-store.ts';
import { binlogHiveRecord } from '../src/pipeline/binlog-to-hive-record.ts';
import type { FileSystem } from '../src/filesystem/filesystem.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { daemonConfigYaml } from '../test/helpers/daemon-config.ts';
import { fmt, followOutput, log, measure, run, sleep, track, type Measure } from './bench-process.ts';
import { binlogFiles, type LoadFigures } from './binlog-load.ts';
import { CHECKPOINT_SECONDS, COMPILED, COMPILED_DIR, CPU_PROF, DAEMON_NODE, DAEMON_NODE_ARGS, KEEP, PROFILE_DIR, REPO, WORK_DIR } from './binlog-settings.ts';
import { busiestProfile, formatProfile, type ProfileSummary } from './cpu-profile.ts';
import type { DecodeWorkerInput, DecodeWorkerOutput } from './decode-worker.ts';
import { cpuSeconds, mib, pidFromFile, RssSampler } from './proc-stats.ts';
import type { BenchSource } from './source-servers.ts';
import { verifyCommitted, type Expected, type VerifyResult } from './verify.ts';
import { BENCH_DATABASE, BENCH_TABLE, totalOf } from './workload.ts';

const PASSWORD_ENV = 'SLUICE_BENCH_PASSWORD';

// ---- (a) the reference ---------------------------------------------------------------------------

const ROW_LINES = "^### (INSERT INTO|UPDATE|DELETE FROM) ";

const NATIVE_ARGS = ['--no-defaults', '--base64-output=decode-rows', '-v'];

/** (a) and (a2). */
export async function reference(source: BenchSource, figures: LoadFigures, count: boolean): Promise<{ local: Measure & { countedRows?: number }; remote: Measure }> {
  return { local: await nativeLocal(source, figures, count), remote: await nativeRemote(source, figures) };
}

/** (a): the native decoder on the binlog files; with `count`, an untimed second pass counts the row changes it printed. */
export async function nativeLocal(source: BenchSource, figures: LoadFigures, count: boolean): Promise<Measure & { countedRows?: number }> {
  const { server, flavor } = source;
  const [tool, ...toolArgs] = source.tool;
  const name = flavor.toolName;
  const files = binlogFiles(server).map((file) => file.path);
  const args = NATIVE_ARGS;
  log(`(a) ${name} ${args.join(' ')} <${files.length} binlog files> > /dev/null ...`);
  const local = await run(tool!, [...toolArgs, ...args, ...files], { stdoutToNull: true, sampleRss: true });
  if (local.code !== 0) throw new Error(`${name} exited with ${local.code}: ${local.stderr.slice(-2000)}`);
  const localMeasure: Measure & { countedRows?: number } = { ...measure(figures.total, local.seconds), peakRssMiB: local.peakRssMiB ?? 0 };
  log(`  ${local.seconds.toFixed(2)} s, ${fmt(localMeasure.rowsPerSecond)} rows/s`);
  if (count) {
    // Untimed: proves the native decoder really decoded every row change (the binlog holds no other rows).
    const counted = await run('sh', ['-c', `"$@" | grep -cE '${ROW_LINES}'`, 'sh', ...source.tool, ...args, ...files]);
    localMeasure.countedRows = Number(counted.stdout.trim());
    log(`  (untimed check: ${name} printed ${fmt(localMeasure.countedRows)} row changes; the load wrote ${fmt(figures.total)})`);
  }
  return localMeasure;
}

/** (a2): the native decoder over the replication protocol. */
async function nativeRemote(source: BenchSource, figures: LoadFigures): Promise<Measure> {
  const { server, flavor } = source;
  const [tool, ...toolArgs] = source.tool;
  const name = flavor.toolName;
  const args = NATIVE_ARGS;
  // Over the replication protocol from the server, as sluice reads it (same decoding, plus the dump thread and the socket).
  const first = figures.binlog.files[0]!;
  const remoteArgs = [...args, '--read-from-remote-server', `--socket=${server.socket}`, '--user=root', '--to-last-log', first];
  log(`(a2) ${name} ${remoteArgs.slice(0, -1).join(' ')} ${first} > /dev/null ...`);
  const remote = await run(tool!, [...toolArgs, ...remoteArgs], { stdoutToNull: true, sampleRss: true });
  if (remote.code !== 0) throw new Error(`${name} -R exited with ${remote.code}: ${remote.stderr.slice(-2000)}`);
  const remoteMeasure: Measure = { ...measure(figures.total, remote.seconds), peakRssMiB: remote.peakRssMiB ?? 0 };
  log(`  ${remote.seconds.toFixed(2)} s, ${fmt(remoteMeasure.rowsPerSecond)} rows/s`);
  return remoteMeasure;
}

// ---- (b) decoding only -------------------------------------------------------------------------------

// Node writes one profile per thread (tsx's module hooks run in a thread of their own), so each
// measure gets a folder and the busiest profile in it is the one summarized.
export function nodeArgs(profileName: string): string[] {
  if (!CPU_PROF) return [];
  const dir = join(PROFILE_DIR, profileName);
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

export function profileSummary(profileName: string): ProfileSummary | undefined {
  const best = CPU_PROF ? busiestProfile(join(PROFILE_DIR, profileName)) : undefined;
  if (!best) return undefined;
  console.log(formatProfile(best.summary, `CPU profile ${best.file}`));
  return best.summary;
}

export async function decodeOnly(source: BenchSource, figures: LoadFigures, profileName: string): Promise<{ measure: Measure; output: DecodeWorkerOutput; peakRssMiB: number; profile?: ProfileSummary }> {
  const { server } = source;
  const input: DecodeWorkerInput = {
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    serverId: 200_000 + Math.floor(Math.random() * 100_000),
    startGtid: figures.gtid.start,
    endGtid: figures.gtid.end,
    expectedChanges: figures.total,
    include: `${BENCH_DATABASE}.*`,
    maxQueuedItems: 10_000,
  };
  log(`(b${source.flavor.kind === 'mariadb' ? '' : `, ${source.flavor.label}`}) sluice BinlogSource from GTID ${input.startGtid}, counting change items ...`);
  const child = track(
    // From the tsc build, as the daemon runs, unless BENCH_COMPILED=0: tsx's loader cost (b) ~5% of its profile.
    spawn(DAEMON_NODE, [...(COMPILED ? [] : ['--import', 'tsx']), ...nodeArgs(profileName), COMPILED ? join(COMPILED_DIR, 'bench/decode-worker.js') : join(REPO, 'bench/decode-worker.ts'), JSON.stringify(input)], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const sampler = new RssSampler(child.pid!);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  sampler.stop();
  if (code !== 0) throw new Error(`decode worker exited with ${code}:\n${stderr.slice(-3000)}`);
  const output = JSON.parse(stdout.trim().split('\n').at(-1)!) as DecodeWorkerOutput;
  if (output.changes !== figures.total) throw new Error(`decode worker saw ${output.changes} changes, expected ${figures.total}`);
  for (const op of ['insert', 'update', 'delete'] as const) {
    if (output.ops[op] !== figures.counts[op]) throw new Error(`decode worker saw ${output.ops[op]} ${op}s, expected ${figures.counts[op]}`);
  }
  if (!source.covers(output.lastGtid, figures.gtid.end) || !source.covers(figures.gtid.end, output.lastGtid ?? '')) throw new Error(`decode worker ended at GTID ${output.lastGtid}, expected ${figures.gtid.end}`);
  const result = measure(output.changes, output.seconds);
  log(`  ${output.seconds.toFixed(2)} s (first change after ${output.firstChangeSeconds.toFixed(2)} s), ${fmt(result.rowsPerSecond)} rows/s, peak RSS ${fmt(output.maxRssMiB, 1)} MiB, CPU ${output.cpuSeconds.toFixed(1)} s`);
  const profile = profileSummary(profileName);
  return { measure: result, output, peakRssMiB: Math.max(output.maxRssMiB, mib(sampler.peakHwmKiB)), ...(profile ? { profile } : {}) };
}

// ---- (c), (d) the daemon -------------------------------------------------------------------------

export function daemonEntry(): string {
  return COMPILED ? join(COMPILED_DIR, 'src/cli/main.js') : join(REPO, 'bin/sluice.js');
}

export async function compile(): Promise<void> {
  rmSync(COMPILED_DIR, { recursive: true, force: true });
  log(`compiling with tsc into ${COMPILED_DIR} (BENCH_COMPILED=0 runs through tsx instead) ...`);
  // tsc emits even when others' work in progress has type errors; only a missing entry point stops the run.
  const result = await run(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'tsconfig.json'), '--outDir', COMPILED_DIR, '--sourceMap', 'false']);
  if (!existsSync(daemonEntry())) throw new Error(`tsc did not produce ${daemonEntry()} (exit ${result.code}):\n${result.stdout.slice(-3000)}`);
  log(`  compiled in ${result.seconds.toFixed(1)} s${result.code === 0 ? '' : ` (tsc exit ${result.code}: type errors, emitted anyway)`}`);
}

/** Where a daemon run writes: the `sink:` section of its config, and how to read back what it committed. */
export interface SinkSetup {
  /** For the table and the logs: 'local disk, text', 'WebHDFS + HiveServer2, Parquet'. */
  description: string;
  format: 'text' | 'parquet';
  /** YAML lines under `sink:` (indented by two). */
  yaml: string;
  /** YAML lines under `routing:` after include (indented by two), e.g. a rule that renames the Hive database. */
  routingYaml?: string;
  /** The Hive database the table lands in. */
  database: string;
  /** The catalog and file system the daemon used, opened anew from the bench process, for the read-back. */
  open(workspace: string): { catalog: Catalog; fs: FileSystem; close(): Promise<void> };
  /** Server processes whose CPU time the run is charged with (HDFS, HiveServer2). */
  servers: { name: string; pid: number }[];
  /** Deletes what the run wrote outside its workspace (its HDFS warehouse), after a good read-back. */
  cleanup?(): Promise<void>;
}

export function localSink(format: 'text' | 'parquet'): SinkSetup {
  return {
    description: `local disk, ${format === 'text' ? 'text' : 'Parquet'}`,
    format,
    yaml: ['  filesystem:', '    root: ./warehouse', '  catalog:', '    dir: ./catalog', `  format: ${format}`].join('\n'),
    database: BENCH_DATABASE,
    open: (workspace) => ({ catalog: new LocalCatalog(join(workspace, 'catalog')), fs: new LocalFileSystem(join(workspace, 'warehouse')), close: async () => {} }),
    servers: [],
  };
}

export interface DaemonFigures {
  sink: string;
  measure: Measure;
  /** Spawn to the 'starting binlog capture' log line: node + tsx start, config, preflight, recovery. */
  startupSeconds: number;
  /** From that line to the checkpoint that covers the end position. */
  streamSeconds: number;
  streamRowsPerSecond: number;
  /** Spawn to the covering checkpoint's 'checkpoint committed' line: its files renamed into place and its partitions added, so Hive sees every row. */
  visibleSeconds?: number;
  /** Checkpoints up to the covering one. */
  checkpoints: number;
  checkpointId: number;
  /** The checkpoints' own time (close and upload the files, write the record, rename, add partitions), summed; the stream waits meanwhile. */
  commitSeconds: number;
  maxCommitSeconds: number;
  /** CPU time of the daemon, of the source server (mariadbd or mysqld), and of each JVM server, from spawn to the covering checkpoint. */
  cpuSeconds: { daemon: number; mariadbd?: number; mysqld?: number; servers: Record<string, number> };
  /** Largest VmRSS seen by the 100 ms sampler, and the kernel's high-water mark (VmHWM) before SIGTERM. */
  peakRssMiB: number;
  peakHwmMiB: number;
  rssSamples: number;
  exitCode: number | null;
  verify: VerifyResult;
  profile?: ProfileSummary;
}

export interface Range {
  startGtid: string;
  endGtid: string;
  expected: Expected;
}

/** Every change of the load, from the GTID before it to the one after it. */
export function wholeLoad(figures: LoadFigures): Range {
  return { startGtid: figures.gtid.start, endGtid: figures.gtid.end, expected: { counts: figures.counts, ids: figures.ids } };
}

export async function daemonRun(source: BenchSource, name: string, range: Range, sink: SinkSetup): Promise<DaemonFigures> {
  const { server, flavor } = source;
  const { startGtid, endGtid, expected } = range;
  const dir = join(WORK_DIR, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'sluice.yaml');
  writeFileSync(
    configFile,
    daemonConfigYaml({
      server,
      passwordEnv: PASSWORD_ENV,
      serverId: 300_000 + Math.floor(Math.random() * 100_000),
      start: `{ gtid: '${startGtid}' }`,
      routing: `  include: ['${BENCH_DATABASE}.*']\n${sink.routingYaml ?? ''}`,
      sink: sink.yaml,
      checkpointSeconds: CHECKPOINT_SECONDS,
      // The stream's throughput from the start GTID, not a snapshot (bench/snapshot.bench.ts).
      extra: 'snapshot:\n  mode: never\n' + (process.env.BENCH_DAEMON_YAML ? `${process.env.BENCH_DAEMON_YAML}\n` : ''),
    }),
  );
  const total = totalOf(expected.counts);
  log(`(${name}) sluice run, ${sink.description}: GTID ${startGtid} -> ${endGtid}, ${fmt(total)} changes, checkpoint every ${CHECKPOINT_SECONDS} s ...`);
  const serverPid = pidFromFile(flavor.pidFile);
  const cpuBefore = { server: cpuSeconds(serverPid) ?? 0, servers: sink.servers.map((entry) => cpuSeconds(entry.pid) ?? 0) };
  const started = performance.now();
  const child = track(
    spawn(DAEMON_NODE, [...DAEMON_NODE_ARGS, ...nodeArgs(`daemon-${name}`), daemonEntry(), 'run', '--config', configFile], {
      cwd: dir,
      env: { ...process.env, [PASSWORD_ENV]: server.password },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const sampler = new RssSampler(child.pid!);
  let startupAt: number | undefined;
  // Each 'checkpoint committed' line: its id, its duration, and when it came (after the renames and partitions).
  const committed: { id: number; durationMs: number; at: number }[] = [];
  const onLine = (line: string): void => {
    if (line.includes('"starting binlog capture"')) startupAt ??= performance.now();
    if (line.includes('"checkpoint committed"')) {
      committed.push({ id: Number(/"checkpoint":(\d+)/.exec(line)?.[1] ?? 0), durationMs: Number(/"durationMs":(\d+)/.exec(line)?.[1] ?? 0), at: performance.now() });
    }
  };
  const output = followOutput(child, onLine, 200_000);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve((exitCode = code))));

  const store = new CheckpointStore(join(dir, 'state'));
  let reachedAt: number;
  let checkpointId: number;
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    const stored = await store.latest().catch(() => undefined);
    const record = stored && binlogHiveRecord(stored);
    if (record && source.covers(record.source.position.gtidSet, endGtid)) {
      reachedAt = performance.now();
      checkpointId = record.id;
      break;
    }
    if (exitCode !== undefined) throw new Error(`daemon exited with ${exitCode} before reaching ${endGtid}:\n${output().slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`no checkpoint reached ${endGtid} (newest ${JSON.stringify(record?.source.position)}):\n${output().slice(-3000)}`);
    await sleep(25);
  }
  sampler.stop();
  const cpu: DaemonFigures['cpuSeconds'] = {
    daemon: Math.round(sampler.cpuSeconds * 100) / 100,
    servers: Object.fromEntries(sink.servers.map((entry, index) => [entry.name, Math.round(((cpuSeconds(entry.pid) ?? 0) - cpuBefore.servers[index]!) * 100) / 100])),
  };
  // Named by the process (mariadbd, mysqld), so a result file's figures say which server they are.
  cpu[flavor.processName] = Math.round(((cpuSeconds(serverPid) ?? 0) - cpuBefore.server) * 100) / 100;
  // The record counts from the moment it is written (reachedAt); its renames and partitions follow.
  // Wait for them too (its log line), so the time until Hive sees the rows is known.
  const visibleDeadline = Date.now() + 60_000;
  while (!committed.some((entry) => entry.id >= checkpointId) && exitCode === undefined && Date.now() < visibleDeadline) await sleep(10);
  const visibleAt = committed.find((entry) => entry.id >= checkpointId)?.at;
  child.kill('SIGTERM');
  const killTimer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await exited;
  clearTimeout(killTimer);
  // Up to the covering checkpoint: the one SIGTERM makes on the way out is not part of the run.
  const counted = committed.filter((entry) => entry.id <= checkpointId);
  const checkpoints = counted.length;
  const commitMs = counted.reduce((sum, entry) => sum + entry.durationMs, 0);
  const maxCommitMs = Math.max(0, ...counted.map((entry) => entry.durationMs));

  const seconds = (reachedAt - started) / 1000;
  const startupSeconds = ((startupAt ?? started) - started) / 1000;
  const streamSeconds = seconds - startupSeconds;
  const result = measure(total, seconds);
  const visibleSeconds = visibleAt === undefined ? undefined : Math.round(visibleAt - started) / 1000;
  log(
    `  checkpoint ${checkpointId} covers ${endGtid} after ${seconds.toFixed(2)} s (committed, renames and partitions done: ${visibleSeconds?.toFixed(2) ?? '?'} s; startup ${startupSeconds.toFixed(2)} s, ` +
      `${checkpoints} checkpoints taking ${(commitMs / 1000).toFixed(2)} s), ${fmt(result.rowsPerSecond)} rows/s; ` +
      `peak RSS ${fmt(mib(sampler.peakRssKiB), 1)} MiB (VmHWM ${fmt(mib(sampler.peakHwmKiB), 1)} MiB); ` +
      `CPU: daemon ${cpu.daemon.toFixed(1)} s, ${flavor.processName} ${(cpu[flavor.processName] ?? 0).toFixed(1)} s${Object.entries(cpu.servers).map(([what, value]) => `, ${what} ${value.toFixed(1)} s`).join('')}; exit ${exitCode}`,
  );
  log(`  reading the committed rows back (${sink.description}) and checking them ...`);
  const storage = sink.open(dir);
  let verify: VerifyResult;
  try {
    verify = await verifyCommitted({ catalog: storage.catalog, fs: storage.fs, database: sink.database, table: BENCH_TABLE, expected });
  } finally {
    await storage.close();
  }
  log(
    `  ${verify.ok ? 'OK' : 'WRONG'}: ${fmt(verify.rows)} rows in ${verify.files} ${verify.format} files (${fmt(verify.bytes / 1048576, 1)} MiB), ` +
      `${fmt(verify.counts.insert)}/${fmt(verify.counts.update)}/${fmt(verify.counts.delete)} insert/update/delete, ids ${verify.checksumOk ? 'match' : 'DIFFER'}; ` +
      `checked in ${verify.seconds.toFixed(1)} s (${verify.readSeconds.toFixed(1)} s of it fetching the files)` +
      (verify.ok ? '' : `\n    ${verify.problemCount} problems, first: \n    ${verify.problems.join('\n    ')}`),
  );
  const profile = profileSummary(`daemon-${name}`);
  if (!KEEP && verify.ok) {
    await sink.cleanup?.();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    sink: sink.description,
    measure: result,
    startupSeconds: Math.round(startupSeconds * 1000) / 1000,
    streamSeconds: Math.round(streamSeconds * 1000) / 1000,
    streamRowsPerSecond: Math.round(total / streamSeconds),
    ...(visibleSeconds !== undefined ? { visibleSeconds } : {}),
    checkpoints,
    checkpointId,
    commitSeconds: Math.round(commitMs) / 1000,
    maxCommitSeconds: maxCommitMs / 1000,
    cpuSeconds: cpu,
    peakRssMiB: mib(sampler.peakRssKiB),
    peakHwmMiB: mib(sampler.peakHwmKiB),
    rssSamples: sampler.samples,
    exitCode: exitCode ?? null,
    verify,
    ...(profile ? { profile } : {}),
  };
}
