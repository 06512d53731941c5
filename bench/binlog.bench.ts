// `npm run bench`: how fast sluice turns a MariaDB binlog, and then a MySQL 9.7 binlog, into committed
// Hive files, against each server's own decoder (mariadb-binlog, mysqlbinlog) on the same binlog, and
// how much memory one huge transaction costs.
//
// One run: a private MariaDB (.sluice/bench-mariadb, wiped first) is filled with BENCH_ROWS row changes
// in transactions of 1000 (default 500,000) and then ONE transaction of BENCH_ROWS inserts (default
// 1,000,000), and the same binlog is read by
//   (a)  mariadb-binlog --base64-output=decode-rows -v on the binlog files (the reference),
//   (a2) the same over the replication protocol (-R), as sluice reads it (extra, for context),
//   (b)  sluice's BinlogSource alone (bench/decode-worker.ts, its own process), items counted and dropped,
//   (c)  the daemon (`bin/sluice.js run`, a child process) from before the load until a checkpoint
//        covers the end of the load; every committed row is then checked against the workload,
//   (d)  the daemon over the large transaction alone, for its peak RSS,
// and then the daemon as in (c), same start and end, on other storage (BENCH_VARIANTS=0 skips them):
//   (e)  local disk, Parquet (sink.format: parquet),
//   (f)  HDFS through WebHDFS with the local catalog, text: a private HDFS (.sluice/bench-hdfs, one
//        JVM with NameNode and DataNode on these same cores), started after (d) and stopped at the end,
//   (g)  HDFS through WebHDFS with HiveServer2 as the catalog, Parquet: a private HiveServer2
//        (.sluice/bench-hive, embedded Derby metastore, warehouse on that HDFS) started after (f).
// Each is read back the way it was written (over WebHDFS from HDFS; Parquet by DuckDB) and checked
// like (c): every row's values, every _seq once, and a checksum of the ids of each kind of change.
// Then the MariaDB is stopped, and a private Oracle MySQL 9.7 (.sluice/bench-mysql, wiped first; the
// binaries from Debian sid under .sluice/mysql-9.7, fetched on first use by test/servers/mysql-fetch.ts)
// gets the same workload with the same binlog settings, and (a) (a2) (b) (c) (d) run again on it, with
// MySQL's own mysqlbinlog -v (from the same sid packages, on the same private loader) as the reference.
// Figures go to stdout (MariaDB's table, MySQL's, and both side by side) and to .sluice/bench-result.json
// (MariaDB's at the top level as before, MySQL's under "mysql").
//
// Environment:
//   BENCH_SERVERS           which servers, in this order: 'mariadb,mysql' (default), 'mariadb' or 'mysql'
//   BENCH_ROWS              scale: both parts get this many rows (BENCH_SMALL_ROWS, BENCH_LARGE_ROWS set one each)
//   BENCH_REPEAT            run each measure this many times; the table shows the median run (by rows/s) and
//                           the largest peak RSS seen, against the noise of a shared machine (default 1)
//   BENCH_CHECKPOINT_SECONDS  the daemon's checkpoint interval (default 2)
//   BENCH_CPU_PROF=1        profile (b), (c), (d) with --cpu-prof into .sluice/bench-prof and print the
//                           hotspots (timings are then inflated)
//   BENCH_REFERENCE_COUNT=0 skip the untimed pass that counts the rows mariadb-binlog printed
//   BENCH_COMPILED=0        run the daemon and (b) through tsx (bin/sluice.js without dist/) instead of compiling
//                           with tsc into .sluice/bench-dist and running it from there, as production does
//                           (the default: tsx's loader costs start-up time and ~3% of the daemon's CPU)
//   BENCH_DAEMON_NODE_ARGS  extra node flags for the daemon, e.g. '--max-old-space-size=96'
//   BENCH_NODE              the node binary for (b) and the daemon (default: the one running the benchmark),
//                           e.g. .sluice/node-24/bin/node (test/servers/node-fetch.ts), the Docker image's major
//   BENCH_DAEMON_YAML       YAML appended to the daemon's config (c)-(g), e.g. 'runtime:\n  maxQueuedEvents: 10000'
//   BENCH_VARIANTS=0        skip (e), (f) and (g) (they run on MariaDB only); BENCH_VARIANTS=e runs (e) alone (no JVMs)
//   BENCH_HIVE=0            skip (g) only. On by default: HiveServer2 starts in ~5 s here, and it and
//                           (g) with its read-back add 45-60 s at full size to the MariaDB part of ~3-3.5 min;
//                           the MySQL part adds ~2-3 min
//   BENCH_KEEP=1            keep the servers and the daemon workspaces afterwards
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Catalog } from '../src/catalog/catalog.ts';
import { HiveServer2Catalog } from '../src/catalog/hive-server2-catalog.ts';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { WebHdfsFileSystem } from '../src/filesystem/webhdfs-filesystem.ts';
import { startHdfs, startHiveServer2, type HdfsServer, type HiveServer2 } from '../test/servers/jvm.ts';
import { children, fmt, log, table } from './bench-process.ts';
import { load, type LoadFigures } from './binlog-load.ts';
import { compile, daemonRun, decodeOnly, localSink, reference, wholeLoad, type DaemonFigures, type Range, type SinkSetup } from './binlog-measures.ts';
import { CHECKPOINT_SECONDS, COMPILED, CPU_PROF, DAEMON_NODE_ARGS, DAEMON_NODE_VERSION, KEEP, LARGE_ROWS, PROFILE_DIR, REFERENCE_COUNT, SLUICE_DIR, SMALL_ROWS, WORK_DIR } from './binlog-settings.ts';
import { mib, pidFromFile } from './proc-stats.ts';
import { sourceFlavor, sourceKindsSetting, startFresh, stopLeftover, type SourceFlavor } from './source-servers.ts';
import { BENCH_DATABASE, BENCH_TABLE, subtractChecksum } from './workload.ts';

const HDFS_DIR = join(SLUICE_DIR, 'bench-hdfs');
const HIVE_DIR = join(SLUICE_DIR, 'bench-hive');
const RESULT_FILE = join(SLUICE_DIR, 'bench-result.json');
const REPEAT = Number(process.env.BENCH_REPEAT ?? 1);
if (!Number.isInteger(REPEAT) || REPEAT < 1) throw new Error(`BENCH_REPEAT must be a positive integer, not ${process.env.BENCH_REPEAT}`);
const SOURCES = sourceKindsSetting(process.env.BENCH_SERVERS).map((kind) => sourceFlavor(kind, SLUICE_DIR));
const VARIANTS = process.env.BENCH_VARIANTS !== '0' && SOURCES.some((flavor) => flavor.kind === 'mariadb');
/** Parquet on local disk only: no HDFS, no HiveServer2. */
const LOCAL_VARIANT_ONLY = process.env.BENCH_VARIANTS === 'e';
const HIVE = VARIANTS && !LOCAL_VARIANT_ONLY && process.env.BENCH_HIVE !== '0';
/** Tells this run's HDFS paths and Hive databases from those of a run that crashed with its servers up. */
const RUN_ID = Date.now().toString(36);
const RSS_LIMIT_MIB = 256;

const silentLogger = pino({ level: 'silent' });

function webHdfsOf(hdfs: HdfsServer): WebHdfsFileSystem {
  return new WebHdfsFileSystem({ namenodes: [new URL(hdfs.webhdfsUrl).origin], logger: silentLogger, spoolDir: join(WORK_DIR, 'verify-spool') });
}

/** On the private HDFS, under /sluice-bench/<run>/<name>; with `hive`, HiveServer2 is the catalog and the database is bench_<run>_<name>. */
function hdfsSink(name: string, format: 'text' | 'parquet', hdfs: HdfsServer, hive?: HiveServer2): SinkSetup {
  const warehouse = `/sluice-bench/${RUN_ID}/${name}`;
  const database = hive ? `bench_${RUN_ID}_${name}`.replace(/[^a-z0-9_]/gi, '_').toLowerCase() : BENCH_DATABASE;
  const catalogYaml = hive
    ? ['  catalog:', '    kind: hiveserver2', `    host: ${hive.host}`, `    port: ${hive.port}`, `    authentication: ${hive.authentication}`, `    fsDefaultFS: ${hdfs.fsDefaultFS}`]
    : ['  catalog:', '    dir: ./catalog'];
  return {
    description: `WebHDFS + ${hive ? 'HiveServer2' : 'local catalog'}, ${format === 'text' ? 'text' : 'Parquet'}`,
    format,
    yaml: [
      '  filesystem:',
      '    kind: webhdfs',
      `    namenodes: ['${new URL(hdfs.webhdfsUrl).origin}']`,
      `    warehouse: ${warehouse}`,
      '    spoolDir: ./spool',
      ...catalogYaml,
      `  format: ${format}`,
    ].join('\n'),
    ...(hive ? { routingYaml: `  rules:\n    - { match: '^${BENCH_DATABASE}\\.${BENCH_TABLE}$', target: '${database}.${BENCH_TABLE}' }` } : {}),
    database,
    open: (workspace) => {
      const fs = webHdfsOf(hdfs);
      const catalog: Catalog = hive
        ? new HiveServer2Catalog({ host: hive.host, port: hive.port, authentication: hive.authentication, fsDefaultFS: hdfs.fsDefaultFS })
        : new LocalCatalog(join(workspace, 'catalog'));
      return { catalog, fs, close: async () => (await catalog.close(), fs.close()) };
    },
    servers: [{ name: 'HDFS', pid: hdfs.pid }, ...(hive ? [{ name: 'HiveServer2', pid: hive.pid }] : [])],
    cleanup: async () => {
      const fs = webHdfsOf(hdfs);
      try {
        await fs.delete(warehouse, true);
      } finally {
        fs.close();
      }
    },
  };
}

// ---- the JVM servers for (f) and (g) --------------------------------------------------------------

/**
 * A fresh folder for a server, unless a crashed run left that server running: then its start function
 * stops it (by the pid file) and reuses the folder, and this run's own HDFS paths and Hive databases
 * (RUN_ID) keep the leftovers out of the figures.
 */
function wipeUnlessRunning(dir: string, name: string): void {
  const pid = pidFromFile(join(dir, `${name}.pid`));
  if (pid !== undefined) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) return;
    } catch {
      /* not running */
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

const servers: { hdfs?: HdfsServer; hive?: HiveServer2; startSeconds: Record<string, number> } = { startSeconds: {} };

async function ensureHdfs(): Promise<HdfsServer> {
  if (servers.hdfs) return servers.hdfs;
  wipeUnlessRunning(HDFS_DIR, 'hdfs');
  log(`starting a private HDFS (NameNode + DataNode, one JVM) in ${HDFS_DIR} ...`);
  const started = performance.now();
  servers.hdfs = await startHdfs({ dir: HDFS_DIR });
  servers.startSeconds.hdfs = Math.round(performance.now() - started) / 1000;
  log(`  up in ${servers.startSeconds.hdfs.toFixed(1)} s: WebHDFS ${servers.hdfs.webhdfsUrl}, ${servers.hdfs.fsDefaultFS}`);
  return servers.hdfs;
}

async function ensureHive(hdfs: HdfsServer): Promise<HiveServer2> {
  if (servers.hive) return servers.hive;
  wipeUnlessRunning(HIVE_DIR, 'hiveserver2');
  log(`starting a private HiveServer2 (embedded Derby metastore, warehouse on that HDFS) in ${HIVE_DIR} ...`);
  const started = performance.now();
  servers.hive = await startHiveServer2({ dir: HIVE_DIR, hdfs });
  servers.startSeconds.hive = Math.round(performance.now() - started) / 1000;
  log(`  up in ${servers.startSeconds.hive.toFixed(1)} s on port ${servers.hive.port} (${servers.hive.authentication})`);
  return servers.hive;
}

async function stopServers(): Promise<void> {
  const { hive, hdfs } = servers;
  servers.hive = undefined;
  servers.hdfs = undefined;
  if (hive) await hive.stop().catch(() => undefined);
  if (hdfs) await hdfs.stop().catch(() => undefined);
  if (!KEEP) {
    if (hive) rmSync(HIVE_DIR, { recursive: true, force: true });
    if (hdfs) rmSync(HDFS_DIR, { recursive: true, force: true });
  }
}

// ---- report -------------------------------------------------------------------------------------
/** The median run by rows/s (the lower middle one for an even count). */
function median<T>(runs: T[], rate: (run: T) => number): T {
  return [...runs].sort((x, y) => rate(x) - rate(y))[Math.floor((runs.length - 1) / 2)]!;
}

/** Every run of one source server's measures, one entry per round. */
interface SourceRuns {
  flavor: SourceFlavor;
  figures: LoadFigures;
  refs: Awaited<ReturnType<typeof reference>>[];
  decodes: Awaited<ReturnType<typeof decodeOnly>>[];
  fulls: DaemonFigures[];
  larges: DaemonFigures[];
  variantRuns: Record<'e' | 'f' | 'g', DaemonFigures[]>;
  /** The JVMs' RSS at the end of the variants (MariaDB only). */
  jvmRss?: { hdfsMiB?: number; hiveMiB?: number };
}

/** Starts a fresh private server of this kind, loads the workload, and runs every measure on it BENCH_REPEAT times. */
async function benchSource(flavor: SourceFlavor): Promise<SourceRuns> {
  // A fresh server every run.
  const source = await startFresh(flavor, log);
  try {
    const figures = await load(source);
    log(`  ${flavor.label} is ${figures.serverVersion}`);
    const all = wholeLoad(figures);
    const largeOnly: Range = {
      startGtid: figures.gtid.beforeLarge,
      endGtid: figures.gtid.end,
      expected: { counts: { insert: figures.largeRows, update: 0, delete: 0 }, ids: subtractChecksum(figures.ids, figures.smallIds) },
    };
    const runs: SourceRuns = { flavor, figures, refs: [], decodes: [], fulls: [], larges: [], variantRuns: { e: [], f: [], g: [] } };
    // MariaDB's runs keep their names (c, d-2, decode); MySQL's are mysql-c, mysql-d-2, mysql-decode.
    const prefix = flavor.kind === 'mariadb' ? '' : `${flavor.kind}-`;
    // The variants run over everything, as (c): the daemon has no stop position, so a run over the small
    // transactions alone would read on into the large one before a checkpoint covered their end.
    const variants = VARIANTS && flavor.kind === 'mariadb';
    for (let index = 0; index < REPEAT; index++) {
      const suffix = REPEAT > 1 ? `-${index + 1}` : '';
      if (REPEAT > 1) log(`---- ${flavor.label}, round ${index + 1} of ${REPEAT}`);
      runs.refs.push(await reference(source, figures, REFERENCE_COUNT && index === 0));
      runs.decodes.push(await decodeOnly(source, figures, `${prefix}decode${suffix}`));
      runs.fulls.push(await daemonRun(source, `${prefix}c${suffix}`, all, localSink('text')));
      runs.larges.push(await daemonRun(source, `${prefix}d${suffix}`, largeOnly, localSink('text')));
      if (!variants) continue;
      runs.variantRuns.e.push(await daemonRun(source, `e${suffix}`, all, localSink('parquet')));
      if (LOCAL_VARIANT_ONLY) continue;
      // The JVMs start here, after every local measure of the first round, and run until the end.
      const hdfs = await ensureHdfs();
      runs.variantRuns.f.push(await daemonRun(source, `f${suffix}`, all, hdfsSink(`f${suffix.replace('-', '')}`, 'text', hdfs)));
      if (!HIVE) continue;
      const hive = await ensureHive(hdfs);
      runs.variantRuns.g.push(await daemonRun(source, `g${suffix}`, all, hdfsSink(`g${suffix.replace('-', '')}`, 'parquet', hdfs, hive)));
    }
    if (variants) runs.jvmRss = { hdfsMiB: servers.hdfs ? mib((servers.hdfs.rss() ?? 0) / 1024) : undefined, hiveMiB: servers.hive ? mib((servers.hive.rss() ?? 0) / 1024) : undefined };
    await stopServers();
    return runs;
  } finally {
    await stopServers();
    if (!KEEP) {
      log(`stopping the private ${flavor.label}`);
      await source.server.stop();
      rmSync(flavor.dir, { recursive: true, force: true });
      // Verified workspaces are already gone; a failed one stays for inspection.
      if (existsSync(WORK_DIR)) rmSync(join(WORK_DIR, 'verify-spool'), { recursive: true, force: true });
      if (existsSync(WORK_DIR) && readdirSync(WORK_DIR).length === 0) rmSync(WORK_DIR, { recursive: true, force: true });
    }
  }
}

const peakOf = (runs: DaemonFigures[]): number => Math.max(...runs.map((run) => Math.max(run.peakRssMiB, run.peakHwmMiB)));
const spread = (values: number[]) => ({ min: Math.min(...values), max: Math.max(...values), all: values });
const runsText = (values: number[]): string => (values.length > 1 ? `${fmt(Math.min(...values))}..${fmt(Math.max(...values))}` : '');
const rss = (value: number | undefined): string => (value === undefined ? '' : fmt(value, 1));
const VARIANT_LABEL: Record<'e' | 'f' | 'g', string> = { e: '(e)  sluice daemon, local disk, Parquet', f: '(f)  sluice daemon, WebHDFS + local catalog, text', g: '(g)  sluice daemon, WebHDFS + HiveServer2, Parquet' };

/** One server's figures: the medians, the ratios to its own native decoder, its part of the result file, and its table. */
function summarize(runs: SourceRuns) {
  const { flavor, figures, refs, decodes, fulls, larges, variantRuns } = runs;
  const local = median(refs.map((ref) => ref.local), (run) => run.rowsPerSecond);
  const countedRows = refs[0]!.local.countedRows;
  const remote = median(refs.map((ref) => ref.remote), (run) => run.rowsPerSecond);
  const decode = median(decodes, (run) => run.measure.rowsPerSecond);
  const full = median(fulls, (run) => run.measure.rowsPerSecond);
  const large = median(larges, (run) => run.measure.rowsPerSecond);
  const decodePeak = Math.max(...decodes.map((run) => run.peakRssMiB));
  const fullPeak = peakOf(fulls);
  const largePeak = peakOf(larges);
  const variantKeys = (['e', 'f', 'g'] as const).filter((key) => variantRuns[key].length > 0);
  const variants = Object.fromEntries(variantKeys.map((key) => [key, median(variantRuns[key], (run) => run.measure.rowsPerSecond)])) as Partial<Record<'e' | 'f' | 'g', DaemonFigures>>;
  const everyDaemonRun = [...fulls, ...larges, ...variantRuns.e, ...variantRuns.f, ...variantRuns.g];
  const correct = everyDaemonRun.every((run) => run.verify.ok) && (countedRows === undefined || countedRows === figures.total);

  // Every ratio is to this server's own native decoder on this server's binlog.
  const a = local.rowsPerSecond;
  const ratio = (value: number): number => Math.round((value / a) * 1000) / 1000;
  const vsText = (value: number): number => Math.round((value / full.measure.rowsPerSecond) * 1000) / 1000;
  const daemonResult = (run: DaemonFigures, runsOf: DaemonFigures[]) => ({
    ...run,
    peakRssMiBAllRuns: peakOf(runsOf),
    rowsPerSecondRuns: spread(runsOf.map((entry) => entry.measure.rowsPerSecond)),
    vsA: ratio(run.measure.rowsPerSecond),
    vsLocalText: vsText(run.measure.rowsPerSecond),
  });
  const json = {
    load: figures,
    a: { tool: flavor.toolName, ...local, countedRows, rowsPerSecondRuns: spread(refs.map((ref) => ref.local.rowsPerSecond)) },
    a2: { tool: flavor.toolName, ...remote, rowsPerSecondRuns: spread(refs.map((ref) => ref.remote.rowsPerSecond)) },
    b: {
      ...decode.measure,
      firstChangeSeconds: decode.output.firstChangeSeconds,
      peakRssMiB: decodePeak,
      rowsPerSecondRuns: spread(decodes.map((run) => run.measure.rowsPerSecond)),
      ...(decode.profile ? { profile: decode.profile } : {}),
    },
    c: daemonResult(full, fulls),
    d: daemonResult(large, larges),
    ...Object.fromEntries(variantKeys.map((key) => [key, daemonResult(variants[key]!, variantRuns[key])])),
    ratios: {
      bOverA: ratio(decode.measure.rowsPerSecond),
      cOverA: ratio(full.measure.rowsPerSecond),
      dOverA: ratio(large.measure.rowsPerSecond),
      ...Object.fromEntries(variantKeys.flatMap((key) => [[`${key}OverA`, ratio(variants[key]!.measure.rowsPerSecond)], [`${key}OverC`, vsText(variants[key]!.measure.rowsPerSecond)]])),
    },
    largeTransaction: { rows: figures.largeRows, peakRssMiB: largePeak, underLimit: largePeak < RSS_LIMIT_MIB, limitMiB: RSS_LIMIT_MIB },
    correct,
  };

  // 'vs local text' compares the variants with (c); without variants the column would say 1.000 once.
  const withVsText = variantKeys.length > 0;
  // Column 5 is 'vs local text', column 7 the runs' range (with BENCH_REPEAT > 1 only).
  const columns = (row: string[]): string[] => row.filter((_, index) => (index !== 5 || withVsText) && (index !== 7 || REPEAT > 1));
  const daemonRow = (label: string, run: DaemonFigures, runsOf: DaemonFigures[], base = true): string[] => [
    label,
    fmt(run.measure.rows),
    run.measure.seconds.toFixed(2),
    fmt(run.measure.rowsPerSecond),
    ratio(run.measure.rowsPerSecond).toFixed(3),
    base ? vsText(run.measure.rowsPerSecond).toFixed(3) : '',
    rss(peakOf(runsOf)),
    runsText(runsOf.map((entry) => entry.measure.rowsPerSecond)),
  ];
  const tool = flavor.toolName;
  const rows = [
    ['measure', 'rows', 'seconds', 'rows/s', 'vs (a)', 'vs local text', 'peak RSS MiB', `rows/s, ${REPEAT} runs`],
    [`(a)  ${tool} -v, local files`, fmt(local.rows), local.seconds.toFixed(2), fmt(local.rowsPerSecond), '1.000', '', rss(local.peakRssMiB), runsText(json.a.rowsPerSecondRuns.all)],
    [`(a2) ${tool} -v -R, replication protocol`, fmt(remote.rows), remote.seconds.toFixed(2), fmt(remote.rowsPerSecond), ratio(remote.rowsPerSecond).toFixed(3), '', rss(remote.peakRssMiB), runsText(json.a2.rowsPerSecondRuns.all)],
    ['(b)  sluice BinlogSource, decode only', fmt(decode.measure.rows), decode.measure.seconds.toFixed(2), fmt(decode.measure.rowsPerSecond), json.ratios.bOverA.toFixed(3), '', rss(decodePeak), runsText(json.b.rowsPerSecondRuns.all)],
    daemonRow('(c)  sluice daemon, spawn -> committed checkpoint', full, fulls),
    ['     (c) without process startup', fmt(full.measure.rows), full.streamSeconds.toFixed(2), fmt(full.streamRowsPerSecond), ratio(full.streamRowsPerSecond).toFixed(3), '', '', ''],
    daemonRow(`(d)  sluice daemon, the ${fmt(figures.largeRows)}-row transaction only`, large, larges, false),
    ...variantKeys.map((key) => daemonRow(VARIANT_LABEL[key], variants[key]!, variantRuns[key])),
  ].map(columns);
  /** For the side-by-side table: rows/s, the ratio to (a) and the peak RSS of (a), (a2), (b), (c), (d). */
  const sideBySide = [
    [local.rowsPerSecond, 1, local.peakRssMiB],
    [remote.rowsPerSecond, ratio(remote.rowsPerSecond), remote.peakRssMiB],
    [decode.measure.rowsPerSecond, json.ratios.bOverA, decodePeak],
    [full.measure.rowsPerSecond, json.ratios.cOverA, fullPeak],
    [large.measure.rowsPerSecond, json.ratios.dOverA, largePeak],
  ] as const;
  return { runs, json, rows, sideBySide, full, variantKeys, variants, largePeak, countedRows, correct };
}

type SourceSummary = ReturnType<typeof summarize>;

function printSource(summary: SourceSummary): void {
  const { runs, json, full, variantKeys, variants, largePeak, countedRows } = summary;
  const { flavor, figures } = runs;
  console.log('');
  console.log(`${flavor.label} (${figures.serverVersion}), against ${flavor.toolName}:`);
  console.log(table(summary.rows));
  console.log('');
  console.log(
    `load: ${fmt(figures.total)} row changes in ${(figures.smallSeconds + figures.largeSeconds).toFixed(1)} s (${figures.smallTransactions} transactions of 1000 in ` +
      `${figures.smallSeconds.toFixed(1)} s, the large one in ${figures.largeSeconds.toFixed(1)} s); binlog ${fmt(figures.binlog.bytes / 1048576, 1)} MiB in ${figures.binlog.files.length} files`,
  );
  console.log(
    `b/a = ${json.ratios.bOverA.toFixed(3)}   c/a = ${json.ratios.cOverA.toFixed(3)}   (a = ${flavor.toolName}; checkpoint interval ${CHECKPOINT_SECONDS} s; daemon ${COMPILED ? 'compiled (tsc)' : 'bin/sluice.js (tsx)'} on Node ${DAEMON_NODE_VERSION}` +
      `${DAEMON_NODE_ARGS.length ? ` with ${DAEMON_NODE_ARGS.join(' ')}` : ''}${CPU_PROF ? '; CPU PROFILING ON, timings inflated' : ''})`,
  );
  console.log(
    `peak RSS: 100 ms VmRSS samples and the daemon's VmHWM, largest of ${REPEAT} run${REPEAT > 1 ? 's' : ''}; ` +
      `during the ${fmt(figures.largeRows)}-row transaction (d): ${fmt(largePeak, 1)} MiB -> ${json.largeTransaction.underLimit ? 'UNDER' : 'OVER'} ${RSS_LIMIT_MIB} MiB`,
  );
  if (variantKeys.length > 0) {
    const jvmRss = runs.jvmRss ?? {};
    console.log(
      `(e)-(g) run from the same GTID start to the same end as (c); ` +
        `HDFS started in ${servers.startSeconds.hdfs?.toFixed(1) ?? '-'} s${servers.startSeconds.hive !== undefined ? `, HiveServer2 in ${servers.startSeconds.hive.toFixed(1)} s` : ''} ` +
        `(untimed; both JVMs on these same 2 cores; RSS at the end: HDFS ${rss(jvmRss.hdfsMiB) || '-'} MiB${jvmRss.hiveMiB !== undefined ? `, HiveServer2 ${rss(jvmRss.hiveMiB)} MiB` : ''})`,
    );
    const breakdown = (label: string, run: DaemonFigures): string[] => [
      label,
      run.measure.seconds.toFixed(1),
      run.visibleSeconds?.toFixed(1) ?? '',
      run.startupSeconds.toFixed(1),
      `${run.checkpoints}`,
      run.commitSeconds.toFixed(1),
      run.maxCommitSeconds.toFixed(2),
      run.cpuSeconds.daemon.toFixed(1),
      run.cpuSeconds[flavor.processName]?.toFixed(1) ?? '',
      run.cpuSeconds.servers.HDFS?.toFixed(1) ?? '',
      run.cpuSeconds.servers.HiveServer2?.toFixed(1) ?? '',
      `${fmt(run.verify.bytes / 1048576, 1)} / ${run.verify.files}`,
      `${run.verify.seconds.toFixed(1)} (${run.verify.readSeconds.toFixed(1)})`,
    ];
    console.log('');
    console.log(
      'where the time goes, in seconds. wall: spawn -> the covering checkpoint record (as "seconds" above); visible: -> its files renamed\n' +
        'and partitions added; in checkpoints / longest: the checkpoints\' own time up to the covering one (close and upload the files,\n' +
        'write the record, rename, add partitions; the binlog waits meanwhile); CPU: user+system from /proc/<pid>/stat over "wall";\n' +
        'read-back: the check after the run (fetch: of it, reading the files through the FileSystem).',
    );
    console.log(
      table([
        ['run', 'wall', 'visible', 'startup', 'checkpoints', 'in checkpoints', 'longest', 'daemon CPU', `${flavor.processName} CPU`, 'HDFS CPU', 'HS2 CPU', 'MiB / files', 'read-back (fetch)'],
        breakdown('(c) local, text', full),
        ...variantKeys.map((key) => breakdown(`(${key}) ${variants[key]!.sink}`, variants[key]!)),
      ]),
    );
    console.log('');
  }
  const check = (runsOf: DaemonFigures[]): string => (runsOf.every((run) => run.verify.ok) ? 'OK' : 'WRONG');
  console.log(
    `output check (every row's values, _seq once each, id checksum): (c) ${check(runs.fulls)}, (d) ${check(runs.larges)}` +
      `${variantKeys.map((key) => `, (${key}) ${check(runs.variantRuns[key])}`).join('')}; ` +
      `reference row count ${countedRows === undefined ? 'not checked' : countedRows === figures.total ? 'OK' : `WRONG (${countedRows})`}`,
  );
}

/** MariaDB's and MySQL's figures in one table, each against its own native decoder on the same workload. */
function printSideBySide(summaries: SourceSummary[]): void {
  const labels = [
    '(a)  native decoder -v, local files',
    '(a2) native decoder -v -R, replication protocol',
    '(b)  sluice BinlogSource, decode only',
    '(c)  sluice daemon, spawn -> committed checkpoint',
    `(d)  sluice daemon, the ${fmt(summaries[0]!.runs.figures.largeRows)}-row transaction only`,
  ];
  const header = ['measure', ...summaries.flatMap(({ runs }) => [`${runs.flavor.label} rows/s`, `vs ${runs.flavor.toolName}`, 'peak RSS MiB'])];
  const rows = labels.map((label, index) => [
    label,
    ...summaries.flatMap((summary) => {
      const [rowsPerSecond, vsA, peak] = summary.sideBySide[index]!;
      return [fmt(rowsPerSecond), vsA.toFixed(3), rss(peak)];
    }),
  ]);
  console.log('');
  console.log(`side by side: the same ${fmt(summaries[0]!.runs.figures.total)} row changes on ${summaries.map(({ runs }) => `${runs.flavor.label} (${runs.figures.serverVersion})`).join(' and ')}, each against its own native decoder:`);
  console.log(table([header, ...rows]));
}

async function main(): Promise<void> {
  const benchStarted = performance.now();
  const loadBefore = loadavg();
  log(
    `sluice binlog benchmark on ${SOURCES.map((flavor) => flavor.label).join(', then ')}: ${fmt(SMALL_ROWS)} changes in 1000-row transactions + one ${fmt(LARGE_ROWS)}-row transaction` +
      `${REPEAT > 1 ? `, each measure ${REPEAT} times` : ''}; ` +
      `${VARIANTS ? `then (e)${LOCAL_VARIANT_ONLY ? '' : ' (f)'}${HIVE ? ' (g)' : ''} over all changes on MariaDB` : 'no variants'}; ` +
      `load average ${loadBefore.map((value) => value.toFixed(2)).join(' ')}`,
  );
  rmSync(WORK_DIR, { recursive: true, force: true });
  if (CPU_PROF) rmSync(PROFILE_DIR, { recursive: true, force: true });
  if (COMPILED) await compile();
  // One server after the other, each stopped before the next starts, so neither runs beside the other's measures.
  const summaries: SourceSummary[] = [];
  for (const flavor of SOURCES) summaries.push(summarize(await benchSource(flavor)));

  for (const summary of summaries) printSource(summary);
  if (summaries.length > 1) printSideBySide(summaries);
  console.log('');
  const mariadb = summaries.find((summary) => summary.runs.flavor.kind === 'mariadb');
  const mysql = summaries.find((summary) => summary.runs.flavor.kind === 'mysql');
  const correct = summaries.every((summary) => summary.correct);
  const loadAfter = loadavg();
  const result = {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, loadAverageBefore: loadBefore, loadAverageAfter: loadAfter, node: process.version },
    settings: {
      servers: SOURCES.map((flavor) => flavor.kind),
      smallRows: SMALL_ROWS,
      largeRows: LARGE_ROWS,
      repeat: REPEAT,
      checkpointSeconds: CHECKPOINT_SECONDS,
      cpuProfile: CPU_PROF,
      daemon: COMPILED ? 'compiled (tsc)' : 'bin/sluice.js (tsx)',
      daemonNodeArgs: DAEMON_NODE_ARGS,
      daemonNode: DAEMON_NODE_VERSION,
      variants: mariadb?.variantKeys ?? [],
    },
    // MariaDB's figures stay at the top level, where earlier result files have them; MySQL's go under "mysql".
    ...(mariadb ? mariadb.json : {}),
    ...(mariadb ? { servers: { startSeconds: servers.startSeconds, rssAtEndMiB: mariadb.runs.jvmRss ?? {} } } : {}),
    ...(mysql ? { mysql: mysql.json } : {}),
    correct,
    benchSeconds: Math.round((performance.now() - benchStarted) / 1000),
  };
  console.log(`load average ${loadBefore.map((value) => value.toFixed(2)).join(' ')} before, ${loadAfter.map((value) => value.toFixed(2)).join(' ')} after; ${result.benchSeconds} s in all`);
  mkdirSync(SLUICE_DIR, { recursive: true });
  writeFileSync(RESULT_FILE, JSON.stringify(result, null, 2) + '\n');
  console.log(`figures written to ${RESULT_FILE}`);
  if (!correct) process.exitCode = 1;
}

async function stopLeftovers(): Promise<void> {
  await Promise.allSettled([...SOURCES.map((flavor) => stopLeftover(flavor)), stopServers()]);
}

function cleanupAndExit(signal: NodeJS.Signals): void {
  for (const child of children) child.kill('SIGKILL');
  void stopLeftovers().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
}
process.once('SIGINT', cleanupAndExit);
process.once('SIGTERM', cleanupAndExit);

main().catch(async (error: unknown) => {
  console.error((error as Error).stack ?? String(error));
  for (const child of children) child.kill('SIGKILL');
  await stopServers().catch(() => undefined);
  if (!KEEP) await Promise.allSettled(SOURCES.map((flavor) => stopLeftover(flavor)));
  process.exit(1);
});
