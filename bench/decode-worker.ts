// Measure (b): sluice's binlog decoding alone. A BinlogSource reads from a GTID position and the items
// are counted and dropped. Run as its own process by binlog.bench.ts (so its memory and an optional
// --cpu-prof cover decoding only); prints one JSON line with the figures.
import { pino } from 'pino';
import { Router } from '../src/routing/router.ts';
import { BinlogSource } from '../src/sources/binlog/stream/binlog-source.ts';

export interface DecodeWorkerInput {
  host: string;
  port: number;
  user: string;
  password: string;
  serverId: number;
  startGtid: string;
  endGtid: string;
  expectedChanges: number;
  include: string;
  maxQueuedItems: number;
}

export interface DecodeWorkerOutput {
  changes: number;
  boundaries: number;
  ticks: number;
  seconds: number;
  /** Seconds from start() to the first change (connect, dump request, server seek). */
  firstChangeSeconds: number;
  lastGtid: string | undefined;
  maxRssMiB: number;
  /** User + system CPU seconds of the process from start() to the last boundary (steadier than the wall time on a shared machine). */
  cpuSeconds: number;
  ops: Record<string, number>;
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '{}') as DecodeWorkerInput;
  const router = new Router({ include: [input.include], exclude: [], rules: [] });
  const source = new BinlogSource({
    connection: { host: input.host, port: input.port, user: input.user, password: input.password, connectTimeoutMs: 10_000 },
    serverId: input.serverId,
    router,
    maxQueuedItems: input.maxQueuedItems,
    firstSequence: 1n,
    logger: pino({ level: 'silent' }),
  });
  const ops: Record<string, number> = { insert: 0, update: 0, delete: 0 };
  let changes = 0;
  let boundaries = 0;
  let ticks = 0;
  let lastGtid: string | undefined;
  let firstChangeAt = 0;
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  source.start({ gtidSet: input.startGtid });
  // Read until every expected change has come, then to the boundary that closes the last transaction.
  for (;;) {
    const item = await source.next();
    if (item.kind === 'change') {
      if (changes === 0) firstChangeAt = performance.now();
      changes++;
      ops[item.event.op] = (ops[item.event.op] ?? 0) + 1;
      continue;
    }
    if (item.kind === 'boundary') {
      boundaries++;
      lastGtid = item.position.gtidSet;
      if (changes >= input.expectedChanges) break;
      continue;
    }
    ticks++;
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  await source.stop();
  const output: DecodeWorkerOutput = {
    changes,
    boundaries,
    ticks,
    seconds,
    firstChangeSeconds: (firstChangeAt - started) / 1000,
    lastGtid,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    ops,
  };
  process.stdout.write(JSON.stringify(output) + '\n');
  // zongji may keep a socket open a moment after stop(); the figures are out, so do not wait for it.
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
