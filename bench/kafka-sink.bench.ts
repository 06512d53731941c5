// `npm run bench:kafka-sink`: how fast the daemon turns a MariaDB binlog into Kafka messages
// (sink.kind kafka: Debezium envelope, one transaction per checkpoint), beside Kafka's own
// kafka-producer-perf-test (org.apache.kafka.tools.ProducerPerformance) on the same broker, in the
// same run, with the same number of records of the same average size, transactional as sluice is.
//
// One run: a private MariaDB and a private Kafka 4.1 (KRaft) under .sluice/bench-kafka-sink (wiped
// first); BENCH_ROWS row changes (default 200,000) in transactions of 1000 (bench/workload.ts); then
//   (a) the daemon (`bin/sluice.js run`) from before the load until its checkpoint covers the load's
//       end: rows/s over that time (its start included); every message is then read back
//       read_committed and counted by operation against the workload;
//   (b) ProducerPerformance: as many records, of the average size of (a)'s values, with
//       --transactional-id and --transaction-duration-ms of the daemon's checkpoint interval.
// Figures go to stdout and to .sluice/bench-kafka-sink.json. BENCH_CHECKPOINT_SECONDS: the interval (default 2).
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { CheckpointStore } from '../src/checkpoint/checkpoint-store.ts';
import { isJsonObject, parseExactJson } from '../src/core/exact-json.ts';
import { readCommittedToEnd } from '../src/sinks/kafka/kafka-state-topic.ts';
import type { BinlogSourceState } from '../src/sources/binlog/position/binlog-position.ts';
import { daemonConfigYaml } from '../test/helpers/daemon-config.ts';
import { gtidSeq, startSluice } from '../test/helpers/daemon.ts';
import { javaBinary, resolveClasspaths, startKafka } from '../test/servers/jvm.ts';
import { startMariaDb } from '../test/servers/mariadb.ts';
import { BENCH_DATABASE, BENCH_TABLE, BENCH_TABLE_DDL, totalOf, WorkloadWriter } from './workload.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const INTERVAL_SECONDS = Number(process.env.BENCH_CHECKPOINT_SECONDS ?? 2);
const work = join(REPO, '.sluice', 'bench-kafka-sink');
const say = (line: string): void => void process.stdout.write(line + '\n');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const server = await startMariaDb({ dir: join(work, 'mariadb') });
const kafka = await startKafka({ dir: join(work, 'kafka') });
try {
  const connection = await server.rootConnection();
  await connection.query(`CREATE DATABASE ${BENCH_DATABASE}`);
  await connection.query(BENCH_TABLE_DDL);
  const gtid = async (): Promise<string> => ((await connection.query('SELECT @@gtid_binlog_pos AS pos'))[0] as { pos: string }[])[0]!.pos;
  const start = await gtid();
  const writer = new WorkloadWriter(connection);
  const loadStarted = performance.now();
  while (totalOf(writer.counts) < ROWS) await writer.smallTransaction();
  const end = await gtid();
  const total = totalOf(writer.counts);
  say(`load: ${total} row changes in ${writer.transactions} transactions, ${Math.round(performance.now() - loadStarted)} ms`);
  await connection.end();

  // (a) the daemon.
  const daemonDir = join(work, 'daemon');
  mkdirSync(daemonDir, { recursive: true });
  const configFile = join(daemonDir, 'sluice.yaml');
  writeFileSync(
    configFile,
    daemonConfigYaml({
      server,
      passwordEnv: 'SLUICE_BENCH_PASSWORD',
      serverId: 4711,
      start: `{ gtid: '${start}' }`,
      routing: `  include: ['${BENCH_DATABASE}.*']`,
      sink: `  kind: kafka\n  kafka:\n    brokers: [${kafka.brokers.join(', ')}]\n    transactionalId: sluice-bench\n    prefix: bench\n    tombstones: false`,
      checkpointSeconds: INTERVAL_SECONDS,
    }),
  );
  const started = performance.now();
  const daemon = startSluice(['run', '--config', configFile], { cwd: daemonDir, env: { SLUICE_BENCH_PASSWORD: server.password } });
  const store = new CheckpointStore(join(daemonDir, 'state'));
  for (;;) {
    const record = await store.latest().catch(() => undefined);
    const state = record?.sources.binlog as BinlogSourceState | undefined;
    if (state && gtidSeq(state.position.gtidSet) >= gtidSeq(end)) break;
    if (daemon.child.exitCode !== null) throw new Error(`the daemon stopped:\n${daemon.output().slice(-3000)}`);
    await sleep(50);
  }
  const sluiceMs = performance.now() - started;
  daemon.child.kill('SIGTERM');
  await daemon.exited;

  // Every message read back read_committed and counted by operation.
  const ops: Record<string, number> = {};
  let valueBytes = 0;
  const client = new Kafka({ clientId: 'sluice-bench', brokers: kafka.brokers, logLevel: logLevel.NOTHING });
  await readCommittedToEnd(client, [`bench.${BENCH_DATABASE}.${BENCH_TABLE}`], (_topic, _partition, message) => {
    const value = parseExactJson(message.value!.toString('utf8'));
    const op = isJsonObject(value) ? String(value.op) : '?';
    ops[op] = (ops[op] ?? 0) + 1;
    valueBytes += message.value!.length;
  });
  const expected = { c: writer.counts.insert, u: writer.counts.update, d: writer.counts.delete };
  if (JSON.stringify(ops) !== JSON.stringify(expected)) throw new Error(`messages by op ${JSON.stringify(ops)}, the workload wrote ${JSON.stringify(expected)}`);
  const recordSize = Math.round(valueBytes / total);

  // (b) Kafka's own producer, transactional, on the same broker.
  // kafka-tools (ProducerPerformance) is on the test Kafka's classpath (test/servers/jvm/kafka/pom.xml).
  let reference: { recordsPerSecond: number; line: string } | undefined;
  {
    const { kafka: classpath } = await resolveClasspaths(['kafka']);
    const { stdout } = await promisify(execFile)(
      javaBinary(),
      [
        '-cp',
        classpath,
        'org.apache.kafka.tools.ProducerPerformance',
        '--topic',
        'bench-perf',
        '--num-records',
        String(total),
        '--record-size',
        String(recordSize),
        '--throughput',
        '-1',
        '--transactional-id',
        'bench-perf',
        '--transaction-duration-ms',
        String(INTERVAL_SECONDS * 1000),
        '--producer-props',
        `bootstrap.servers=${kafka.brokers.join(',')}`,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const line = stdout.trim().split('\n').at(-1) ?? '';
    reference = { recordsPerSecond: Number(/([\d.]+) records\/sec/.exec(line)?.[1] ?? 0), line };
  }

  const sluiceRate = Math.round((total * 1000) / sluiceMs);
  say('');
  say(`binlog -> Kafka, ${total} row changes, ${recordSize}-byte values on average, checkpoint every ${INTERVAL_SECONDS} s`);
  say(`  sluice (daemon start to checkpoint at the end)   ${String(sluiceRate).padStart(9)} rows/s   ${Math.round(sluiceMs)} ms, read back: ${JSON.stringify(ops)}`);
  if (reference) say(`  kafka-producer-perf-test (transactional)        ${String(Math.round(reference.recordsPerSecond)).padStart(9)} records/s   ${reference.line}`);
  writeFileSync(
    join(REPO, '.sluice', 'bench-kafka-sink.json'),
    JSON.stringify({ rows: total, recordSize, intervalSeconds: INTERVAL_SECONDS, sluice: { rowsPerSecond: sluiceRate, ms: Math.round(sluiceMs) }, kafkaProducerPerfTest: reference ?? null }, null, 2) + '\n',
  );
} finally {
  await kafka.stop();
  await server.stop();
}
