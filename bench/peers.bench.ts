// `npm run bench:peers`: sluice beside the CDC tools a user would compare it with, all reading one binlog
// on one private MariaDB in one run, each against mariadb-binlog on the same binlog.
//
// The workload and the measures are bench:binlog's own (binlog-load.ts, binlog-measures.ts): BENCH_ROWS
// row changes in transactions of 1000 and one transaction of BENCH_ROWS inserts (500,000 + 1,000,000 by
// default), then
//   (a)  mariadb-binlog --base64-output=decode-rows -v on the binlog files: the reference,
//   canal's parser, com.alibaba.otter:canal.parse 1.1.7: a MysqlEventParser over the replication
//        protocol, decoding into canal's protobuf entries, their row changes counted (bench/peers/canal),
//   Debezium 3.5's embedded engine with its MariaDB connector, each change handed out as JSON
//        (JsonConverter), counted by its "op" (bench/peers/debezium),
//   (b)  sluice's BinlogSource alone (decode-worker.ts), items counted and dropped,
//   (c)  the sluice daemon from spawn to the checkpoint that covers the load, every committed row then
//        read back and checked against the workload.
// The peers are Java programs of ours (bench/peers/, one Maven module each beside the test servers'
// in test/servers/jvm/pom.xml, resolved from Maven Central by test/servers/jvm.ts and run on the same
// JDK 17); each reads from the start of the first binlog file (nothing but DDL comes before the load)
// and prints its counts by kind, which must equal the workload's, or the bench fails naming both.
// go-mysql (Go) is not part of it: no go-mysql is on this machine.
//
// Timed: (a) the process; the peers and (b) from the moment they start reading (JVM or Node start-up
// and, for the peers, class loading before that excluded) to the last expected row change; (c) spawn to
// the covering checkpoint. Peak RSS: 100 ms VmRSS samples of the process and its VmHWM (proc-stats.ts).
//
// Environment: BENCH_ROWS, BENCH_SMALL_ROWS, BENCH_LARGE_ROWS, BENCH_CHECKPOINT_SECONDS, BENCH_COMPILED,
// BENCH_DAEMON_NODE_ARGS, BENCH_REFERENCE_COUNT, BENCH_KEEP as for bench:binlog (binlog-settings.ts), and
//   BENCH_PEERS             which peers, comma-separated: 'canal,debezium' (default)
//   BENCH_PEERS_JAVA_ARGS   JVM flags for the peers (default none: each JVM sizes its heap as it would for a user)
// Figures go to stdout and to .sluice/bench-peers-result.json.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { javaBinary, resolveClasspaths, type JvmModule } from '../test/servers/jvm.ts';
import { children, fmt, log, measure, run, table, type Measure } from './bench-process.ts';
import { load, type LoadFigures } from './binlog-load.ts';
import { compile, daemonRun, decodeOnly, localSink, nativeLocal, wholeLoad } from './binlog-measures.ts';
import { COMPILED, KEEP, LARGE_ROWS, REFERENCE_COUNT, SLUICE_DIR, SMALL_ROWS, WORK_DIR } from './binlog-settings.ts';
import { sourceFlavor, startFresh, stopLeftover, type BenchSource } from './source-servers.ts';
import { BENCH_DATABASE, BENCH_TABLE, OPS, type OpCounts } from './workload.ts';

const RESULT_FILE = join(SLUICE_DIR, 'bench-peers-result.json');
const JAVA_ARGS = (process.env.BENCH_PEERS_JAVA_ARGS ?? '').split(/\s+/).filter((arg) => arg !== '');
/** A peer that hands out nothing for this long is taken as stuck: its counts so far go into the failure. */
const IDLE_SECONDS = 60;

interface Peer {
  key: 'canal' | 'debezium';
  label: string;
  module: JvmModule;
  mainClass: string;
  /** key=value arguments beyond the connection, the table and the expected count. */
  args(figures: LoadFigures): string[];
}

const PEERS: Peer[] = [
  {
    key: 'canal',
    label: "canal's parser 1.1.7 (Java), decode + entries",
    module: 'peers-canal',
    mainClass: 'sluice.bench.peers.CanalCount',
    args: (figures) => [`binlogFile=${figures.binlog.files[0]}`],
  },
  {
    key: 'debezium',
    label: 'Debezium 3.5 embedded, MariaDB connector, JSON',
    module: 'peers-debezium',
    mainClass: 'sluice.bench.peers.DebeziumCount',
    args: () => [],
  },
];

function peersSetting(text: string | undefined): Peer[] {
  if (text === undefined || text.trim() === '') return PEERS;
  const keys = text.split(',').map((part) => part.trim().toLowerCase()).filter((part) => part !== '');
  const unknown = keys.filter((key) => !PEERS.some((peer) => peer.key === key));
  if (unknown.length > 0) throw new Error(`BENCH_PEERS must name ${PEERS.map((peer) => peer.key).join(' and/or ')}, comma-separated, not ${text}`);
  return PEERS.filter((peer) => keys.includes(peer.key));
}
const SELECTED = peersSetting(process.env.BENCH_PEERS);

/** What a harness prints (bench/peers/common PeerCount). */
interface PeerOutput extends OpCounts {
  complete: boolean;
  changes: number;
  other: number;
  seconds: number;
  firstChangeSeconds: number;
}

interface PeerFigures {
  measure: Measure;
  output: PeerOutput;
  processSeconds: number;
  peakRssMiB: number;
  /** Empty when the peer counted exactly the workload's row changes, kind by kind. */
  mismatch: string;
}

const countsText = (counts: OpCounts & { other?: number }): string =>
  `${fmt(counts.insert)}/${fmt(counts.update)}/${fmt(counts.delete)} insert/update/delete${counts.other ? `, ${fmt(counts.other)} other` : ''}`;

async function peerRun(peer: Peer, source: BenchSource, figures: LoadFigures, classpath: string): Promise<PeerFigures> {
  const { server } = source;
  const args = [
    ...JAVA_ARGS,
    '-cp',
    classpath,
    peer.mainClass,
    `host=${server.host}`,
    `port=${server.port}`,
    `user=${server.user}`,
    `password=${server.password}`,
    `serverId=${400_000 + Math.floor(Math.random() * 100_000)}`,
    `database=${BENCH_DATABASE}`,
    `table=${BENCH_TABLE}`,
    `expected=${figures.total}`,
    `idleSeconds=${IDLE_SECONDS}`,
    ...peer.args(figures),
  ];
  log(`(${peer.key}) ${peer.label}: java ${JAVA_ARGS.join(' ')}${JAVA_ARGS.length ? ' ' : ''}${peer.mainClass}, counting row changes ...`);
  const result = await run(javaBinary(), args, { sampleRss: true });
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  let output: PeerOutput;
  try {
    output = JSON.parse(line) as PeerOutput;
  } catch {
    throw new Error(`${peer.key} exited with ${result.code} without its counts:\n${result.stdout.slice(-2000)}\n${result.stderr.slice(-4000)}`);
  }
  const wrong = !output.complete || output.changes !== figures.total || output.other !== 0 || OPS.some((op) => output[op] !== figures.counts[op]);
  const mismatch = wrong ? `${peer.key} counted ${fmt(output.changes)} row changes (${countsText(output)}), the load wrote ${fmt(figures.total)} (${countsText(figures.counts)})` : '';
  const figuresOf = measure(output.changes, output.seconds);
  log(
    `  ${output.seconds.toFixed(2)} s from start to the last change (first after ${output.firstChangeSeconds.toFixed(2)} s; process ${result.seconds.toFixed(2)} s), ` +
      `${fmt(figuresOf.rowsPerSecond)} rows/s, peak RSS ${fmt(result.peakRssMiB ?? 0, 1)} MiB; ${wrong ? `WRONG: ${mismatch}` : `OK: ${countsText(output)}`}`,
  );
  if (wrong) log(`  its stderr ends with:\n${result.stderr.slice(-3000)}`);
  return { measure: figuresOf, output, processSeconds: Math.round(result.seconds * 1000) / 1000, peakRssMiB: result.peakRssMiB ?? 0, mismatch };
}

async function main(): Promise<void> {
  const benchStarted = performance.now();
  const loadBefore = loadavg();
  log(
    `sluice beside its peers on MariaDB: ${fmt(SMALL_ROWS)} changes in 1000-row transactions + one ${fmt(LARGE_ROWS)}-row transaction; ` +
      `peers ${SELECTED.map((peer) => peer.key).join(', ') || 'none'}; load average ${loadBefore.map((value) => value.toFixed(2)).join(' ')}`,
  );
  // Untimed preparation: the peers' classpaths (Maven only when their poms changed) and the compiled daemon.
  log('resolving the peers\' classpaths (test/servers/jvm.ts; Maven runs only when bench/peers changed) ...');
  const classpaths = await resolveClasspaths(SELECTED.map((peer) => peer.module));
  rmSync(WORK_DIR, { recursive: true, force: true });
  if (COMPILED) await compile();

  const flavor = sourceFlavor('mariadb', SLUICE_DIR);
  const source = await startFresh(flavor, log);
  try {
    const figures = await load(source);
    const reference = await nativeLocal(source, figures, REFERENCE_COUNT);
    const peers: Partial<Record<Peer['key'], PeerFigures>> = {};
    for (const peer of SELECTED) peers[peer.key] = await peerRun(peer, source, figures, classpaths[peer.module]);
    const decode = await decodeOnly(source, figures, 'peers-decode');
    const daemon = await daemonRun(source, 'peers-c', wholeLoad(figures), localSink('text'));

    const a = reference.rowsPerSecond;
    const ratio = (value: number): string => (value / a).toFixed(3);
    const row = (label: string, figure: Measure, peakRssMiB: number, check: string): string[] => [
      label,
      fmt(figure.rows),
      figure.seconds.toFixed(2),
      fmt(figure.rowsPerSecond),
      ratio(figure.rowsPerSecond),
      fmt(peakRssMiB, 1),
      check,
    ];
    const referenceCheck = reference.countedRows === undefined ? 'not counted' : reference.countedRows === figures.total ? 'OK' : `WRONG (${fmt(reference.countedRows)})`;
    const rows = [
      ['reader', 'rows', 'seconds', 'rows/s', 'vs mariadb-binlog', 'peak RSS MiB', 'row changes'],
      row('mariadb-binlog -v (native reference)', reference, reference.peakRssMiB ?? 0, referenceCheck),
      ['go-mysql replication reader (Go)', '', '', '', '', '', 'not on this machine: skipped'],
      ...SELECTED.map((peer) => {
        const figure = peers[peer.key]!;
        return row(peer.label, figure.measure, figure.peakRssMiB, figure.mismatch === '' ? 'OK' : 'WRONG');
      }),
      row('sluice, decode only (b)', decode.measure, decode.peakRssMiB, 'OK'),
      row('sluice daemon, to committed files (c)', daemon.measure, Math.max(daemon.peakRssMiB, daemon.peakHwmMiB), daemon.verify.ok ? 'OK' : 'WRONG'),
    ];
    const problems = [
      ...(reference.countedRows !== undefined && reference.countedRows !== figures.total ? [`mariadb-binlog printed ${reference.countedRows} row changes, the load wrote ${figures.total}`] : []),
      ...SELECTED.map((peer) => peers[peer.key]!.mismatch).filter((text) => text !== ''),
      ...(daemon.verify.ok ? [] : [`the daemon's committed rows: ${daemon.verify.problems.join('; ')}`]),
    ];
    console.log('');
    console.log(`sluice and its peers on one binlog of ${fmt(figures.total)} row changes (${fmt(figures.binlog.bytes / 1048576, 1)} MiB), ${figures.serverVersion}:`);
    console.log(table(rows));
    console.log('');
    console.log(
      'timed: mariadb-binlog the whole process; the peers and (b) from their start of reading to the last row change (JVM / Node start-up excluded); ' +
        `(c) spawn to the checkpoint that covers the load. Peers on ${javaBinary()} ${JAVA_ARGS.join(' ') || '(default JVM flags)'}.`,
    );
    console.log(`row changes: each reader's count by kind against the load's (${countsText(figures.counts)}); (c) every committed row read back and checked`);
    for (const problem of problems) console.log(`WRONG: ${problem}`);
    const loadAfter = loadavg();
    const result = {
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, loadAverageBefore: loadBefore, loadAverageAfter: loadAfter, node: process.version },
      settings: { smallRows: SMALL_ROWS, largeRows: LARGE_ROWS, peers: SELECTED.map((peer) => peer.key), javaArgs: JAVA_ARGS, daemon: COMPILED ? 'compiled (tsc)' : 'bin/sluice.js (tsx)' },
      load: figures,
      reference,
      peers,
      b: { ...decode.measure, peakRssMiB: decode.peakRssMiB },
      c: { ...daemon.measure, peakRssMiB: Math.max(daemon.peakRssMiB, daemon.peakHwmMiB), verifyOk: daemon.verify.ok },
      problems,
      correct: problems.length === 0,
      benchSeconds: Math.round((performance.now() - benchStarted) / 1000),
    };
    console.log(`load average ${loadBefore.map((value) => value.toFixed(2)).join(' ')} before, ${loadAfter.map((value) => value.toFixed(2)).join(' ')} after; ${result.benchSeconds} s in all`);
    mkdirSync(SLUICE_DIR, { recursive: true });
    writeFileSync(RESULT_FILE, JSON.stringify(result, null, 2) + '\n');
    console.log(`figures written to ${RESULT_FILE}`);
    if (problems.length > 0) process.exitCode = 1;
  } finally {
    if (!KEEP) {
      log(`stopping the private ${flavor.label}`);
      await source.server.stop();
      rmSync(flavor.dir, { recursive: true, force: true });
    }
  }
}

function cleanupAndExit(signal: NodeJS.Signals): void {
  for (const child of children) child.kill('SIGKILL');
  void stopLeftover(sourceFlavor('mariadb', SLUICE_DIR)).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
}
process.once('SIGINT', cleanupAndExit);
process.once('SIGTERM', cleanupAndExit);

main().catch(async (error: unknown) => {
  console.error((error as Error).stack ?? String(error));
  for (const child of children) child.kill('SIGKILL');
  if (!KEEP) await stopLeftover(sourceFlavor('mariadb', SLUICE_DIR)).catch(() => undefined);
  process.exit(1);
});
