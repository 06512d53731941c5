// The crash test's snapshot phase (docs/snapshot.md, docs/tests.md): tables hold several thousand
// rows before the first start, `snapshot.mode: initial` reads them in small chunks while a writer
// inserts, updates and deletes keys all over them (in chunks done, being read and not read yet) the
// whole time, also while the daemon is down, and the daemon is killed with SIGKILL again and again:
// - during the snapshot, spread over it, in turn a few milliseconds after it has read past a mark and
//   the instant a checkpoint record is renamed into place (between record and commit);
// - at the hand-over to pure streaming: the instant the first record saying every table is read
//   lands, then at a random moment and on a record landing while it streams on.
// At the end the latest state per key in Hive equals the source table, every change the writer made
// is in the changelog exactly once, no key is read twice (an untouched row once, as it was), and no
// _seq repeats (helpers/snapshot-check.ts, shared with the snapshot tests). On MariaDB and on MySQL
// 9.7 (GTIDs on, as the snapshot needs there); `npm run soak:crash` runs it longer.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { ResultSetHeader } from 'mysql2/promise';
import { prng } from './helpers/change-generator.ts';
import { killWhenRecordLands } from './helpers/crash-scenario.ts';
import { makeWorkspace, startDaemon, until, withDaemon, type RunningDaemon } from './helpers/daemon.ts';
import { testMariaDb, testMysql } from './helpers/servers.ts';
import { assertSnapshotLanded, keyText, rowsRead, snapshotDone, snapshotState, writeRandomChange, type MadeChange, type SnapshotTableSpec } from './helpers/snapshot-check.ts';
import { mariadbSource, mysqlSource, type SourceServer } from './helpers/source-server.ts';
import type { SnapshotState } from '../src/sources/snapshot/snapshot-progress.ts';

const KILLS = Number(process.env.SLUICE_CRASH_SNAPSHOT_KILLS ?? 9);
const ROWS_BEFORE = Number(process.env.SLUICE_CRASH_SNAPSHOT_ROWS ?? 8000);
const CHUNK_ROWS = Number(process.env.SLUICE_CRASH_SNAPSHOT_CHUNK ?? 10);
const SEED = Number(process.env.SLUICE_CRASH_SEED ?? Date.now() % 1_000_000);
const SERVERS = (process.env.SLUICE_CRASH_SNAPSHOT_SERVERS ?? 'mariadb,mysql').split(',');
/** Kills at the hand-over and after it; the others land during the snapshot. */
const HANDOVER_KILLS = 3;

const TABLES: SnapshotTableSpec[] = [
  { name: 'plain', ddl: '(id INT PRIMARY KEY, v VARCHAR(20))', key: ['id'], keyOf: (n) => [2 * n] },
  { name: 'composite', ddl: '(a VARCHAR(10), b INT, v VARCHAR(20), PRIMARY KEY (a, b))', key: ['a', 'b'], keyOf: (n) => [`k${n % 13}`, Math.floor(n / 13)] },
];

/**
 * Odd keys of `plain`, spread over it, that a second writer updates all at once, statement after
 * statement, the whole snapshot through (the random writer's keys are even): chunks holding one are
 * read while it changes, so that a change may land between a chunk's read and its high watermark,
 * where only leaving the keys changed in the window out of the chunk keeps the latest state right.
 * (That gap is a millisecond or less: a run without the exclusion still passed here, so the
 * exclusion's own test is snapshot-window.test.ts, which plays the stream step by step.)
 */
const HOT_IDS = Array.from({ length: 20 }, (_, j) => 800 * j + 1);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const SOURCES: Record<string, () => Promise<SourceServer>> = {
  mariadb: async () => mariadbSource(await testMariaDb()),
  mysql: async () => mysqlSource(await testMysql()),
};

for (const [index, name] of SERVERS.entries()) {
  const open = SOURCES[name];
  if (!open) throw new Error(`SLUICE_CRASH_SNAPSHOT_SERVERS: unknown server '${name}' (mariadb, mysql)`);
  const seed = SEED + 200 + index;
  test(`snapshot phase: ${KILLS} SIGKILLs during the snapshot and the hand-over, writes all the while, ${name} (seed ${seed})`, { timeout: (5 + KILLS / 3) * 60_000 }, () => runSnapshotCrash(open, seed));
}

async function runSnapshotCrash(open: () => Promise<SourceServer>, seed: number): Promise<void> {
  const source = await open();
  const server = source.server;
  const tag = `cs${seed}`;
  const setup = await server.rootConnection();
  await setup.query(`CREATE DATABASE ${tag}`);
  for (const table of TABLES) {
    await setup.query(`CREATE TABLE ${tag}.${table.name} ${table.ddl}`);
    for (let from = 0; from < ROWS_BEFORE; from += 5000) {
      const values = Array.from({ length: Math.min(5000, ROWS_BEFORE - from) }, (_, n) => [...table.keyOf(from + n), `before${from + n}`]);
      await setup.query(`INSERT INTO ${tag}.${table.name} VALUES ?`, [values]);
    }
  }
  await setup.query(`INSERT INTO ${tag}.plain VALUES ?`, [HOT_IDS.map((id) => [id, 'hot'])]);
  await setup.end();
  const workspace = makeWorkspace(server, {
    start: 'latest', // not used: a first start with a snapshot streams from the binlog's end
    routing: `  include: ['${tag}.*']`,
    intervalSeconds: 0.2,
    extra: `snapshot:\n  mode: initial\n  chunkRows: ${CHUNK_ROWS}\n`,
  });

  const made: MadeChange[] = [];
  const counter = { nextNew: ROWS_BEFORE };
  const random = prng(seed);
  const db = await server.rootConnection(tag);
  let writing = true;
  let writer: Promise<void> = Promise.resolve();
  let hotWriter: Promise<void> = Promise.resolve();
  const hotDb = await server.rootConnection(tag);
  const total = ROWS_BEFORE * TABLES.length;
  const snapshotKills = KILLS - HANDOVER_KILLS;
  const stateIn = (file: string): SnapshotState | undefined => {
    try {
      return JSON.parse(readFileSync(file, 'utf8')).sources?.snapshot as SnapshotState | undefined;
    } catch {
      return undefined; // pruned already: not the one
    }
  };
  let killedAt = 0;
  const report: string[] = [];
  let daemon: RunningDaemon | undefined;
  try {
    for (let kill = 0; kill < KILLS; kill++) {
      daemon = startDaemon(workspace, server);
      if (kill === 0) {
        // The writer starts once the stream's start is recorded: every change it makes is the
        // stream's, and the snapshot reads its rows or leaves them to the stream.
        await until('the first checkpoint', daemon, () => snapshotState(workspace));
        hotWriter = (async () => {
          for (let round = 0; writing; round++) {
            if (round % 20 === 0 && snapshotDone(await snapshotState(workspace))) return;
            const [result] = await hotDb.query<ResultSetHeader>('UPDATE plain SET v = ? WHERE id IN (?)', [`hot${round}`, HOT_IDS]);
            assert.equal(result.affectedRows, HOT_IDS.length);
            for (const id of HOT_IDS) made.push(['plain', 'update', keyText([id]), `hot${round}`]);
            await sleep(4);
          }
        })();
        writer = (async () => {
          while (writing) {
            await writeRandomChange(db, TABLES, random, counter, made);
            await sleep(2);
          }
        })();
      }
      if (kill < snapshotKills) {
        // Spread over the snapshot: past the (kill+1)-th of snapshotKills+1 marks of the rows, and
        // past where the last kill left it.
        const mark = Math.max(killedAt + 1, Math.floor((total * 0.8 * (kill + 1)) / (snapshotKills + 1)));
        await until(`kill ${kill}: the snapshot reads past ${mark} rows`, daemon, async () => {
          const state = await snapshotState(workspace);
          return rowsRead(state) >= mark || snapshotDone(state) || undefined;
        }, 120_000);
        // In turn: a few milliseconds on, or the instant a record with more rows read than at the mark lands.
        const marked = rowsRead(await snapshotState(workspace));
        if (kill % 2 === 1) assert.ok(await killWhenRecordLands(workspace, daemon, 30_000, (file) => rowsRead(stateIn(file)) > marked), `kill ${kill}: a record landed`);
        else await sleep(Math.floor(random() * 100));
      } else if (kill === snapshotKills) {
        // The hand-over: the instant the record saying every table is read lands, before its commit.
        assert.ok(await killWhenRecordLands(workspace, daemon, 120_000, (file) => snapshotDone(stateIn(file))), `kill ${kill}: the record saying the snapshot is done landed:\n${daemon.output().slice(-3000)}`);
      } else if (kill % 2 === 0) {
        await sleep(300 + Math.floor(random() * 1500));
      } else {
        await sleep(200);
        assert.ok(await killWhenRecordLands(workspace, daemon, 30_000), `kill ${kill}: a record landed`);
      }
      daemon.child.kill('SIGKILL');
      await daemon.exited;
      assert.equal(daemon.child.signalCode, 'SIGKILL', `kill ${kill}: the daemon was running until killed:\n${daemon.output().slice(-3000)}`);
      const state = await snapshotState(workspace);
      killedAt = rowsRead(state);
      report.push(`${rowsRead(state)}${snapshotDone(state) ? ' (done)' : ''}`);
      console.log(`kill ${kill}: ${report.at(-1)} rows read, ${made.length} changes written`);
      if (kill < snapshotKills) assert.ok(!snapshotDone(state), `kill ${kill} landed mid-snapshot (make the tables bigger if not): ${JSON.stringify(state?.position)}`);
    }
    const { daemon: last, exit } = await withDaemon(workspace, server, async (last) => {
      await until('the snapshot is done', last, async () => snapshotDone(await snapshotState(workspace)) || undefined, 120_000);
      writing = false;
      await writer;
      await hotWriter;
      await source.waitForCheckpoint(workspace, await source.head(), 60_000, last);
    });
    assert.equal(exit.code, 0, last.output().slice(-3000));
  } catch (error) {
    daemon?.child.kill('SIGKILL'); // a failed wait leaves it running
    await db.end();
    throw error;
  } finally {
    writing = false;
    await writer.catch(() => undefined);
    await hotWriter.catch(() => undefined);
    await hotDb.end();
  }
  console.log(`snapshot crash test on ${source.name}: ${KILLS} kills, rows read at each: ${report.join(', ')}; ${made.length} changes written`);
  assert.ok(made.length > 200, `the writer wrote all the while (${made.length} changes)`);
  try {
    await assertSnapshotLanded({ workspace, db, hiveDb: tag, tables: TABLES, rowsBefore: ROWS_BEFORE, made });
  } finally {
    await db.end();
  }
}
