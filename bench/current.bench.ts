// `npm run bench:current`: the query time of a changelog table's current state, read through the
// current-state view over the whole history beside the materialized snapshot plus the changes after
// it (docs/current-state.md), in DuckDB (`sluice query`, the embedded default) and in HiveServer2, in
// one run, printed side by side with ratios.
//
// Generating the changes through MariaDB and the daemon would take hours on two cores, so the changelog
// is written by the sink itself (HiveSink, the very code the daemon writes with: the text encoder,
// the layout, staging and the commits) from synthetic change events, to local disk, with the local
// catalog; then the same table (its definition and partitions, the same files) is registered in a
// private HiveServer2 (embedded Derby metastore, warehouse on local disk: `file:///`), and the
// materialization runs through its real code (Materializer) once per catalog. A tail of changes (1%)
// is written after the fold, so the materialized read is the snapshot plus changes, as it would be.
//
// Each read is `SELECT count(*), sum(amount), sum(id)` over the current state, so every row is made;
// the answers must agree between the two reads and with the generator's model (which ids are live,
// with which amounts). Figures: docs/benchmarks.md, and .sluice/bench-current-result.json.
//
//   --changes N        changes in the table (default 10000000; env BENCH_CURRENT_CHANGES)
//   --hive-changes M   changes in the table HiveServer2 reads (default: N; env BENCH_CURRENT_HIVE_CHANGES;
//                      0 skips HiveServer2). When M < N, DuckDB reads that table too, for like beside like.
//   --keys-ratio R     changes per key (default 10)
//   BENCH_KEEP=1       keeps .sluice/bench-current (the files, the metastore)
import { rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import type { Catalog, TableDefinition } from '../src/catalog/catalog.ts';
import { HiveConnection } from '../src/catalog/hive-connection.ts';
import { currentViewStatement } from '../src/catalog/hive-current-view.ts';
import { HiveServer2Catalog } from '../src/catalog/hive-server2-catalog.ts';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { queryWarehouse } from '../src/cli/query.ts';
import type { CellValue, ChangeEvent, ChangeOp, SourceColumn } from '../src/core/change-event.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { HiveSink } from '../src/sinks/hive-sink.ts';
import { DEFAULT_MATERIALIZE, Materializer } from '../src/sinks/materialize.ts';
import { startHiveServer2, type HiveServer2 } from '../test/servers/jvm.ts';
import { prng } from '../test/helpers/change-generator.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({
  options: { changes: { type: 'string' }, 'hive-changes': { type: 'string' }, 'keys-ratio': { type: 'string' } },
});
const CHANGES = Number(args.changes ?? process.env.BENCH_CURRENT_CHANGES ?? 10_000_000);
const HIVE_CHANGES = Number(args['hive-changes'] ?? process.env.BENCH_CURRENT_HIVE_CHANGES ?? CHANGES);
const KEYS_RATIO = Number(args['keys-ratio'] ?? 10);
const KEEP = process.env.BENCH_KEEP === '1';
const WORK = join(REPO, '.sluice', 'bench-current');
const WAREHOUSE = join(WORK, 'warehouse');
const RESULT_FILE = join(REPO, '.sluice', 'bench-current-result.json');
const DATABASE = 'bench_current';
/** The HiveServer2 catalog's snapshot suffix: its own generations, apart from the local catalog's `_snapshot`. */
const HIVE_SNAPSHOT_SUFFIX = '_hsnap';
const DAYS = 10;
const CHECKPOINT_EVERY = 1_000_000;
const say = (line: string): void => void process.stdout.write(line + '\n');
const fmt = (value: number, digits = 0): string => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const logger = pino({ level: 'silent' });

const COLUMNS: readonly SourceColumn[] = [
  { name: 'id', mysqlType: 'bigint', charset: null, primaryKey: true },
  { name: 'customer', mysqlType: 'varchar(32)', charset: 'utf8mb4' },
  { name: 'amount', mysqlType: 'decimal(12,2)', charset: null },
  { name: 'status', mysqlType: 'varchar(16)', charset: 'utf8mb4' },
  { name: 'updated', mysqlType: 'datetime', charset: null },
];
const STATUSES = ['new', 'paid', 'shipped', 'returned', 'closed'];

/** What the current state must answer: the live keys, and the sums of their amounts (in cents) and ids. */
interface Model {
  live: Uint8Array;
  cents: Int32Array;
  count: number;
  centsSum: bigint;
  idSum: bigint;
}

/** The sink writes `count` changes of ids 1..keys into `table`, from sequence `firstSeq` on; returns the next. */
async function writeChanges(table: string, count: number, keys: number, model: Model, firstSeq: bigint, random: () => number, startTs: number): Promise<bigint> {
  const fs = new LocalFileSystem('/');
  const catalog = new LocalCatalog(join(WORK, 'catalog'));
  const sink = new HiveSink(
    { fs, catalog, warehouse: WAREHOUSE, format: 'text', partition: { granularity: 'day', dayColumn: 'dt', hourColumn: 'hr' }, rollBytes: 128 * 1024 * 1024, rollSeconds: 0, channel: 0, jobId: `bench${firstSeq}`, logger },
    undefined,
  );
  const target = { database: DATABASE, table };
  let seq = firstSeq;
  let checkpoint = 0;
  for (let i = 0; i < count; i++) {
    const id = 1 + Math.floor(random() * keys);
    const live = model.live[id] === 1;
    const op: ChangeOp = !live ? 'insert' : random() < 0.85 ? 'update' : 'delete';
    const commitTs = startTs + Math.floor((i * DAYS * 86_400) / count);
    let image: CellValue[];
    if (op === 'delete') {
      image = [String(id), `c${id % 9973}`, centsText(model.cents[id]!), 'closed', '2026-11-01 00:00:00'];
      model.live[id] = 0;
      model.count--;
      model.centsSum -= BigInt(model.cents[id]!);
      model.idSum -= BigInt(id);
    } else {
      const cents = Math.floor(random() * 10_000_000);
      if (live) model.centsSum -= BigInt(model.cents[id]!);
      else {
        model.count++;
        model.idSum += BigInt(id);
      }
      model.live[id] = 1;
      model.cents[id] = cents;
      model.centsSum += BigInt(cents);
      image = [String(id), `c${id % 9973}`, centsText(cents), STATUSES[i % STATUSES.length]!, new Date(commitTs * 1000).toISOString().slice(0, 19).replace('T', ' ')];
    }
    const event: ChangeEvent = {
      schema: 'shop',
      table,
      op,
      columns: COLUMNS,
      before: op === 'delete' ? image : null,
      after: op === 'delete' ? null : image,
      commitTs,
      position: { file: 'mysql-bin.000001', offset: 4 + i, gtid: `0-1-${seq}` },
      sequence: seq++,
    };
    await sink.write(target, event, checkpoint);
    if ((i + 1) % CHECKPOINT_EVERY === 0 || i + 1 === count) {
      await sink.commit(await sink.preCommit());
      checkpoint++;
    }
  }
  return seq;
}

function centsText(cents: number): string {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

/** count, sum(amount) in cents, sum(id), as text. */
function expected(model: Model): string[] {
  return [String(model.count), String(model.centsSum), String(model.idSum)];
}

/** An answer row as count, cents, id sum: DuckDB prints a DECIMAL sum at its scale ('12.50'), Hive may not ('12.5'). */
function answerOf(row: readonly unknown[]): string[] {
  const [count, amount, ids] = row.map((value) => String(value));
  const [whole, fraction = ''] = amount!.split('.');
  return [count!, String(BigInt(whole!) * 100n + BigInt((fraction + '00').slice(0, 2))), ids!];
}

async function timed<T>(run: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const started = performance.now();
  const value = await run();
  return { seconds: (performance.now() - started) / 1000, value };
}

const SELECT = (relation: string): string => `SELECT count(*), sum(amount), sum(id) FROM ${relation}`;

interface Reading {
  engine: 'DuckDB' | 'HiveServer2';
  changes: number;
  keys: number;
  viewSeconds: number;
  materializedSeconds: number;
  foldSeconds: number;
  snapshotRows: number;
  ok: boolean;
  answer: string[];
}

/** Registers the local catalog's table, its partitions and files as they are, in HiveServer2. */
async function mirrorToHive(hive: HiveServer2Catalog, table: TableDefinition, local: Catalog): Promise<void> {
  await hive.createTable(table);
  for (const partition of await local.listPartitions(table.database, table.name)) await hive.addPartition(table.database, table.name, partition);
}

async function main(): Promise<void> {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WAREHOUSE, { recursive: true });
  const load = loadavg();
  say(`bench:current: ${fmt(CHANGES)} changes (${fmt(CHANGES / KEYS_RATIO)} keys) for DuckDB, ${HIVE_CHANGES > 0 ? fmt(HIVE_CHANGES) : 'no'} changes for HiveServer2; ${cpus().length} cores, load ${load.map((x) => x.toFixed(2)).join(' ')}`);
  const sizes = [...new Set([CHANGES, ...(HIVE_CHANGES > 0 ? [HIVE_CHANGES] : [])])].sort((x, y) => y - x);
  let hiveServer: HiveServer2 | undefined;
  let hiveCatalog: HiveServer2Catalog | undefined;
  let hiveUser: HiveConnection | undefined;
  const readings: Reading[] = [];
  const writes: { table: string; changes: number; seconds: number; mib: number }[] = [];
  const started = performance.now();
  try {
    if (HIVE_CHANGES > 0) {
      const hiveStart = performance.now();
      hiveServer = await startHiveServer2({ dir: join(WORK, 'hive'), heap: '2g' });
      say(`HiveServer2 up in ${((performance.now() - hiveStart) / 1000).toFixed(1)} s (warehouse on local disk)`);
      const connection = { host: hiveServer.host, port: hiveServer.port, authentication: hiveServer.authentication, connectTimeoutMs: 30_000, statementTimeoutMs: 6 * 3600_000 };
      hiveCatalog = new HiveServer2Catalog({ ...connection, fsDefaultFS: 'file:///', snapshotSuffix: HIVE_SNAPSHOT_SUFFIX });
      hiveUser = new HiveConnection(connection);
    }
    for (const changes of sizes) {
      const table = `orders_${changes}`;
      const keys = Math.max(1, Math.floor(changes / KEYS_RATIO));
      const model: Model = { live: new Uint8Array(keys + 1), cents: new Int32Array(keys + 1), count: 0, centsSum: 0n, idSum: 0n };
      const random = prng(changes);
      const startTs = Date.UTC(2026, 10, 1) / 1000;
      // 1. The history, 2. folded, 3. a tail after the fold.
      const tail = Math.max(1, Math.floor(changes / 100));
      const written = await timed(() => writeChanges(table, changes - tail, keys, model, 1n, random, startTs));
      const fs = new LocalFileSystem('/');
      const local = new LocalCatalog(join(WORK, 'catalog'));
      const definition = (await local.getTable(DATABASE, table))!;
      const mib = await tableMiB(fs, local, definition);
      writes.push({ table, changes: changes - tail, seconds: written.seconds, mib });
      say(`${table}: ${fmt(changes - tail)} changes written by the sink in ${written.seconds.toFixed(1)} s (${fmt((changes - tail) / written.seconds)} changes/s, ${fmt(mib, 1)} MiB of text)`);
      const hiveToo = hiveCatalog !== undefined && changes === HIVE_CHANGES;
      if (hiveToo) await mirrorToHive(hiveCatalog!, definition, local);
      const settings = { ...DEFAULT_MATERIALIZE, enabled: true };
      const localFold = await timed(() => new Materializer({ fs, catalog: local, stateDir: join(WORK, 'state'), jobId: 'benchlocal', settings, logger }).run([definition], 1));
      say(`  folded (local catalog) in ${localFold.seconds.toFixed(1)} s: ${fmt(localFold.value[0]?.rows ?? 0)} rows`);
      let hiveFold: { seconds: number; rows: number } | undefined;
      if (hiveToo) {
        const hiveDefinition = (await hiveCatalog!.getTable(DATABASE, table))!;
        const folded = await timed(() =>
          new Materializer({ fs, catalog: hiveCatalog!, stateDir: join(WORK, 'state-hive'), jobId: 'benchhive', settings: { ...settings, suffix: HIVE_SNAPSHOT_SUFFIX }, logger }).run([hiveDefinition], 1),
        );
        hiveFold = { seconds: folded.seconds, rows: folded.value[0]?.rows ?? 0 };
        say(`  folded (HiveServer2 catalog) in ${folded.seconds.toFixed(1)} s`);
      }
      await writeChanges(table, tail, keys, model, BigInt(changes - tail + 1), random, startTs + DAYS * 86_400);
      if (hiveToo) {
        // A new LocalCatalog: an instance keeps what it read (the partitions before the tail).
        const after = new LocalCatalog(join(WORK, 'catalog'));
        await mirrorToHive(hiveCatalog!, (await after.getTable(DATABASE, table))!, after);
      }
      const want = expected(model);
      say(`  + ${fmt(tail)} changes after the fold; the current state: ${fmt(model.count)} rows`);

      // DuckDB: the view over the whole history (no snapshot suffix matches), then the snapshot + changes.
      const catalog = new LocalCatalog(join(WORK, 'catalog'));
      const duckView = await timed(() => queryWarehouse({ catalog, fs, sql: SELECT(`${DATABASE}.${table}_current`), snapshotSuffix: '_none' }));
      const duckMaterialized = await timed(() => queryWarehouse({ catalog, fs, sql: SELECT(`${DATABASE}.${table}_current`) }));
      const duckAnswers = [duckView.value.rows[0]!, duckMaterialized.value.rows[0]!].map(answerOf);
      readings.push({
        engine: 'DuckDB',
        changes,
        keys,
        viewSeconds: duckView.seconds,
        materializedSeconds: duckMaterialized.seconds,
        foldSeconds: localFold.seconds,
        snapshotRows: localFold.value[0]?.rows ?? 0,
        ok: duckAnswers.every((answer) => JSON.stringify(answer) === JSON.stringify(want)),
        answer: duckAnswers[1]!,
      });
      say(`  DuckDB: view ${duckView.seconds.toFixed(2)} s, materialized ${duckMaterialized.seconds.toFixed(2)} s; answers ${JSON.stringify(duckAnswers)} (model ${JSON.stringify(want)})`);

      if (hiveToo) {
        // The whole-history view under another name: `_current` reads the snapshot since the swap.
        const hiveDefinition = (await hiveCatalog!.getTable(DATABASE, table))!;
        await hiveUser!.execute(currentViewStatement(hiveDefinition, { enabled: true, suffix: '_history' })!);
        const hiveView = await timed(() => hiveUser!.query(SELECT(`${DATABASE}.${table}_history`)));
        const hiveMaterialized = await timed(() => hiveUser!.query(SELECT(`${DATABASE}.${table}_current`)));
        const hiveAnswers = [hiveView.value, hiveMaterialized.value].map((rows) => answerOf(Object.values(rows[0] ?? {})));
        readings.push({
          engine: 'HiveServer2',
          changes,
          keys,
          viewSeconds: hiveView.seconds,
          materializedSeconds: hiveMaterialized.seconds,
          foldSeconds: hiveFold!.seconds,
          snapshotRows: hiveFold!.rows,
          ok: hiveAnswers.every((answer) => JSON.stringify(answer) === JSON.stringify(want)),
          answer: hiveAnswers[1]!,
        });
        say(`  HiveServer2: view ${hiveView.seconds.toFixed(2)} s, materialized ${hiveMaterialized.seconds.toFixed(2)} s; answers ${JSON.stringify(hiveAnswers)}`);
      }
    }
  } finally {
    await hiveCatalog?.close().catch(() => undefined);
    await hiveUser?.close().catch(() => undefined);
    await hiveServer?.stop().catch(() => undefined);
    if (!KEEP) rmSync(WORK, { recursive: true, force: true });
  }
  report(readings, writes, (performance.now() - started) / 1000, load);
  if (readings.some((reading) => !reading.ok)) {
    say('A CURRENT STATE DIFFERS FROM THE MODEL');
    process.exitCode = 1;
  }
}

async function tableMiB(fs: LocalFileSystem, catalog: LocalCatalog, table: TableDefinition): Promise<number> {
  let bytes = 0;
  for (const partition of await catalog.listPartitions(table.database, table.name)) {
    for (const file of await fs.list(partition.location)) bytes += file.type === 'file' ? file.length : 0;
  }
  return bytes / (1024 * 1024);
}

function report(readings: Reading[], writes: { table: string; changes: number; seconds: number; mib: number }[], seconds: number, before: number[]): void {
  const header = ['engine', 'changes', 'keys', 'current rows', 'view s', 'materialized s', 'view / materialized', 'fold s', 'check'];
  const rows = readings.map((reading) => [
    reading.engine,
    fmt(reading.changes),
    fmt(reading.keys),
    fmt(Number(reading.answer[0])),
    reading.viewSeconds.toFixed(2),
    reading.materializedSeconds.toFixed(2),
    (reading.viewSeconds / reading.materializedSeconds).toFixed(1),
    reading.foldSeconds.toFixed(1),
    reading.ok ? 'OK' : 'DIFFERS',
  ]);
  const widths = header.map((title, index) => Math.max(title.length, ...rows.map((row) => row[index]!.length)));
  const line = (cells: string[]): string => cells.map((cell, index) => (index === 0 ? cell.padEnd(widths[index]!) : cell.padStart(widths[index]!))).join('   ');
  say('');
  say(line(header));
  say('-'.repeat(line(header).length));
  for (const row of rows) say(line(row));
  const sideBySide = [...new Set(readings.map((reading) => reading.changes))].flatMap((changes) => {
    const duck = readings.find((reading) => reading.changes === changes && reading.engine === 'DuckDB');
    const hive = readings.find((reading) => reading.changes === changes && reading.engine === 'HiveServer2');
    return duck && hive
      ? [`${fmt(changes)} changes: HiveServer2 / DuckDB = ${(hive.viewSeconds / duck.viewSeconds).toFixed(1)} (view), ${(hive.materializedSeconds / duck.materializedSeconds).toFixed(1)} (materialized)`]
      : [];
  });
  for (const text of sideBySide) say(text);
  say(`written by the sink: ${writes.map((write) => `${write.table} ${fmt(write.changes)} changes in ${write.seconds.toFixed(1)} s (${fmt(write.mib, 1)} MiB)`).join('; ')}`);
  say(`load average ${before.map((x) => x.toFixed(2)).join(' ')} before, ${loadavg().map((x) => x.toFixed(2)).join(' ')} after; ${seconds.toFixed(0)} s in all`);
  writeFileSync(RESULT_FILE, JSON.stringify({ at: new Date().toISOString(), changes: CHANGES, hiveChanges: HIVE_CHANGES, readings, writes, seconds }, null, 2) + '\n');
}

await main();
