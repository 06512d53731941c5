// XA transactions: MariaDB writes an XA transaction's rows at XA PREPARE, and XA COMMIT or XA
// ROLLBACK comes later, as a transaction of its own. Rows of a rolled-back one never reach Hive; a
// committed one lands exactly once, also when the daemon is killed between PREPARE and COMMIT.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { addMysqlGtid } from '../src/sources/binlog/position/binlog-position.ts';
import { parseXaStatement } from '../src/sources/binlog/stream/xa-statement.ts';
import { type DaemonWorkspace, gtidBinlogPos, latestCheckpoint, makeWorkspace, metricsPort, type RunningDaemon, startDaemon, stopDaemon, until, waitForCheckpoint } from './helpers/daemon.ts';
import { killWhenRecordLands } from './helpers/crash-scenario.ts';
import { REPO_ROOT, testMariaDb } from './helpers/servers.ts';
import { bySequence, readCommittedRows } from './helpers/warehouse.ts';
import type { MariaDbServer } from './servers/mariadb.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// A failed assertion must not leave a daemon behind (the test process would wait for it).
const daemons: RunningDaemon[] = [];
function start(workspace: DaemonWorkspace, server: MariaDbServer): RunningDaemon {
  const daemon = startDaemon(workspace, server);
  daemons.push(daemon);
  return daemon;
}
afterEach(() => {
  for (const daemon of daemons.splice(0)) if (daemon.child.exitCode === null && daemon.child.signalCode === null) daemon.child.kill('SIGKILL');
});

/** One XA transaction on its own connection, as an application server's transaction manager runs it. */
class XaTransaction {
  private constructor(readonly xid: string) {}

  /** XA START, the statements, XA END, XA PREPARE; the connection closes (the prepared transaction stays). */
  static async prepare(server: MariaDbServer, xid: string, statements: string[]): Promise<XaTransaction> {
    const connection = await server.rootConnection();
    await connection.query(`XA START '${xid}'`);
    for (const statement of statements) await connection.query(statement);
    await connection.query(`XA END '${xid}'`);
    await connection.query(`XA PREPARE '${xid}'`);
    await connection.end();
    return new XaTransaction(xid);
  }

  /** XA COMMIT / ROLLBACK from another session: MariaDB allows it once the preparing one is gone. */
  async finish(server: MariaDbServer, how: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    const connection = await server.rootConnection();
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await connection.query(`XA ${how} '${this.xid}'`);
          return;
        } catch (error) {
          // The server lets go of the prepared transaction a moment after its session closes.
          if ((error as { code?: string }).code !== 'ER_XAER_NOTA' || attempt > 400) throw error;
          await sleep(50);
        }
      }
    } finally {
      await connection.end();
    }
  }
}

async function statements(server: MariaDbServer, sql: string[]): Promise<void> {
  const connection = await server.rootConnection();
  try {
    for (const statement of sql) await connection.query(statement);
  } finally {
    await connection.end();
  }
}

/** The rows a table holds, in `_seq` order, as `op:id:v`. */
async function heldRows(workspace: DaemonWorkspace, database: string, table: string): Promise<string[]> {
  const catalog = new LocalCatalog(workspace.catalogDir);
  if (!(await catalog.getTable(database, table))) return [];
  const rows = bySequence(await readCommittedRows(catalog, new LocalFileSystem(workspace.warehouse), database, table));
  return rows.map((row) => `${String(row._op)}:${String(row.id)}:${String(row.v)}`);
}

function stagedFiles(workspace: DaemonWorkspace, database: string, table: string): string[] {
  const dir = join(workspace.warehouse, `${database}.db`, table, '.data');
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).filter((name) => statSync(join(dir, name)).isFile());
}

async function caughtUp(workspace: DaemonWorkspace, server: MariaDbServer, daemon: RunningDaemon): Promise<void> {
  const record = await waitForCheckpoint(workspace, await gtidBinlogPos(server), 60_000, daemon);
  // The record lands before its renames: what a reader sees is there once they are done.
  const renamed = record.commits.flatMap((commit) => (commit.kind === 'rename' ? [join(workspace.warehouse, commit.to)] : []));
  await until("the checkpoint's renames", daemon, () => renamed.every((path) => existsSync(path)) || undefined);
}

async function stop(daemon: RunningDaemon): Promise<void> {
  assert.equal((await stopDaemon(daemon)).code, 0, daemon.output().slice(-3000));
}

async function kill(daemon: RunningDaemon): Promise<void> {
  daemon.child.kill('SIGKILL');
  assert.equal((await daemon.exited).signal, 'SIGKILL', daemon.output().slice(-3000));
}

async function waitFor(what: string, condition: () => Promise<boolean> | boolean, daemon: RunningDaemon, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (daemon.child.exitCode !== null || Date.now() > deadline) assert.fail(`${what} did not happen:\n${daemon.output().slice(-3000)}`);
    await sleep(50);
  }
}

/** Sets checkpoint.intervalSeconds for the next start: long, so a kill lands before any checkpoint. */
function setInterval(workspace: DaemonWorkspace, seconds: number): void {
  writeFileSync(workspace.configFile, readFileSync(workspace.configFile, 'utf8').replace(/intervalSeconds: .*/, `intervalSeconds: ${seconds}`));
}

async function setUp(name: string): Promise<{ server: MariaDbServer; workspace: DaemonWorkspace; db: string }> {
  const server = await testMariaDb();
  const db = `xa_${name}_${Date.now() % 1_000_000}`;
  await statements(server, [`CREATE DATABASE ${db}`, `CREATE TABLE ${db}.a (id INT PRIMARY KEY, v VARCHAR(20))`, `CREATE TABLE ${db}.b (id INT PRIMARY KEY, v VARCHAR(20))`]);
  const workspace = makeWorkspace(server, { start: `{ gtid: '${await gtidBinlogPos(server)}' }`, routing: `  include: ['${db}.*']`, intervalSeconds: 0.3 });
  return { server, workspace, db };
}

test('XA: a rolled-back transaction never lands, a committed one lands once, after the transactions committed in between', { timeout: 120_000 }, async () => {
  const { server, workspace, db } = await setUp('outcome');
  const daemon = start(workspace, server);
  await metricsPort(daemon);
  await caughtUp(workspace, server, daemon);

  const kept = await XaTransaction.prepare(server, 'kept', [`INSERT INTO ${db}.a VALUES (1, 'xa')`, `INSERT INTO ${db}.b VALUES (1, 'xa')`, `UPDATE ${db}.a SET v = 'xa2' WHERE id = 1`]);
  const dropped = await XaTransaction.prepare(server, 'dropped', [`INSERT INTO ${db}.a VALUES (2, 'rolled back')`, `INSERT INTO ${db}.b VALUES (2, 'rolled back')`]);
  await statements(server, [`INSERT INTO ${db}.a VALUES (3, 'between')`, `INSERT INTO ${db}.b VALUES (3, 'between')`]);
  await caughtUp(workspace, server, daemon);
  // Checkpoints past both PREPAREs: the rows are held, not visible, and the record names their files.
  assert.deepEqual(await heldRows(workspace, db, 'a'), ['insert:3:between'], 'prepared rows are not visible');
  assert.deepEqual(await heldRows(workspace, db, 'b'), ['insert:3:between']);
  const record = await latestCheckpoint(workspace);
  assert.deepEqual(Object.keys(record?.preparedXa ?? {}).sort(), [`X'64726f70706564',X'',1`, `X'6b657074',X'',1`]);

  await dropped.finish(server, 'ROLLBACK');
  await statements(server, [`INSERT INTO ${db}.a VALUES (4, 'after rollback')`]);
  await kept.finish(server, 'COMMIT');
  // ONE PHASE: MariaDB logs it as an ordinary transaction.
  const onePhase = await server.rootConnection();
  await onePhase.query(`XA START 'one'`);
  await onePhase.query(`INSERT INTO ${db}.a VALUES (5, 'one phase')`);
  await onePhase.query(`XA END 'one'`);
  await onePhase.query(`XA COMMIT 'one' ONE PHASE`);
  // An XA ROLLBACK before PREPARE writes nothing at all.
  await onePhase.query(`XA START 'never'`);
  await onePhase.query(`INSERT INTO ${db}.a VALUES (6, 'never')`);
  await onePhase.query(`XA END 'never'`);
  await onePhase.query(`XA ROLLBACK 'never'`);
  await onePhase.end();
  await caughtUp(workspace, server, daemon);
  await stop(daemon);

  // By _seq: the XA rows are numbered where they were prepared, before the transactions in between.
  assert.deepEqual(await heldRows(workspace, db, 'a'), ['insert:1:xa', 'update:1:xa2', 'insert:3:between', 'insert:4:after rollback', 'insert:5:one phase']);
  assert.deepEqual(await heldRows(workspace, db, 'b'), ['insert:1:xa', 'insert:3:between']);
  assert.equal((await latestCheckpoint(workspace))?.preparedXa, undefined, 'nothing is held any more');
  assert.deepEqual([...stagedFiles(workspace, db, 'a'), ...stagedFiles(workspace, db, 'b')], [], 'the rolled-back rows are deleted from staging');
  assert.match(daemon.output(), /XA transaction rolled back/);
});

test('XA: kill -9 between PREPARE and COMMIT, before and after a checkpoint holds the rows: exactly once', { timeout: 240_000 }, async () => {
  const { server, workspace, db } = await setUp('kill');
  const expectedA: string[] = [];
  let daemon = start(workspace, server);
  await metricsPort(daemon);
  await caughtUp(workspace, server, daemon);

  // 1. Killed after a checkpoint recorded the held files; COMMIT while the daemon is down.
  const first = await XaTransaction.prepare(server, 'first', [`INSERT INTO ${db}.a VALUES (1, 'first')`, `INSERT INTO ${db}.b VALUES (1, 'first')`]);
  expectedA.push('insert:1:first');
  await statements(server, [`INSERT INTO ${db}.a VALUES (2, 'between')`]);
  expectedA.push('insert:2:between');
  await caughtUp(workspace, server, daemon);
  assert.deepEqual(await heldRows(workspace, db, 'a'), ['insert:2:between'], 'prepared rows are not visible');
  assert.ok((await latestCheckpoint(workspace))?.preparedXa?.[`X'6669727374',X'',1`]?.length === 2, 'the record holds the files of both tables');
  await kill(daemon);
  await first.finish(server, 'COMMIT');
  await statements(server, [`INSERT INTO ${db}.a VALUES (3, 'after first')`]);
  expectedA.push('insert:3:after first');

  // 2. Killed after PREPARE was read, before any checkpoint past it: the restart reads it all again.
  const second = await XaTransaction.prepare(server, 'second', [`INSERT INTO ${db}.a VALUES (4, 'second')`]);
  expectedA.push('insert:4:second');
  const third = await XaTransaction.prepare(server, 'third', [`INSERT INTO ${db}.a VALUES (5, 'third, rolled back')`]);
  setInterval(workspace, 3600);
  daemon = start(workspace, server);
  // No tick comes: the run stages XA first's release, 'after first', second and third, and commits nothing.
  await waitFor('staging of second and third', () => /XA transaction committed/.test(daemon.output()) && stagedFiles(workspace, db, 'a').length >= 4, daemon);
  await kill(daemon);
  assert.deepEqual(await heldRows(workspace, db, 'a'), ['insert:2:between'], 'nothing more committed (no checkpoint)');

  // 3. A run that checkpoints the held files of second and third; then XA COMMIT is read, and the kill
  //    comes before the checkpoint that would commit it.
  setInterval(workspace, 0.3);
  daemon = start(workspace, server);
  await caughtUp(workspace, server, daemon);
  assert.deepEqual(await heldRows(workspace, db, 'a'), ['insert:1:first', 'insert:2:between', 'insert:3:after first']);
  assert.deepEqual(Object.keys((await latestCheckpoint(workspace))?.preparedXa ?? {}).length, 2);
  await stop(daemon);
  setInterval(workspace, 3600);
  daemon = start(workspace, server);
  await metricsPort(daemon);
  await second.finish(server, 'COMMIT');
  await third.finish(server, 'ROLLBACK');
  await waitFor('XA COMMIT and ROLLBACK read', () => /XA transaction committed/.test(daemon.output()) && /XA transaction rolled back/.test(daemon.output()), daemon);
  await kill(daemon);

  // 4. The last run: kill right as the checkpoint that commits them lands (between record and commit).
  setInterval(workspace, 0.3);
  await statements(server, [`INSERT INTO ${db}.a VALUES (6, 'last')`]);
  expectedA.push('insert:6:last');
  daemon = start(workspace, server);
  assert.ok(await killWhenRecordLands(workspace, daemon, 30_000), `a checkpoint record landed:\n${daemon.output().slice(-3000)}`);
  assert.equal((await daemon.exited).signal, 'SIGKILL');
  assert.equal((await latestCheckpoint(workspace))?.preparedXa, undefined, 'the record that landed commits second and drops third');
  daemon = start(workspace, server);
  await metricsPort(daemon);
  await caughtUp(workspace, server, daemon);
  await stop(daemon);

  assert.deepEqual(await heldRows(workspace, db, 'a'), expectedA);
  assert.deepEqual(await heldRows(workspace, db, 'b'), ['insert:1:first']);
  assert.deepEqual([...stagedFiles(workspace, db, 'a'), ...stagedFiles(workspace, db, 'b')], []);
});

test('an xid reads the same however the statement spells it, as the binlog events carry it', () => {
  const logged = `X'6b657074',X'',1`;
  assert.deepEqual(parseXaStatement(`XA COMMIT X'6b657074',X'',1`), { verb: 'commit', xid: logged, onePhase: false });
  assert.equal(parseXaStatement(`xa rollback 'kept'`)?.xid, logged);
  assert.equal(parseXaStatement(`XA END 0x6b657074, '', 1`)?.xid, logged);
  assert.deepEqual(parseXaStatement(`XA COMMIT 'a''b', 'q', 7 ONE PHASE`), { verb: 'commit', xid: `X'612762',X'71',7`, onePhase: true });
  assert.equal(parseXaStatement(`XA BEGIN 'x'`)?.verb, 'start');
  assert.equal(parseXaStatement('XA RECOVER'), undefined);
  assert.equal(parseXaStatement('INSERT INTO t VALUES (1)'), undefined);
  // MySQL gives XA PREPARE a GTID of its own, which zongji folds in late: the boundary adds it.
  assert.equal(addMysqlGtid('3e11fa47-71ca-11e1-9e33-c80aa9429562:1-41', '3e11fa47-71ca-11e1-9e33-c80aa9429562:42'), '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-42');
});

test('XA: checkpoint show lists held transactions; set forgets them and says what that means', { timeout: 120_000 }, async () => {
  const { server, workspace, db } = await setUp('cli');
  let daemon = start(workspace, server);
  await metricsPort(daemon);
  const held = await XaTransaction.prepare(server, 'held', [`INSERT INTO ${db}.a VALUES (1, 'held')`]);
  await caughtUp(workspace, server, daemon);
  await stop(daemon);
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), 'checkpoint', ...args, '--config', workspace.configFile], {
      encoding: 'utf8',
      env: { ...process.env, SLUICE_TEST_PASSWORD: server.password },
    });
  const shown = cli('show');
  assert.match(shown.stdout, /prepared XA: +X'68656c64',X'',1, 1 staged file\(s\) held until its XA COMMIT/);

  const moved = cli('set', '--latest');
  assert.equal(moved.status, 0, moved.stderr);
  assert.match(moved.stdout, /forgotten XA: +X'68656c64',X'',1, prepared and not yet committed: its held rows are deleted at the next start/);
  assert.equal((await latestCheckpoint(workspace))?.preparedXa, undefined);

  // Its COMMIT now comes for a transaction the stream did not see prepared: said, not silent.
  await held.finish(server, 'COMMIT');
  daemon = start(workspace, server);
  await metricsPort(daemon);
  await caughtUp(workspace, server, daemon);
  await stop(daemon);
  assert.match(daemon.output(), /XA COMMIT of a transaction this stream did not see prepared/);
  assert.deepEqual(stagedFiles(workspace, db, 'a'), [], 'the forgotten files are deleted');
});

test('XA: a stopped table keeps the held rows of a transaction prepared before its point, and catches up the rest once', { timeout: 180_000 }, async () => {
  const server = await testMariaDb();
  const db = `xa_stop_${Date.now() % 1_000_000}`;
  await statements(server, [`CREATE DATABASE ${db}`, `CREATE TABLE ${db}.s (id INT PRIMARY KEY, d DECIMAL(38,0))`, `CREATE TABLE ${db}.a (id INT PRIMARY KEY, v VARCHAR(20))`]);
  const workspace = makeWorkspace(server, { start: `{ gtid: '${await gtidBinlogPos(server)}' }`, routing: `  include: ['${db}.*']`, intervalSeconds: 0.3 });
  // A catalog read afresh each time: the daemon changes it meanwhile.
  const catalog = () => new LocalCatalog(workspace.catalogDir);
  const sRows = async () => bySequence(await readCommittedRows(catalog(), new LocalFileSystem(workspace.warehouse), db, 's')).map((row) => `${String(row._op)}:${String(row.id)}:${String(row.d)}`);

  // 1. "early" is prepared and a checkpoint holds its files for both tables.
  let daemon = start(workspace, server);
  await metricsPort(daemon);
  const early = await XaTransaction.prepare(server, 'early', [`INSERT INTO ${db}.s VALUES (1, 5)`, `INSERT INTO ${db}.a VALUES (1, 'early')`]);
  await caughtUp(workspace, server, daemon);
  await stop(daemon);
  // 2. Hive's column of s no longer fits (as if someone changed it): s stops at its next change.
  await catalog().changeColumnType(db, 's', 'd', 'boolean');
  await statements(server, [`INSERT INTO ${db}.s VALUES (2, 7)`, `INSERT INTO ${db}.a VALUES (2, 'ordinary')`]);
  const late = await XaTransaction.prepare(server, 'late', [`INSERT INTO ${db}.s VALUES (3, 9)`, `INSERT INTO ${db}.a VALUES (3, 'late')`]);
  daemon = start(workspace, server);
  await metricsPort(daemon);
  await early.finish(server, 'COMMIT');
  await late.finish(server, 'COMMIT');
  await caughtUp(workspace, server, daemon);
  await stop(daemon);
  assert.ok((await latestCheckpoint(workspace))?.tables?.stopped?.[`${db}.s`], `s is stopped:\n${daemon.output().slice(-3000)}`);
  // s holds every change before its point: early's row, prepared before it, committed while s was stopped.
  assert.deepEqual(await sRows(), ['insert:1:5']);
  assert.deepEqual(await heldRows(workspace, db, 'a'), ['insert:1:early', 'insert:2:ordinary', 'insert:3:late']);

  // 3. The fix, and a start that catches s up: the rest of its changes once, late's included.
  await catalog().changeColumnType(db, 's', 'd', 'decimal(38,0)');
  daemon = start(workspace, server);
  await metricsPort(daemon);
  // The newest record already covers the binlog: wait for the one that says s caught up.
  await waitFor('s caught up', async () => (await latestCheckpoint(workspace))?.tables === undefined, daemon);
  await stop(daemon);
  assert.deepEqual(await sRows(), ['insert:1:5', 'insert:2:7', 'insert:3:9']);
  assert.deepEqual(await heldRows(workspace, db, 'a'), ['insert:1:early', 'insert:2:ordinary', 'insert:3:late']);
});
