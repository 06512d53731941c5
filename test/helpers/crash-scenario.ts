// The heart of the suite: the daemon is killed with SIGKILL at random moments while a generator
// writes a random mix of changes (and large transactions) into sharded tables. At the end the Hive
// table must hold exactly the source's change stream: every change once, in commit order. The same
// scenario runs on every storage (local disk in crash.test.ts, HDFS and HiveServer2 in
// crash-hive.test.ts), in text and Parquet, with MariaDB or MySQL 9.7 as the source (crash-mysql.test.ts).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, statSync, watch } from 'node:fs';
import { join } from 'node:path';
import { ChangeGenerator, prng, SOURCE_COLUMN_NAMES, TABLE_RESET_KINDS, type ExpectedChange } from './change-generator.ts';
import { latestCheckpoint, makeWorkspace, metricsPort, startDaemon, type DaemonWorkspace, type RunningDaemon } from './daemon.ts';
import type { SourceServer } from './source-server.ts';
import type { StateStore } from '../../src/core/state-store.ts';
import { killAtCheckpointReaching, StatementPause } from './statement-kill.ts';
import { StatementTable } from './statement-table.ts';
import { sameStoppingTableStream, StoppingTable } from './stopping-table.ts';
import { bySequence, type TableRow } from './warehouse.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface CrashScenario {
  /** The source server: MariaDB or MySQL (see source-server.ts). */
  source: () => Promise<SourceServer>;
  kills: number;
  largeTransactionRows: number;
  seed: number;
  /**
   * Share of the generator's steps that are schema changes (ADD COLUMN at the end and in the middle,
   * DROP COLUMN, widening MODIFY); 0 (the default) keeps the tables as created, so `readRows` may
   * select the created columns only.
   */
  schemaChangeRate?: number;
  /**
   * Share of the generator's steps that empty a shard (TRUNCATE, or DROP TABLE + CREATE TABLE with
   * its columns of the moment), each expected as one truncate marker; default 0.01, low enough that
   * the shards keep hundreds of rows for updates and deletes to find.
   */
  tableResetRate?: number;
  /** Share of the generator's steps that prepare or end an XA transaction, with other transactions in between; 0 (the default): none. */
  xaRate?: number;
  /** sink.filesystem and sink.catalog as YAML (indented two spaces); local in the workspace when absent. */
  storage?: (tag: string) => Promise<string>;
  /** checkpoint.intervalSeconds; default 0.3. A remote state store pays a few round trips per checkpoint. */
  intervalSeconds?: number;
  /**
   * The writer's pause between transactions; default 3 ms. The test is about exactness, not speed: a
   * daemon whose every commit is WebHDFS round trips must not be outrun by a writer on the same 2 cores.
   */
  pauseBetweenTransactionsMs?: number;
  /** checkpoint.store and its keys as YAML (indented two spaces), and the store they name; checkpoint.dir when absent. */
  state?: (tag: string) => { yaml: string; store: StateStore };
  /** Where rows of an open transaction pile up on local disk (the spool, for HDFS); default: the local warehouse's staging. */
  localStagingDir?: (workspace: DaemonWorkspace) => string;
  /**
   * How much of the large transaction must be in staging when SIGTERM comes; default 1 MiB. Parquet
   * stages a row group at a time (the first one 1 MiB before compression), so a smaller figure there.
   */
  stagedBytesAtSigterm?: number;
  /** Every row of the target table as a reader sees it, keyed by column name. */
  readRows: (workspace: DaemonWorkspace, database: string, table: string) => Promise<TableRow[]>;
  /**
   * With it, a second table meets a change Hive cannot follow a third of the way through the kills
   * (sink.onTableError: table stops it alone), and this, the user's fix, runs after two thirds of
   * them, while the daemon is down: the table must catch up across the remaining kills.
   */
  fixHiveColumn?: (workspace: DaemonWorkspace, database: string, table: string, column: string, type: string) => Promise<void>;
}

export async function runCrashScenario(scenario: CrashScenario): Promise<void> {
  const KILLS = scenario.kills;
  const LARGE_TRANSACTION_ROWS = scenario.largeTransactionRows;
  const SEED = scenario.seed;
  const source = await scenario.source();
  const server = source.server;
  const connection = await server.rootConnection();
  const tag = `c${SEED}`;
  const tables = [`${tag}_shop_1.order_1`, `${tag}_shop_1.order_2`, `${tag}_shop_2.order_1`, `${tag}_shop_2.order_2`];
  await ChangeGenerator.createTables(connection, tables);
  const sideTable = scenario.fixHiveColumn ? new StoppingTable(connection, `${tag}_side.t`, SEED) : undefined;
  if (sideTable) await StoppingTable.create(connection, sideTable.table);
  // Statement-format sessions: on a table no pattern includes now and then, on `stmt` once, half way.
  const statementTable = new StatementTable(connection, `${tag}_stmt.t`, `${tag}_free.t`, SEED, source);
  await StatementTable.create(connection, statementTable.table, statementTable.uncaptured);
  const startPosition = await source.head();
  const workspace = makeWorkspace(server, {
    start: `{ gtid: '${startPosition}' }`,
    routing:
      `  include: ['${tag}_shop_*.*', '${tag}_side.*', '${tag}_stmt.*']\n  rules:\n    - match: '^${tag}_shop_\\d+\\.order_\\d+$'\n      target: ods_${tag}.orders\n` +
      `    - match: '^${tag}_side\\.t$'\n      target: ods_${tag}.side\n` +
      `    - match: '^${tag}_stmt\\.t$'\n      target: ods_${tag}.stmt`,
    intervalSeconds: scenario.intervalSeconds ?? 0.3,
    ...(scenario.storage ? { storage: await scenario.storage(tag) } : {}),
    ...(scenario.state ? { state: scenario.state(tag) } : {}),
  });

  const tableResetRate = scenario.tableResetRate ?? 0.01;
  const generator = new ChangeGenerator(connection, tables, SEED, {
    schemaChangeRate: scenario.schemaChangeRate ?? 0,
    tableResetRate,
    xaRate: scenario.xaRate ?? 0,
    openConnection: () => server.rootConnection(),
  });
  let generating = true;
  let transactions = 0;
  let modifyDue = false;
  let statementDue = false;
  const statementRandom = prng(SEED + 2);
  const pause = new StatementPause(() => source.binlogHead());
  const generation = (async () => {
    while (generating) {
      if (await pause.serve()) continue;
      await generator.randomChange();
      transactions++;
      if (sideTable && modifyDue && !sideTable.modified) await sideTable.modify();
      if (sideTable && transactions % 4 === 0) await sideTable.change();
      if (transactions % 4 === 2) await statementTable.change();
      if (statementDue && statementTable.statement === undefined) await statementTable.stop();
      if (statementRandom() < 0.05) await statementTable.uncapturedChange();
      if (transactions === 150) await generator.largeTransaction(LARGE_TRANSACTION_ROWS);
      await sleep(scenario.pauseBetweenTransactionsMs ?? 3);
    }
  })();

  const random = prng(SEED + 1);
  const checkpointIds = new Set<number>();
  mkdirSync(workspace.stateDir, { recursive: true });
  let killsInCommitWindow = 0;
  let sawStopped = false;
  let fixed = false;
  const fixIfStopped = async (): Promise<void> => {
    sawStopped ||= (await latestCheckpoint(workspace))?.tables?.stopped?.[`ods_${tag}.side`] !== undefined;
    if (!sawStopped || fixed) return;
    await scenario.fixHiveColumn!(workspace, `ods_${tag}`, 'side', 'd', 'string');
    fixed = true;
  };
  // The statements of their own that kills aim at, in turn (a schema change only where the scenario has them).
  const ownStatements: (() => Promise<unknown>)[] = [];
  if (tableResetRate > 0) ownStatements.push(() => generator.randomTableReset('truncate'));
  if (scenario.schemaChangeRate) ownStatements.push(() => generator.randomSchemaChange());
  if (tableResetRate > 0) ownStatements.push(() => generator.randomTableReset('drop-create'));
  let killsAfterOwnStatement = 0;
  for (let kill = 0; kill < KILLS; kill++) {
    if (kill === Math.floor(KILLS / 3)) modifyDue = true;
    if (kill === Math.floor(KILLS / 2)) statementDue = true;
    const daemon = startDaemon(workspace, server);
    if (kill % 4 === 2 && ownStatements.length > 0) {
      // Every fourth kill lands on the checkpoint right after a statement of its own (see
      // statement-kill.ts), asked of the generator once the daemon has caught up with what was
      // written when it started, so that the generator holds still no longer than needed.
      await source.waitForCheckpoint(workspace, await source.head(), 120_000, daemon);
      const asked = pause.ask(ownStatements[killsAfterOwnStatement++ % ownStatements.length]!);
      try {
        await killAtCheckpointReaching(workspace, daemon, await asked.written, 120_000);
      } finally {
        asked.release();
      }
    }
    // Every other kill lands the instant a checkpoint record appears: between record and commit,
    // the narrowest window of the protocol, which random timing alone would rarely hit.
    else if (kill % 2 === 1 && (await killWhenRecordLands(workspace, daemon, 8000))) killsInCommitWindow++;
    else await sleep(400 + random() * 3000);
    daemon.child.kill('SIGKILL');
    const exit = await daemon.exited;
    assert.equal(exit.signal, 'SIGKILL', `daemon died on its own before kill ${kill}:\n${daemon.output().slice(-3000)}`);
    const record = await latestCheckpoint(workspace);
    if (record) checkpointIds.add(record.id);
    if (sideTable && kill >= Math.floor((2 * KILLS) / 3)) await fixIfStopped();
  }
  generating = false;
  await generation;
  // A transaction still prepared commits now, so the comparison below knows its outcome.
  await generator.close();
  if (sideTable && !fixed) {
    // The kills came too fast for a run to reach the change: let one get there, then fix.
    const daemon = startDaemon(workspace, server);
    await source.waitForCheckpoint(workspace, await source.head(), 120_000, daemon);
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    await fixIfStopped();
    assert.ok(fixed, `a run past the MODIFY of ${sideTable.table} stopped that table:\n${daemon.output().slice(-3000)}`);
  }
  assert.ok(transactions > 150, 'the large transaction ran');
  if (scenario.xaRate) {
    const { committed, rolledBack } = generator.xaOutcomes;
    assert.ok(committed > 0 && rolledBack > 0, `XA transactions committed (${committed}) and rolled back (${rolledBack})`);
  }
  assert.ok(statementTable.statement !== undefined && statementTable.uncapturedStatements > 0, 'the statement-format sessions ran');
  if (scenario.schemaChangeRate) {
    const missing = SCHEMA_CHANGE_KINDS.filter(([, pattern]) => !generator.schemaChanges.some((statement) => pattern.test(statement)));
    assert.deepEqual(missing.map(([name]) => name), [], `every kind of schema change ran: ${generator.schemaChanges.join('; ')}`);
  }
  if (tableResetRate > 0) {
    const missing = TABLE_RESET_KINDS.filter((kind) => !generator.tableResets.some((reset) => reset.kind === kind));
    assert.deepEqual(missing, [], 'every way of emptying a table ran');
  }

  // SIGTERM while a large transaction streams: the daemon waits for its end, checkpoints, exits 0.
  const beforeLarge = await source.head();
  const stopping = startDaemon(workspace, server);
  await metricsPort(stopping);
  await source.waitForCheckpoint(workspace, beforeLarge, 120_000, stopping);
  await generator.largeTransaction(LARGE_TRANSACTION_ROWS);
  // The transaction is committed; the daemon is streaming it into staging when the signal comes.
  const stagingDir = scenario.localStagingDir?.(workspace) ?? join(workspace.warehouse, `ods_${tag}.db`, 'orders', '.data');
  const staged = await waitForStagingBytes(stagingDir, scenario.stagedBytesAtSigterm ?? 1 << 20, 60_000);
  const streamed = await latestCheckpoint(workspace);
  stopping.child.kill('SIGTERM');
  const stopExit = await stopping.exited;
  assert.equal(stopExit.code, 0, `SIGTERM during a large transaction exits 0:\n${stopping.output().slice(-2000)}`);
  assert.match(stopping.output(), /stopped after a final checkpoint/);
  assert.notEqual((await latestCheckpoint(workspace))?.id, streamed?.id, 'the stop took a final checkpoint');
  console.log(`SIGTERM came with ${staged} bytes of the large transaction in staging`);

  const endPosition = await source.head();
  const recordedBefore = (await latestCheckpoint(workspace))?.id ?? 0;
  const last = startDaemon(workspace, server);
  await metricsPort(last); // its signal handlers are in place from here on
  await source.waitForCheckpoint(workspace, endPosition, 300_000, last);
  // The statement table is retried from where it stopped at each start: wait until this run has met
  // its statement again and every other table is caught up.
  for (let waited = 0; ; waited += 200) {
    const record = await latestCheckpoint(workspace);
    if (record && record.id > recordedBefore && !record.tables?.ahead && Object.keys(record.tables?.stopped ?? {}).join() === `ods_${tag}.stmt`) break;
    assert.ok(waited < 300_000 && last.child.exitCode === null, `the statement table was never stopped again:\n${last.output().slice(-3000)}`);
    await sleep(200);
  }
  last.child.kill('SIGTERM');
  const exit = await last.exited;
  assert.equal(exit.code, 0, `clean stop exits 0:\n${last.output().slice(-2000)}`);
  await connection.end();

  const rows = bySequence(await scenario.readRows(workspace, `ods_${tag}`, 'orders'));
  console.log(
    `crash test: ${KILLS} kills, ${transactions} transactions (schema changes: ${describeSchemaChanges(generator.schemaChanges)}; ` +
      `truncates: ${describeTableResets(generator.tableResets)}; ` +
      `XA: ${generator.xaOutcomes.committed} committed, ${generator.xaOutcomes.rolledBack} rolled back), ` +
      `${generator.log.length} changes expected, ${rows.length} rows in Hive, ` +
      `${checkpointIds.size} distinct checkpoints seen between kills, ${killsInCommitWindow} kills right after a record landed, ` +
      `${killsAfterOwnStatement} at a checkpoint right after a TRUNCATE, DROP + CREATE or ALTER`,
  );
  assertSameStream(rows, generator.log, generator.columnNames);
  if (sideTable) {
    const sideRows = bySequence(await scenario.readRows(workspace, `ods_${tag}`, 'side'));
    console.log(`stopped table: ${sideTable.log.length} changes expected, ${sideRows.length} rows in Hive; fixed after a stop was recorded`);
    assert.equal(sameStoppingTableStream(sideRows, sideTable.log), undefined);
  }
  // The table a statement wrote stays stopped, at that statement; every other table caught up.
  const statementRows = bySequence(await scenario.readRows(workspace, `ods_${tag}`, 'stmt'));
  console.log(
    `statement table: ${statementTable.log.length} changes before \`${statementTable.statement}\`, ${statementTable.changesAfter} after it, ` +
      `${statementRows.length} rows in Hive; ${statementTable.uncapturedStatements} statements on an uncaptured table`,
  );
  const stopped = (await latestCheckpoint(workspace))?.tables?.stopped ?? {};
  assert.deepEqual(Object.keys(stopped), [`ods_${tag}.stmt`], `only the table the statement wrote is stopped: ${JSON.stringify((await latestCheckpoint(workspace))?.tables)}\n${last.output().split('\n').filter((line) => /stop|retry/i.test(line)).join('\n').slice(-3000)}`);
  assert.equal(stopped[`ods_${tag}.stmt`]!.code, 'SLUICE_BINLOG_STATEMENT_DML');
  assert.ok(stopped[`ods_${tag}.stmt`]!.message.includes(statementTable.statement!), stopped[`ods_${tag}.stmt`]!.message);
  const held = await statementTable.changesBefore(stopped[`ods_${tag}.stmt`]!.since);
  console.log(`statement table: stopped at the checkpoint after ${held.length} of them`);
  assert.equal(sameStoppingTableStream(statementRows, held), undefined);
  assert.ok(killsInCommitWindow >= KILLS / 4, `at least a quarter of the kills hit the record-to-commit window (${killsInCommitWindow})`);
}

const SCHEMA_CHANGE_KINDS: readonly [string, RegExp][] = [
  ['add at the end', / ADD COLUMN (?!.* AFTER )/],
  ['add in the middle', / ADD COLUMN .* AFTER /],
  ['drop', / DROP COLUMN /],
  ['int to bigint', / MODIFY .* BIGINT /],
  ['longer varchar', / MODIFY .* VARCHAR/],
];

function describeSchemaChanges(statements: readonly string[]): string {
  if (statements.length === 0) return 'none';
  return SCHEMA_CHANGE_KINDS.map(([name, pattern]) => `${statements.filter((statement) => pattern.test(statement)).length} ${name}`).join(', ');
}

function describeTableResets(resets: ChangeGenerator['tableResets']): string {
  return `${resets.length} (${TABLE_RESET_KINDS.map((kind) => `${resets.filter((reset) => reset.kind === kind).length} ${kind}`).join(', ')})`;
}

/** Waits until the staging files under `dir` hold at least `bytes`; returns how many they hold. */
async function waitForStagingBytes(dir: string, bytes: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let total = 0;
    for (const name of (existsSync(dir) ? readdirSync(dir, { recursive: true }) : []) as string[]) {
      const info = statSync(join(dir, name), { throwIfNoEntry: false });
      if (info?.isFile()) total += info.size;
    }
    if (total >= bytes) return total;
    if (Date.now() > deadline) throw new Error(`staging under ${dir} never reached ${bytes} bytes`);
    await sleep(10);
  }
}

/**
 * Kills the daemon as soon as a new checkpoint record file is renamed into place (one `accept`s, given
 * its path: read synchronously, so the kill still comes before the commit); false on timeout.
 */
export async function killWhenRecordLands(workspace: DaemonWorkspace, daemon: RunningDaemon, timeoutMs: number, accept: (file: string) => boolean = () => true): Promise<boolean> {
  if (workspace.state) return killWhenRemoteRecordLands(workspace.state, daemon, timeoutMs);
  return new Promise((resolve) => {
    const watcher = watch(workspace.stateDir, (_event, name) => {
      if (!name || !/^checkpoint-\d+\.json$/.test(String(name)) || !accept(join(workspace.stateDir, String(name)))) return;
      daemon.child.kill('SIGKILL');
      finish(true);
    });
    const timer = setTimeout(() => finish(false), timeoutMs);
    function finish(landed: boolean): void {
      clearTimeout(timer);
      watcher.close();
      resolve(landed);
    }
  });
}

type ComparedRow = Record<string, string | null>;

const cellText = (value: unknown): string | null =>
  value === null || value === undefined ? null : Buffer.isBuffer(value) ? value.toString('hex') : String(value);

/**
 * Compared by column name over every column the source tables ever had: a column a table lacked
 * when it wrote the change (added later, or dropped before) is NULL in Hive.
 */
function expectedRow(change: ExpectedChange, columns: readonly string[]): ComparedRow {
  const row: ComparedRow = { _op: change.op, _source: change.source };
  for (const name of columns) row[name] = cellText(change.row[name]);
  return row;
}

function actualRow(row: TableRow, columns: readonly string[]): ComparedRow {
  const compared: ComparedRow = { _op: cellText(row._op), _source: cellText(row._source) };
  for (const name of columns) compared[name] = cellText(row[name]);
  return compared;
}

export function assertSameStream(rows: TableRow[], expected: ExpectedChange[], columns: readonly string[] = SOURCE_COLUMN_NAMES): void {
  const sequences = new Set(rows.map((row) => String(row._seq)));
  assert.equal(sequences.size, rows.length, 'no sequence number appears twice (no duplicate rows)');
  for (let index = 0; index < Math.max(rows.length, expected.length); index++) {
    const actual = rows[index] ? actualRow(rows[index]!, columns) : undefined;
    const wanted = expected[index] ? expectedRow(expected[index]!, columns) : undefined;
    assert.deepEqual(actual, wanted, `change #${index} of ${expected.length} differs (Hive holds ${rows.length} rows)`);
  }
}

/** The same for a state store that cannot be watched (HDFS): its listing is polled as fast as it answers. */
async function killWhenRemoteRecordLands(state: StateStore, daemon: RunningDaemon, timeoutMs: number): Promise<boolean> {
  const records = async (): Promise<string[]> => (await state.list()).filter((name) => /^checkpoint-\d+\.json$/.test(name));
  const before = new Set(await records());
  // A start on HDFS (the lock, the leftovers, recovery over WebHDFS) takes a few times longer to its
  // first record than on local disk, more so on a busy machine.
  const deadline = Date.now() + 3 * timeoutMs;
  while (Date.now() < deadline && daemon.child.exitCode === null) {
    if ((await records()).some((name) => !before.has(name))) {
      daemon.child.kill('SIGKILL');
      return true;
    }
  }
  return false;
}
