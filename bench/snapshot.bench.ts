// `npm run bench:snapshot` (and the last part of `npm run bench`): how fast the daemon's snapshot
// (docs/snapshot.md) reads a table that already holds rows, beside the server's own dumps of the
// same table, in the same run:
//   (a) SELECT ... INTO OUTFILE   the server writes the file itself: the reference (no client process)
//   (b) mariadb-dump --quick      the client tool, rows streamed to a file
//   (c) sluice daemon, snapshot.mode: initial_only, to committed local text files (it stops by itself)
//   (d) the same in Parquet
// Each with rows/s, the ratio to (a), the client's peak RSS (VmHWM; for (a) the server does the work,
// so mariadbd's is shown beside each run instead), and for (c) and (d) a read-back of the committed
// Hive table: exactly N rows, all `read`, every id 1..N once, and the sum of the ids.
// A private MariaDB in .sluice/bench-snapshot-mariadb, wiped first. Environment:
//   BENCH_SNAPSHOT_ROWS     rows in the table (default 2000000)
//   BENCH_SNAPSHOT_PARQUET  0 skips (d)
//   BENCH_KEEP=1            keeps the files of the runs in .sluice/bench-snapshot
//   BENCH_CPU_PROF=1        profiles the daemon (node --cpu-prof) and prints where its time goes
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { snapshotSettings } from '../src/config/schema.ts';
import { daemonConfigYaml, LOCAL_STORAGE_YAML } from '../test/helpers/daemon-config.ts';
import { serverFolder, startMariaDb } from '../test/servers/mariadb.ts';
import { busiestProfile, formatProfile } from './cpu-profile.ts';
import { followOutput } from './bench-process.ts';
import { mib, pidFromFile, RssSampler } from './proc-stats.ts';
import { checkEveryIdOnce } from './verify.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const ROWS = Number(process.env.BENCH_SNAPSHOT_ROWS ?? 2_000_000);
const PARQUET = process.env.BENCH_SNAPSHOT_PARQUET !== '0';
const KEEP = process.env.BENCH_KEEP === '1';
const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
const SLUICE_DIR = join(REPO, '.sluice');
const WORK = join(SLUICE_DIR, 'bench-snapshot');
const RESULT_FILE = join(SLUICE_DIR, 'bench-result.json');
const DATABASE = 'bench_snap';
const TABLE = 'orders';
const PASSWORD_ENV = 'SLUICE_BENCH_PASSWORD';
const say = (line: string): void => void process.stdout.write(line + '\n');
const fmt = (value: number, digits = 0): string => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
// The defaults a config without a `snapshot.chunkRows`/`chunkBytes` gets, read from the schema itself.
const SNAPSHOT_DEFAULTS = snapshotSettings.parse({});

interface Figure {
  what: string;
  seconds: number;
  /** The client process's peak RSS; undefined for (a), which has none. */
  clientRssMiB?: number;
  /** mariadbd's peak VmRSS over the run (the server reads the rows for every run). */
  serverRssMiB: number;
  /** Spawn to the daemon's first 'snapshot: reading table' line (node + tsx, config, preflight). */
  startupSeconds?: number;
  /** The most items the daemon's source queue held at a checkpoint (its 'checkpoint committed' lines). */
  maxQueued?: number;
  check: string;
  ok: boolean;
}

const started = performance.now();
const loadBefore = loadavg();
rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });
const mariaDir = join(SLUICE_DIR, 'bench-snapshot-mariadb');
await (await startMariaDb({ dir: mariaDir }).catch(() => undefined))?.stop();
rmSync(mariaDir, { recursive: true, force: true });
const mariadb = await startMariaDb({ dir: mariaDir });
const serverPid = pidFromFile(serverFolder(mariaDir, 'mariadb').pidFile);
const root = await mariadb.rootConnection();
const figures: Figure[] = [];
let tableMiB = '?';
try {
  await root.query(`CREATE DATABASE ${DATABASE}`);
  await root.query(`CREATE TABLE ${DATABASE}.${TABLE} (
      id BIGINT NOT NULL PRIMARY KEY,
      customer VARCHAR(80) CHARACTER SET utf8mb4 NOT NULL,
      amount DECIMAL(18,4),
      placed DATETIME(6) NOT NULL,
      note TEXT CHARACTER SET utf8mb4
    ) ENGINE=InnoDB`);
  // Rows before the daemon starts are what a snapshot is for: keep them out of the binlog (faster,
  // and the daemon starts at the binlog's end anyway).
  await root.query('SET SESSION sql_log_bin = 0');
  let fillStarted = performance.now();
  for (let first = 1; first <= ROWS; first += 200_000) {
    const last = Math.min(first + 199_999, ROWS);
    await root.query(`INSERT INTO ${DATABASE}.${TABLE} SELECT
        seq,
        CONCAT('customer-', seq MOD 50000, IF(seq MOD 9 = 0, ' Müller', '')),
        IF(seq MOD 11 = 0, NULL, (seq * 7919 MOD 100000000) / 100),
        TIMESTAMP('2026-01-01 00:00:00') + INTERVAL seq SECOND + INTERVAL (seq * 37 MOD 1000000) MICROSECOND,
        IF(seq MOD 5 = 0, NULL, REPEAT(CONCAT('note ', seq, '; '), 1 + seq MOD 8))
      FROM ${DATABASE}.seq_${first}_to_${last}`);
  }
  const fillSeconds = (performance.now() - fillStarted) / 1000;
  await root.query(`ANALYZE TABLE ${DATABASE}.${TABLE}`);
  const [[size]] = (await root.query(
    `SELECT ROUND((DATA_LENGTH + INDEX_LENGTH) / 1048576) AS mib FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${DATABASE}' AND TABLE_NAME = '${TABLE}'`,
  )) as unknown as [[{ mib: string }]];
  tableMiB = size.mib;
  say(`${DATABASE}.${TABLE}: ${fmt(ROWS)} rows, ${tableMiB} MiB in InnoDB, filled in ${fillSeconds.toFixed(1)} s; ${cpus().length} cores; load average ${loadBefore.map((value) => value.toFixed(2)).join(' ')}`);
  // Warm the buffer pool the same for everyone: one full scan before the first measure.
  await root.query(`SELECT COUNT(*), SUM(LENGTH(note)) FROM ${DATABASE}.${TABLE}`);

  // (a) the server writes the file on its own.
  const outfileDir = join(WORK, 'outfile');
  mkdirSync(outfileDir, { recursive: true });
  chmodSync(outfileDir, 0o777);
  let server = serverSampler();
  fillStarted = performance.now();
  const [outfile] = (await root.query(`SELECT * INTO OUTFILE '${join(outfileDir, 'orders.txt')}' FROM ${DATABASE}.${TABLE}`)) as unknown as [{ affectedRows: number }];
  figures.push({
    what: '(a) SELECT ... INTO OUTFILE (in the server)',
    seconds: (performance.now() - fillStarted) / 1000,
    serverRssMiB: server.stop(),
    check: `${fmt(outfile.affectedRows)} rows`,
    ok: outfile.affectedRows === ROWS,
  });

  // (b) the client tool, streaming (--quick) in one consistent read (--single-transaction).
  const dumpFile = join(WORK, 'dump.sql');
  server = serverSampler();
  const dump = await runSampled('mariadb-dump', [`--socket=${mariadb.socket}`, '--user=root', '--quick', '--single-transaction', `--result-file=${dumpFile}`, DATABASE, TABLE], WORK);
  if (dump.code !== 0) throw new Error(`mariadb-dump exited with ${dump.code}: ${dump.output.slice(-2000)}`);
  figures.push({
    what: '(b) mariadb-dump --quick, to a file',
    seconds: dump.seconds,
    clientRssMiB: dump.peakRssMiB,
    serverRssMiB: server.stop(),
    check: `${fmt(statSync(dumpFile).size / 1048576, 1)} MiB of INSERTs`,
    ok: true,
  });

  // (c) and (d) the daemon's snapshot.
  for (const format of PARQUET ? (['text', 'parquet'] as const) : (['text'] as const)) {
    server = serverSampler();
    const run = await snapshotRun(format);
    figures.push({ ...run, serverRssMiB: server.stop() });
  }
} finally {
  await root.end();
  await mariadb.stop();
  if (!KEEP) rmSync(WORK, { recursive: true, force: true });
}

const reference = figures[0]!;
const rate = (figure: Figure): number => ROWS / figure.seconds;
const rss = (value: number | undefined): string => (value === undefined ? 'none (server)' : `${fmt(value, 1)} MiB`);
say('');
say(
  `${'measure'.padEnd(48)} ${'rows'.padStart(10)} ${'seconds'.padStart(8)} ${'rows/s'.padStart(10)} ${'vs (a)'.padStart(7)} ${'client peak RSS'.padStart(15)} ${'mariadbd RSS'.padStart(13)}  check`,
);
say('-'.repeat(150));
for (const figure of figures) {
  say(
    `${figure.what.padEnd(48)} ${fmt(ROWS).padStart(10)} ${figure.seconds.toFixed(2).padStart(8)} ${fmt(rate(figure)).padStart(10)} ` +
      `${(rate(figure) / rate(reference)).toFixed(3).padStart(7)} ${rss(figure.clientRssMiB).padStart(15)} ${`${fmt(figure.serverRssMiB, 1)} MiB`.padStart(13)}  ` +
      `${figure.ok ? '' : 'WRONG: '}${figure.check}`,
  );
  if (figure.startupSeconds !== undefined) {
    const without = figure.seconds - figure.startupSeconds;
    say(
      `${'    without process startup'.padEnd(48)} ${fmt(ROWS).padStart(10)} ${without.toFixed(2).padStart(8)} ${fmt(ROWS / without).padStart(10)} ${(ROWS / without / rate(reference)).toFixed(3).padStart(7)}` +
        `${' '.repeat(31)}  at most ${fmt(figure.maxQueued ?? 0)} items queued at a checkpoint`,
    );
  }
}
const loadAfter = loadavg();
const benchSeconds = Math.round((performance.now() - started) / 1000);
say('');
say(
  `table: ${tableMiB} MiB in InnoDB (BIGINT key, VARCHAR, DECIMAL(18,4), DATETIME(6), TEXT); snapshot chunks: chunkRows ${fmt(SNAPSHOT_DEFAULTS.chunkRows)}, ` +
    `chunkBytes ${fmt(SNAPSHOT_DEFAULTS.chunkBytes / 1048576)} MiB (the defaults; the first chunk is ${fmt(Math.min(1024, SNAPSHOT_DEFAULTS.chunkRows))} rows, doubling up to those)`,
);
say('rows/s: spawn -> exit for (b)-(d) (the daemon stops by itself after its final checkpoint); client peak RSS: VmHWM of the process, 100 ms samples');
say(`load average ${loadBefore.map((value) => value.toFixed(2)).join(' ')} before, ${loadAfter.map((value) => value.toFixed(2)).join(' ')} after; ${benchSeconds} s in all`);

// The binlog benchmark writes this file anew; the snapshot's figures go under "snapshot" beside its.
let result: Record<string, unknown> = {};
try {
  if (existsSync(RESULT_FILE)) result = JSON.parse(readFileSync(RESULT_FILE, 'utf8')) as Record<string, unknown>;
} catch {
  result = {};
}
result.snapshot = {
  at: new Date().toISOString(),
  machine: { cpus: cpus().length, loadAverageBefore: loadBefore, loadAverageAfter: loadAfter, node: process.version },
  rows: ROWS,
  tableMiB: Number(tableMiB),
  chunkRows: SNAPSHOT_DEFAULTS.chunkRows,
  chunkBytes: SNAPSHOT_DEFAULTS.chunkBytes,
  runs: figures.map((figure) => ({ ...figure, rowsPerSecond: Math.round(rate(figure)), vsReference: Math.round((rate(figure) / rate(reference)) * 1000) / 1000 })),
  correct: figures.every((figure) => figure.ok),
  benchSeconds,
};
writeFileSync(RESULT_FILE, JSON.stringify(result, null, 2) + '\n');
say(`figures written to ${RESULT_FILE} (under "snapshot")`);
if (!figures.every((figure) => figure.ok)) process.exitCode = 1;

/** mariadbd's VmRSS over a run; stop() gives its largest sample in MiB. */
function serverSampler(): { stop(): number } {
  if (serverPid === undefined) return { stop: () => 0 };
  const sampler = new RssSampler(serverPid);
  return {
    stop: () => {
      sampler.stop();
      return mib(sampler.peakRssKiB);
    },
  };
}

/** Runs a process to its end, its peak RSS sampled; `onLine` sees its output line by line. */
async function runSampled(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
  onLine: (line: string) => void = () => {},
): Promise<{ code: number | null; seconds: number; peakRssMiB: number; output: string }> {
  const runStarted = performance.now();
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const sampler = new RssSampler(child.pid!);
  const output = followOutput(child, onLine, 100_000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  sampler.stop();
  return { code, seconds: (performance.now() - runStarted) / 1000, peakRssMiB: sampler.peakMiB, output: output() };
}

/** The daemon with snapshot.mode: initial_only on a fresh workspace, then its Hive table read back. */
async function snapshotRun(format: 'text' | 'parquet'): Promise<Omit<Figure, 'serverRssMiB'>> {
  const dir = join(WORK, `daemon-${format}`);
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'sluice.yaml');
  writeFileSync(
    configFile,
    daemonConfigYaml({
      server: mariadb,
      passwordEnv: PASSWORD_ENV,
      serverId: 400_000 + Math.floor(Math.random() * 100_000),
      start: 'latest',
      routing: `  include: ['${DATABASE}.*']`,
      sink: `${LOCAL_STORAGE_YAML}\n  format: ${format}`,
      checkpointSeconds: 10,
      extra: 'snapshot:\n  mode: initial_only\n',
    }),
  );
  say(`(${format === 'text' ? 'c' : 'd'}) sluice daemon, snapshot.mode: initial_only, ${format} ...`);
  const runStarted = performance.now();
  let readingAt: number | undefined;
  let maxQueued = 0;
  const profileDir = join(dir, 'profile');
  const profileArgs = CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const daemon = await runSampled(process.execPath, [...profileArgs, join(REPO, 'bin/sluice.js'), 'run', '--config', configFile], dir, { ...process.env, [PASSWORD_ENV]: mariadb.password }, (line) => {
    if (line.includes('snapshot: reading table')) readingAt ??= performance.now();
    if (line.includes('"checkpoint committed"')) maxQueued = Math.max(maxQueued, Number(/"queued":(\d+)/.exec(line)?.[1] ?? 0));
  });
  if (daemon.code !== 0) throw new Error(`the daemon (${format}) exited with ${daemon.code}:\n${daemon.output.slice(-3000)}`);
  const check = await checkSnapshot(dir);
  const profile = CPU_PROF ? busiestProfile(profileDir) : undefined;
  if (profile) say(formatProfile(profile.summary, `CPU profile of the daemon (${format})`));
  say(`    ${daemon.seconds.toFixed(2)} s, peak RSS ${fmt(daemon.peakRssMiB, 1)} MiB, at most ${fmt(maxQueued)} items queued at a checkpoint; read back: ${check.text}`);
  return {
    what: `(${format === 'text' ? 'c' : 'd'}) sluice snapshot, initial_only, ${format === 'text' ? 'text' : 'Parquet'}`,
    seconds: daemon.seconds,
    clientRssMiB: daemon.peakRssMiB,
    ...(readingAt !== undefined ? { startupSeconds: (readingAt - runStarted) / 1000 } : {}),
    maxQueued,
    check: check.text,
    ok: check.ok,
  };
}

/** The committed Hive table holds every id 1..N exactly once, each as a `read` row, and nothing else. */
function checkSnapshot(dir: string): Promise<{ ok: boolean; text: string }> {
  return checkEveryIdOnce({ catalog: new LocalCatalog(join(dir, 'catalog')), fs: new LocalFileSystem(join(dir, 'warehouse')), database: DATABASE, table: TABLE, rows: ROWS, op: 'read' });
}
