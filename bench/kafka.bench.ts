// `npm run bench:kafka` (and the last part of `npm run bench`): how fast a Kafka loader
// (docs/kafka.md) takes a topic into Hive, beside Kafka's own tools on the same broker, in one run:
//   (a) kafka-consumer-perf-test    reads the topic and does nothing with it: the reference
//   (b) sluice loader               Debezium JSON -> committed local Hive text files, exactly once;
//                                   timed from its start to the checkpoint that covers every offset
// With rows/s, the ratio to (a), and peak RSS; (b) counts only once its committed table is read back:
// every id 1..N once, all inserts. A private Kafka (KRaft) in .sluice/bench-kafka-server, wiped first.
// Environment:
//   BENCH_KAFKA_ROWS        messages in the topic (default 1000000)
//   BENCH_KAFKA_PARTITIONS  partitions of the topic (default 3)
//   BENCH_KEEP=1            keeps the loader's workspace (its folder is printed)
//   BENCH_CPU_PROF=1        profiles the loader (node --cpu-prof) and prints where its time goes
import { execFile, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { CheckpointStore } from '../src/checkpoint/checkpoint-store.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import type { KafkaSourceState } from '../src/sources/kafka/kafka-position.ts';
import { kafkaWorkspace } from '../test/helpers/kafka.ts';
import { javaBinary, resolveClasspaths, startKafka } from '../test/servers/jvm.ts';
import { busiestProfile, formatProfile } from './cpu-profile.ts';
import { RssSampler } from './proc-stats.ts';
import { checkEveryIdOnce } from './verify.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const ROWS = Number(process.env.BENCH_KAFKA_ROWS ?? 1_000_000);
const PARTITIONS = Number(process.env.BENCH_KAFKA_PARTITIONS ?? 3);
const KEEP = process.env.BENCH_KEEP === '1';
const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
const TOPIC = 'bench-orders';
const say = (line: string): void => void process.stdout.write(line + '\n');
const fmt = (value: number): string => Math.round(value).toLocaleString('en-US');
const execFileAsync = promisify(execFile);

interface Figure {
  what: string;
  seconds: number;
  peakRssMiB?: number;
  check: string;
  ok: boolean;
}

/** Message `id`: a Debezium insert without the schema envelope (the topic's columns give the types). */
function message(id: number): string {
  return JSON.stringify({
    before: null,
    after: { id, customer: `customer-${id % 9973}`, amount: `${id % 100000}.${String(id % 100).padStart(2, '0')}`, status: id % 7 === 0 ? 'shipped' : 'new', note: `order ${id} of the benchmark` },
    source: { connector: 'mysql', db: 'bench', table: 'orders', file: 'mysql-bin.000001', pos: id, row: 0 },
    op: 'c',
    ts_ms: 1_760_000_000_000 + id,
  });
}

const serverDir = join(REPO, '.sluice', 'bench-kafka-server');
rmSync(serverDir, { recursive: true, force: true });
const server = await startKafka({ dir: serverDir });
const brokers = server.brokers;
const figures: Figure[] = [];
try {
  const { kafka: classpath } = await resolveClasspaths(['kafka']);
  const client = new Kafka({ clientId: 'sluice-bench', brokers, logLevel: logLevel.NOTHING });
  const admin = client.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true });
  await admin.disconnect();

  // The topic, filled once: keyed by id, so Kafka spreads the ids over the partitions.
  let started = Date.now();
  const producer = client.producer();
  await producer.connect();
  let bytes = 0;
  const BATCH = 2000;
  for (let first = 1; first <= ROWS; first += BATCH) {
    const messages = [];
    for (let id = first; id < Math.min(first + BATCH, ROWS + 1); id++) {
      const value = message(id);
      bytes += value.length;
      messages.push({ key: String(id), value });
    }
    await producer.send({ topic: TOPIC, messages });
  }
  await producer.disconnect();
  const recordSize = Math.round(bytes / ROWS);
  say(`${TOPIC}: ${fmt(ROWS)} Debezium JSON messages (${recordSize} bytes each on average, ${(bytes / 1048576).toFixed(0)} MiB) in ${PARTITIONS} partitions, written in ${((Date.now() - started) / 1000).toFixed(1)} s; ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}`);

  // (a) Kafka's consumer: its own figure of the consume loop (JVM start-up left out, as it does).
  started = Date.now();
  const consumed = await execFileAsync(javaBinary(), ['-Xmx512m', '-cp', classpath, 'org.apache.kafka.tools.ConsumerPerformance', '--bootstrap-server', brokers.join(','), '--topic', TOPIC, '--messages', String(ROWS), '--group', 'bench-consumer-perf', '--timeout', '120000'], { maxBuffer: 16 * 1024 * 1024 });
  const consumer = perfColumns(consumed.stdout);
  const consumerRate = Number(consumer['nMsg.sec']);
  figures.push({ what: 'reference: kafka-consumer-perf-test', seconds: ROWS / consumerRate, check: `${fmt(Number(consumer['data.consumed.in.nMsg']))} messages read (${((Date.now() - started) / 1000).toFixed(1)} s with JVM start)`, ok: Number(consumer['data.consumed.in.nMsg']) === ROWS });

  // (b) sluice.
  figures.push(await runLoader());

} finally {
  await server.stop();
}

const reference = figures[0]!.seconds;
say('');
say(`${'run'.padEnd(46)} ${'seconds'.padStart(8)} ${'rows/s'.padStart(10)} ${'vs consumer-perf'.padStart(17)} ${'peak RSS'.padStart(9)}  check`);
for (const figure of figures) {
  say(
    `${figure.what.padEnd(46)} ${figure.seconds.toFixed(2).padStart(8)} ${fmt(ROWS / figure.seconds).padStart(10)} ${(reference / figure.seconds).toFixed(2).padStart(16)}x ` +
      `${figure.peakRssMiB === undefined ? '-'.padStart(9) : `${figure.peakRssMiB.toFixed(0)} MiB`.padStart(9)}  ${figure.ok ? '' : 'FAILED: '}${figure.check}`,
  );
}
say('\n(ratios are speed relative to the reference: 0.50x = half as fast; `npm run bench:kafka-sink` measures binlog -> Kafka)');
if (figures.some((figure) => !figure.ok)) process.exitCode = 1;

/** The loader from its start to the checkpoint that covers every offset, then its table read back. */
async function runLoader(): Promise<Figure> {
  const workspace = kafkaWorkspace(
    brokers,
    `    - name: ${TOPIC}
      format: debezium-json
      columns: { bench.orders: { id: bigint, customer: varchar(64), amount: 'decimal(12,2)', status: varchar(16), note: varchar(255) } }`,
    { routing: "  rules:\n    - { match: '^bench\\.orders$', target: 'ods.orders' }", intervalSeconds: 2 },
  );
  const { dir, configFile } = workspace;
  const started = Date.now();
  const profileDir = join(dir, 'profile');
  const profileArgs = CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [...profileArgs, join(REPO, 'bin/sluice.js'), 'run', '--config', configFile], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  let exited = false;
  child.on('exit', () => (exited = true));
  const rss = new RssSampler(child.pid!);
  const store = new CheckpointStore(workspace.stateDir);
  let seconds: number | undefined;
  while (seconds === undefined) {
    if (exited) throw new Error(`the loader exited before it had read the topic:\n${stderr}`);
    if (Date.now() - started > 1_800_000) throw new Error('the loader did not read the topic within 30 minutes');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const record = await store.latest().catch(() => undefined);
    const offsets = (record?.sources.kafka as KafkaSourceState | undefined)?.position.offsets ?? {};
    if (Object.values(offsets).reduce((sum, offset) => sum + Number(offset), 0) >= ROWS) seconds = (Date.now() - started) / 1000;
  }
  rss.stop();
  child.kill('SIGTERM');
  await new Promise((resolve) => (exited ? resolve(undefined) : child.on('exit', resolve)));
  const profile = CPU_PROF ? busiestProfile(profileDir) : undefined;
  if (profile) say(formatProfile(profile.summary, 'CPU profile of the loader'));
  const check = await checkEveryIdOnce({ catalog: new LocalCatalog(workspace.catalogDir), fs: new LocalFileSystem(workspace.warehouse), database: 'ods', table: 'orders', rows: ROWS, op: 'insert' });
  if (KEEP) say(`the loader's workspace is kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  return { what: 'sluice loader -> committed Hive text files', seconds, peakRssMiB: rss.peakMiB, check: check.text, ok: check.ok };
}

/** ConsumerPerformance's two lines, a header and the figures, as a map. */
function perfColumns(stdout: string): Record<string, string> {
  const lines = stdout.trim().split('\n');
  const headerAt = lines.findIndex((line) => line.startsWith('start.time'));
  if (headerAt < 0 || !lines[headerAt + 1]) throw new Error(`kafka-consumer-perf-test printed no figures:\n${stdout.slice(-2000)}`);
  const names = lines[headerAt]!.split(',').map((name) => name.trim());
  const values = lines[headerAt + 1]!.split(',').map((value) => value.trim());
  return Object.fromEntries(names.map((name, index) => [name, values[index] ?? '']));
}
