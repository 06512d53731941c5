// Materialization under SIGKILL: the real daemon streams a random workload (inserts, updates, some
// of which change the primary key, deletes, schema changes, TRUNCATE and DROP+CREATE of two shards merged into one table) while a
// schedule that fires every second folds it into `orders_snapshot` after checkpoints. The daemon is
// killed at random moments and the instant a materialization record lands; after a final clean run
// the current state `sluice query` gives (the snapshot plus the changes after it) must be the source
// tables row by row, the same as the view over the whole history, and the snapshot table itself the
// same rows.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { queryWarehouse } from '../src/cli/query.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { snapshotWatermark } from '../src/sinks/snapshot-table.ts';
import { ChangeGenerator, prng } from './helpers/change-generator.ts';
import { cleanRun, killOnce, shardedOrders } from './helpers/intent-crash.ts';

const KILLS = Number(process.env.SLUICE_MATERIALIZE_KILLS ?? 6);
const SEED = Number(process.env.SLUICE_CRASH_SEED ?? Date.now() % 1_000_000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const RECORD = /^materialize-.+\.json$/;

test(`materialization under ${KILLS} SIGKILLs keeps the current state exact (seed ${SEED})`, { timeout: 6 * 60_000 }, async () => {
  const started = Date.now();
  const tag = `m${SEED}`;
  const sharded = await shardedOrders(tag, `  materialize:\n    enabled: true\n    schedule: '* * * * * *'\n`);
  const { connection, tables, workspace } = sharded;
  const generator = new ChangeGenerator(connection, tables, SEED, { schemaChangeRate: 0.03, tableResetRate: 0.02, keyChangeRate: 0.2 });
  const random = prng(SEED + 1);
  let generating = true;
  const generation = (async () => {
    while (generating) {
      await generator.randomChange();
      await sleep(5);
    }
  })();

  mkdirSync(workspace.stateDir, { recursive: true });
  let killsAtRecord = 0;
  let interrupted = 0;
  let sampleLine: string | undefined;
  try {
    for (let kill = 0; kill < KILLS; kill++) {
      // Every other kill lands the instant a materialization record appears: between the record and
      // the end of its swap and cleanup.
      const killed = await killOnce(sharded, {
        record: RECORD,
        atRecord: kill % 2 === 1,
        timeoutMs: 8000,
        otherwiseMs: 800 + random() * 2500,
        waitForStart: true,
        onOutput: (chunk) => (sampleLine ??= chunk.split('\n').find((line) => line.includes('"msg":"table materialized"'))),
      });
      if (killed.atRecord) killsAtRecord++;
      if (killed.recordLeft) interrupted++;
    }
    generating = false;
    await generation;

    // A clean run: catch up, let a materialization fold everything, stop.
    await cleanRun(sharded, async (last) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const catalog = new LocalCatalog(workspace.catalogDir);
        const snapshot = await catalog.getTable(`ods_${tag}`, 'orders_snapshot');
        const top = await queryWarehouse({ catalog, fs: new LocalFileSystem(workspace.warehouse), sql: `SELECT max(_seq) FROM ods_${tag}.orders` });
        if (snapshot && String(snapshotWatermark(snapshot)) === top.rows[0]![0]) return;
        if (Date.now() > deadline) throw new Error(`no materialization caught up with the table:\n${last.output().slice(-3000)}`);
        await sleep(200);
      }
    });
  } finally {
    generating = false;
    await generation.catch(() => undefined);
  }

  const catalog = new LocalCatalog(workspace.catalogDir);
  const fs = new LocalFileSystem(workspace.warehouse);
  const table = (await catalog.getTable(`ods_${tag}`, 'orders'))!;
  assert.deepEqual(table.primaryKey, ['id']);
  const sourceColumns = table.columns.map((column) => column.name).filter((name) => !name.startsWith('_'));
  const list = sourceColumns.map((name) => `"${name}"`).join(', ');
  const order = ` ORDER BY id`;
  const materialized = await queryWarehouse({ catalog, fs, sql: `SELECT ${list} FROM ods_${tag}.orders_current${order}` });
  const wholeHistory = await queryWarehouse({ catalog, fs, sql: `SELECT ${list} FROM ods_${tag}.orders_current${order}`, snapshotSuffix: '_none' });
  const snapshotRows = await queryWarehouse({ catalog, fs, sql: `SELECT ${list} FROM ods_${tag}.orders_snapshot${order}` });
  assert.deepEqual(materialized.rows, wholeHistory.rows, 'snapshot + later changes = the view over the whole history');
  assert.deepEqual(snapshotRows.rows, materialized.rows, 'the snapshot table holds the current state once it has caught up');

  // Row by row against the source: every key, and every text value the source still has.
  const sourceRows: Record<string, unknown>[] = [];
  for (const source of tables) {
    const [rows] = await connection.query(`SELECT * FROM ${source}`);
    sourceRows.push(...(rows as Record<string, unknown>[]));
  }
  await connection.end();
  sourceRows.sort((x, y) => Number(x.id) - Number(y.id));
  assert.deepEqual(
    materialized.rows.map((row) => row[0]),
    sourceRows.map((row) => String(row.id)),
    'the keys of the current state are the source tables\' keys',
  );
  let compared = 0;
  materialized.rows.forEach((row, index) => {
    const source = sourceRows[index]!;
    for (const [column, value] of Object.entries(source)) {
      if (typeof value !== 'string' || column === 'created' || !sourceColumns.includes(column)) continue;
      assert.equal(row[sourceColumns.indexOf(column)], value, `id ${String(source.id)}, column ${column}`);
      compared++;
    }
  });
  assert.deepEqual(readdirSync(workspace.stateDir).filter((name) => RECORD.test(name)), [], 'no materialization record is left');
  const generations = readdirSync(join(workspace.warehouse, `ods_${tag}.db`, 'orders_snapshot'));
  assert.ok(generations.length <= 2, `at most the current generation and the one before it are kept: ${generations.join(', ')}`);
  console.log(
    `materialize crash test: ${KILLS} kills (${killsAtRecord} the instant a record landed, ${interrupted} left a record for recovery), ` +
      `${generator.log.length} changes, ${generator.keyChanges} key changes, ${generator.schemaChanges.length} schema changes, ${generator.tableResets.length} tables emptied; ` +
      `${materialized.rows.length} current rows, ${compared} text values compared; ${Math.round((Date.now() - started) / 1000)} s\n` +
      `a materialization log line: ${sampleLine}`,
  );
  assert.ok(generator.keyChanges > 0, 'updates changed primary keys');
  assert.ok(killsAtRecord >= 1, 'at least one kill landed the instant a materialization record appeared');
});
