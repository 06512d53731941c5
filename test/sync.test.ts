// `sluice sync`: a MySQL table copied over N channels, to local files and to a MySQL table, compared
// row by row with the source; the preconditions that stop a job before any row moves; overwrite and
// append; a stop and a resume.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type mysql from 'mysql2/promise';
import type { SyncJobInput } from '../src/config/sync-job-schema.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { MysqlTarget } from '../src/sync/mysql-target.ts';
import type { SyncState } from '../src/sync/sync-state.ts';
import { SOURCE_TABLE_DDL, compareRows, fillSourceTable, hiveTypesOf, readTableRows, readTargetFiles, writeJobFile } from './helpers/sync-fixture.ts';
import { testMariaDb, REPO_ROOT } from './helpers/servers.ts';
import { SLUICE_PASSWORD, SLUICE_USER, type MariaDbServer } from './servers/mariadb.ts';

const ROWS = 30_000;
let server: MariaDbServer;
let root: mysql.Connection;
let work: string;

function sourceOf(table: string, extra: Partial<SyncJobInput['source']> = {}): SyncJobInput['source'] {
  return { host: '127.0.0.1', port: server.port, user: SLUICE_USER, password: SLUICE_PASSWORD, table, key: 'id', pageRows: 2000, ...extra };
}

interface SyncRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runSync(jobFile: string, onSpawn?: (pid: number) => void, extra: string[] = []): Promise<SyncRun> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), 'sync', '--job', jobFile, ...extra], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  if (child.pid !== undefined) onSpawn?.(child.pid);
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

function messages(run: SyncRun): string[] {
  return run.stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => String((JSON.parse(line) as { msg?: string }).msg ?? ''));
}

before(async () => {
  server = await testMariaDb();
  root = await server.rootConnection();
  await root.query('DROP DATABASE IF EXISTS sync_src');
  await root.query('DROP DATABASE IF EXISTS sync_dst');
  await root.query('CREATE DATABASE sync_src');
  await root.query('CREATE DATABASE sync_dst');
  // A MySQL target takes writes (and the state table); the source only ever needs SELECT, which the user has.
  for (const host of ['127.0.0.1', 'localhost']) await root.query(`GRANT ALL ON sync_dst.* TO ?@?`, [SLUICE_USER, host]);
  await root.query(SOURCE_TABLE_DDL('sync_src.t'));
  await fillSourceTable(root, 'sync_src.t', ROWS);
  work = mkdtempSync(join(tmpdir(), 'sluice-sync-'));
});

after(async () => {
  await root?.end();
});

describe('sluice sync to local files', () => {
  for (const channels of [1, 2, 4]) {
    test(`${channels} channel(s): the target holds exactly the source rows`, async () => {
      const out = join(work, `local-${channels}`);
      const job = writeJobFile(join(work, 'jobs'), {
        name: `local-${channels}`,
        source: sourceOf('sync_src.t'),
        channels,
        writer: { kind: 'local', path: out, mode: 'overwrite' },
        checkpoint: { dir: join(work, 'state'), intervalSeconds: 0.2 },
      });
      const run = await runSync(job);
      assert.equal(run.code, 0, run.stderr);
      const source = await readTableRows(root, 'sync_src.t');
      const { rows, files } = await readTargetFiles(new LocalFileSystem('/'), out, await hiveTypesOf(root, 'sync_src.t'));
      assert.equal(compareRows(source, rows), undefined);
      assert.equal(rows.length, ROWS);
      // channelIndex.jobId.fileIndex, and every channel wrote its share.
      for (const file of files) assert.match(file.slice(file.lastIndexOf('/') + 1), /^\d+\.[0-9a-z]+\.\d+$/);
      assert.deepEqual(new Set(files.map((file) => file.slice(file.lastIndexOf('/') + 1).split('.')[0])), new Set(Array.from({ length: channels }, (_, i) => String(i))));
      assert.equal(existsSync(join(out, '.data')) ? readdirSync(join(out, '.data')).length : 0, 0, 'nothing left staged');
    });
  }

  test('overwrite empties the target on a fresh start; append keeps what is there; a stale .data/ goes', async () => {
    const out = join(work, 'modes');
    mkdirSync(join(out, '.data'), { recursive: true });
    writeFileSync(join(out, 'old-file'), 'x\n');
    writeFileSync(join(out, '.data', '0.stale.0'), 'stale\n');
    const base = { source: sourceOf('sync_src.t', { where: 'id <= 1000' }), channels: 2, checkpoint: { dir: join(work, 'state') } };
    const append = writeJobFile(join(work, 'jobs'), { name: 'modes-append', ...base, writer: { kind: 'local', path: out, mode: 'append' } });
    assert.equal((await runSync(append)).code, 0);
    assert.ok(existsSync(join(out, 'old-file')), 'append leaves existing files alone');
    assert.ok(!existsSync(join(out, '.data', '0.stale.0')), 'a fresh start deletes a stale .data/');
    const overwrite = writeJobFile(join(work, 'jobs'), { name: 'modes-overwrite', ...base, writer: { kind: 'local', path: out, mode: 'overwrite' } });
    assert.equal((await runSync(overwrite)).code, 0);
    assert.ok(!existsSync(join(out, 'old-file')), 'overwrite empties the target');
    const { rows } = await readTargetFiles(new LocalFileSystem('/'), out, await hiveTypesOf(root, 'sync_src.t'));
    assert.equal(rows.length, 1000);
  });

  test('a stopped job resumes where it stopped', async () => {
    const out = join(work, 'resume');
    const job = writeJobFile(join(work, 'jobs'), {
      name: 'resume',
      source: sourceOf('sync_src.t', { pageRows: 500 }),
      channels: 2,
      writer: { kind: 'local', path: out, mode: 'overwrite' },
      checkpoint: { dir: join(work, 'state'), intervalSeconds: 0.05 },
    });
    // SIGTERM once the first checkpoint is recorded: a clean stop with a checkpoint, exit 0.
    const stateDir = join(work, 'state', 'resume');
    const first = await runSync(job, (pid) => {
      const poll = setInterval(() => {
        if (existsSync(stateDir) && readdirSync(stateDir).filter((name) => name.startsWith('sync-')).length >= 2) {
          clearInterval(poll);
          process.kill(pid, 'SIGTERM');
        }
      }, 5);
    });
    assert.equal(first.code, 0, first.stderr);
    assert.ok(messages(first).some((msg) => /stopped at checkpoint \d+ after \d+ rows; run it again to resume/.test(msg)), first.stderr);
    const second = await runSync(job);
    assert.equal(second.code, 0, second.stderr);
    assert.ok(messages(second).some((msg) => msg.startsWith('resuming resume from checkpoint')), second.stderr);
    const { rows } = await readTargetFiles(new LocalFileSystem('/'), out, await hiveTypesOf(root, 'sync_src.t'));
    assert.equal(compareRows(await readTableRows(root, 'sync_src.t'), rows), undefined);
  });

  test('a finished job run again does nothing; --again makes a new copy', async () => {
    const out = join(work, 'again');
    const job = writeJobFile(join(work, 'jobs'), {
      name: 'again',
      source: sourceOf('sync_src.t', { where: 'id <= 3000' }),
      channels: 2,
      writer: { kind: 'local', path: out, mode: 'append' },
      checkpoint: { dir: join(work, 'state') },
    });
    const hiveTypes = await hiveTypesOf(root, 'sync_src.t');
    assert.equal((await runSync(job)).code, 0);
    const once = await readTargetFiles(new LocalFileSystem('/'), out, hiveTypes);
    assert.equal(once.rows.length, 3000);
    // In append mode a second copy would duplicate every row: a finished job must stay finished.
    const rerun = await runSync(job);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.ok(messages(rerun).some((msg) => /^again already finished \(run [0-9a-z]+, .*3000 rows.*\); nothing to do\. Run with --again for a new copy\.$/.test(msg)), rerun.stderr);
    assert.deepEqual((await readTargetFiles(new LocalFileSystem('/'), out, hiveTypes)).files.sort(), once.files.sort());
    const again = await runSync(job, undefined, ['--again']);
    assert.equal(again.code, 0, again.stderr);
    const twice = await readTargetFiles(new LocalFileSystem('/'), out, hiveTypes);
    assert.equal(twice.rows.length, 6000, 'append mode: the new copy lands beside the first');
  });

  test('a crash between the final record and its renames: the next start finishes the renames', async () => {
    const out = join(work, 'final-renames');
    const job = writeJobFile(join(work, 'jobs'), {
      name: 'final-renames',
      source: sourceOf('sync_src.t', { where: 'id <= 2000' }),
      channels: 2,
      writer: { kind: 'local', path: out, mode: 'append' },
      checkpoint: { dir: join(work, 'state'), intervalSeconds: 60 },
    });
    assert.equal((await runSync(job)).code, 0);
    // Put the final checkpoint's files back where the record says they were staged, as if the
    // process had died after writing the record and before renaming.
    const stateDir = join(work, 'state', 'final-renames');
    const newest = readdirSync(stateDir).filter((name) => name.startsWith('sync-')).sort().at(-1)!;
    const record = JSON.parse(readFileSync(join(stateDir, newest), 'utf8')) as { finished: boolean; pending: { from: string; to: string }[] };
    assert.equal(record.finished, true);
    assert.ok(record.pending.length > 0);
    mkdirSync(join(out, '.data'), { recursive: true });
    for (const { from, to } of record.pending) renameSync(to, from);
    const rerun = await runSync(job);
    assert.equal(rerun.code, 0, rerun.stderr);
    const { rows } = await readTargetFiles(new LocalFileSystem('/'), out, await hiveTypesOf(root, 'sync_src.t'));
    assert.equal(rows.length, 2000);
  });

  test('a DATETIME key with repeated values splits into ranges and pages without losing a row', async () => {
    await root.query('CREATE TABLE sync_src.events (id BIGINT NOT NULL, at DATETIME(6) NOT NULL, payload VARCHAR(20), PRIMARY KEY (id), INDEX (at))');
    // Ten rows share each instant, so pages of 7 end in the middle of a group.
    await root.query("INSERT INTO sync_src.events SELECT seq, TIMESTAMP('2026-03-01') + INTERVAL (seq DIV 10) MINUTE, CONCAT('p', seq) FROM sync_src.seq_1_to_5000");
    const out = join(work, 'events');
    const job = writeJobFile(join(work, 'jobs'), {
      name: 'events',
      source: sourceOf('sync_src.events', { key: 'at', pageRows: 7 }),
      channels: 3,
      writer: { kind: 'local', path: out, mode: 'overwrite' },
      checkpoint: { dir: join(work, 'state') },
    });
    const run = await runSync(job);
    assert.equal(run.code, 0, run.stderr);
    const { rows } = await readTargetFiles(new LocalFileSystem('/'), out, await hiveTypesOf(root, 'sync_src.events'));
    assert.equal(compareRows(await readTableRows(root, 'sync_src.events'), rows), undefined);
  });
});

describe('sluice sync to a MySQL table', () => {
  for (const channels of [1, 3]) {
    test(`${channels} channel(s): rows and offsets commit together; the target equals the source`, async () => {
      await root.query(`DROP TABLE IF EXISTS sync_dst.t${channels}`);
      await root.query(SOURCE_TABLE_DDL(`sync_dst.t${channels}`));
      await root.query(`INSERT INTO sync_dst.t${channels} (id, happened) VALUES (-5, '2020-01-01')`);
      const job = writeJobFile(join(work, 'jobs'), {
        name: `mysql-${channels}`,
        source: sourceOf('sync_src.t'),
        channels,
        writer: { kind: 'mysql', host: '127.0.0.1', port: server.port, user: SLUICE_USER, password: SLUICE_PASSWORD, table: `sync_dst.t${channels}`, mode: 'overwrite' },
        checkpoint: { dir: join(work, 'state'), intervalSeconds: 0.3 },
      });
      const run = await runSync(job);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(compareRows(await readTableRows(root, 'sync_src.t'), await readTableRows(root, `sync_dst.t${channels}`)), undefined);
      const [state] = await root.query<mysql.RowDataPacket[]>(`SELECT channel, state FROM sync_dst.sluice_sync_state WHERE job = ? ORDER BY channel`, [`mysql-${channels}`]);
      assert.equal(state.length, channels + 1);
      assert.equal((JSON.parse(String(state[0]!.state)) as { finished: boolean }).finished, true);
    });
  }
});

describe('sluice sync to a MySQL table: channels that lock each other out', () => {
  // Two channels whose rows interleave in a unique index that still holds the delete-marked entries of
  // the rows overwrite just deleted (a read view held open keeps purge from removing them): each INSERT's
  // duplicate check locks the neighbouring entries, which are the other channel's. A channel that waited
  // at the checkpoint barrier with its transaction open held the other one out until a lock wait
  // timeout, every checkpoint; committing a channel when it stops at the barrier lets the other go on.
  test('a channel stopped at the checkpoint barrier holds no lock the other channel waits for', async () => {
    const [[{ timeout }]] = (await root.query('SELECT @@GLOBAL.innodb_lock_wait_timeout AS timeout')) as unknown as [[{ timeout: number }]];
    const crossedDdl = (table: string): string => `CREATE TABLE ${table} (id BIGINT NOT NULL PRIMARY KEY, u BIGINT NOT NULL, UNIQUE KEY (u)) ENGINE=InnoDB`;
    const half = 5000;
    const fill = `SELECT seq, IF(seq <= ${half}, 2 * seq, 2 * (seq - ${half}) + 1) FROM sync_src.seq_1_to_${2 * half}`;
    await root.query('DROP TABLE IF EXISTS sync_src.crossed');
    await root.query('DROP TABLE IF EXISTS sync_dst.crossed');
    await root.query(crossedDdl('sync_src.crossed'));
    await root.query(crossedDdl('sync_dst.crossed'));
    await root.query(`INSERT INTO sync_src.crossed ${fill}`);
    await root.query(`INSERT INTO sync_dst.crossed ${fill}`);
    const purgeHolder = await server.rootConnection();
    try {
      await root.query('SET GLOBAL innodb_lock_wait_timeout = 2');
      await purgeHolder.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
      await purgeHolder.query('SELECT COUNT(*) FROM sync_dst.crossed');
      const job = writeJobFile(join(work, 'jobs'), {
        name: 'mysql-crossed',
        source: sourceOf('sync_src.crossed', { pageRows: 250 }),
        channels: 2,
        writer: { kind: 'mysql', host: '127.0.0.1', port: server.port, user: SLUICE_USER, password: SLUICE_PASSWORD, table: 'sync_dst.crossed', mode: 'overwrite' },
        checkpoint: { dir: join(work, 'state'), intervalSeconds: 0.05 },
      });
      const run = await runSync(job);
      assert.equal(run.code, 0, run.stderr.slice(-3000));
      assert.doesNotMatch(run.stderr, /Lock wait timeout exceeded/);
      assert.equal(compareRows(await readTableRows(root, 'sync_src.crossed'), await readTableRows(root, 'sync_dst.crossed')), undefined);
    } finally {
      await root.query(`SET GLOBAL innodb_lock_wait_timeout = ${Number(timeout)}`);
      await purgeHolder.end();
    }
  });
});

describe('sluice sync to a MySQL table whose rows another transaction holds', () => {
  // What a restart after kill -9 meets: the killed run's open transactions keep their keys locked
  // until the server has rolled them back (issue 7's soak hit this at 2,000,000 rows).
  test('a lock wait timeout restarts the copy from its last checkpoint, and the target ends exact', async () => {
    const [[{ timeout }]] = (await root.query('SELECT @@GLOBAL.innodb_lock_wait_timeout AS timeout')) as unknown as [[{ timeout: number }]];
    await root.query(`DROP TABLE IF EXISTS sync_dst.locked`);
    await root.query(SOURCE_TABLE_DDL('sync_dst.locked'));
    const holder = await server.rootConnection();
    try {
      await root.query('SET GLOBAL innodb_lock_wait_timeout = 2');
      await holder.query('START TRANSACTION');
      await holder.query(`INSERT INTO sync_dst.locked (id, happened) VALUES (1500, '2020-01-01')`);
      const job = writeJobFile(join(work, 'jobs'), {
        name: 'mysql-locked',
        source: sourceOf('sync_src.t'),
        channels: 2,
        writer: { kind: 'mysql', host: '127.0.0.1', port: server.port, user: SLUICE_USER, password: SLUICE_PASSWORD, table: 'sync_dst.locked', mode: 'append' },
        checkpoint: { dir: join(work, 'state'), intervalSeconds: 0.3 },
      });
      const running = runSync(job);
      // Long enough for a lock wait or two to time out; then the holder goes, as a rollback ends.
      await new Promise((resolve) => setTimeout(resolve, 5000));
      await holder.query('ROLLBACK');
      const run = await running;
      assert.equal(run.code, 0, run.stderr.slice(-3000));
      assert.match(run.stderr, /Lock wait timeout exceeded[^"]*the copy restarts from its last checkpoint/);
      assert.ok(messages(run).includes('retriable failure, retrying'), 'the copy was retried in the same process');
      assert.equal(compareRows(await readTableRows(root, 'sync_src.t'), await readTableRows(root, 'sync_dst.locked')), undefined);
    } finally {
      await root.query(`SET GLOBAL innodb_lock_wait_timeout = ${Number(timeout)}`);
      await holder.end();
    }
  });
});

describe('a MySQL target channel whose statement failed', () => {
  // MySQL rolls back only the statement on a lock wait timeout, not the transaction: committing it
  // afterwards would record the channel's offset past rows the target never got (the sync crash test
  // once lost a page this way, when a checkpoint raced the failing channel).
  test('never commits: its rows and its offset stay as the last checkpoint left them', async () => {
    const [[{ timeout }]] = (await root.query('SELECT @@GLOBAL.innodb_lock_wait_timeout AS timeout')) as unknown as [[{ timeout: number }]];
    await root.query('DROP TABLE IF EXISTS sync_dst.poisoned');
    await root.query('CREATE TABLE sync_dst.poisoned (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB');
    const holder = await server.rootConnection();
    const target = new MysqlTarget({ host: '127.0.0.1', port: server.port, user: SLUICE_USER, password: SLUICE_PASSWORD, connectTimeoutMs: 5000, table: 'sync_dst.poisoned', job: 'poisoned', mode: 'append' });
    try {
      await root.query('SET GLOBAL innodb_lock_wait_timeout = 1');
      const column = (name: string, mysqlType: string) => ({ name, mysqlType, charset: null, dataType: mysqlType, nullable: true });
      await target.check([column('id', 'int'), column('v', 'varchar')]);
      const state = { format: 1, job: 'poisoned', table: 'src.t', runId: 'r1', startedAt: new Date().toISOString(), checkpointId: 0, split: { kind: 'modulo', channels: 1 }, channels: [{ rows: 0, done: false, nextFile: 0 }], finished: false, pending: [] } as unknown as SyncState;
      await target.start(state, true);
      await target.openChannels(1);
      await holder.query('START TRANSACTION');
      await holder.query("INSERT INTO sync_dst.poisoned VALUES (5, 'held')");
      const writer = target.writer(0);
      // One batch lands in the open transaction; the next waits for the held key and times out.
      for (let id = 10_001; id <= 11_000; id++) await writer.write([String(id), 'first']);
      let failed: unknown;
      try {
        for (let id = 1; id <= 1000; id++) await writer.write([String(id), 'second']);
      } catch (error) {
        failed = error;
      }
      assert.match(String((failed as Error | undefined)?.message), /Lock wait timeout exceeded/);
      const moved = { ...state, checkpointId: 1, channels: [{ offset: ['1000'], rows: 2000, done: false, nextFile: 0 }] } as SyncState;
      await assert.rejects(target.checkpoint(moved), /Lock wait timeout exceeded/);
      await holder.query('ROLLBACK');
      await target.close();
      const [rows] = (await root.query('SELECT COUNT(*) AS n FROM sync_dst.poisoned')) as unknown as [[{ n: number }]];
      assert.equal(Number(rows[0].n), 0, 'none of the transaction was committed');
      const again = new MysqlTarget({ host: '127.0.0.1', port: server.port, user: SLUICE_USER, password: SLUICE_PASSWORD, connectTimeoutMs: 5000, table: 'sync_dst.poisoned', job: 'poisoned', mode: 'append' });
      const recovered = await again.recover().finally(() => again.close());
      assert.equal(recovered?.channels[0]?.offset, undefined, 'the offset is where the last checkpoint left it');
    } finally {
      await root.query(`SET GLOBAL innodb_lock_wait_timeout = ${Number(timeout)}`);
      await holder.end().catch(() => undefined);
      await target.close().catch(() => undefined);
    }
  });
});

describe('sluice sync refuses what it cannot copy exactly, before any row moves', () => {
  const cases: { name: string; setup?: string; job: () => Partial<SyncJobInput>; code: string; says: RegExp }[] = [
    {
      name: 'a key that leads no index',
      setup: 'CREATE TABLE sync_src.noindex (id BIGINT NOT NULL, v INT)',
      job: () => ({ source: sourceOf('sync_src.noindex') }),
      code: 'SLUICE_SYNC_PRECONDITION',
      says: /source\.key: sync_src\.noindex\.id leads no index/,
    },
    {
      name: 'a key no range can be written for (FLOAT)',
      setup: 'CREATE TABLE sync_src.floatkey (id FLOAT NOT NULL PRIMARY KEY)',
      job: () => ({ source: sourceOf('sync_src.floatkey') }),
      code: 'SLUICE_SYNC_PRECONDITION',
      says: /source\.key: sync_src\.floatkey\.id is float, which sluice cannot order and resume by/,
    },
    {
      name: 'a table without a key, and none named',
      setup: 'CREATE TABLE sync_src.keyless (a INT, b VARCHAR(10))',
      job: () => ({ source: { ...sourceOf('sync_src.keyless'), key: undefined } }),
      code: 'SLUICE_SYNC_PRECONDITION',
      says: /source\.key: sync_src\.keyless has no primary key or unique index over whole NOT NULL columns.*ADD PRIMARY KEY.*or set source\.key/,
    },
    {
      name: 'a key with NULLs',
      setup: 'CREATE TABLE sync_src.nullkey (id INT NULL, INDEX (id)); INSERT INTO sync_src.nullkey VALUES (1), (NULL)',
      job: () => ({ source: sourceOf('sync_src.nullkey') }),
      code: 'SLUICE_SYNC_PRECONDITION',
      says: /source\.key: sync_src\.nullkey\.id holds NULLs/,
    },
    {
      name: 'a filter the server cannot apply',
      job: () => ({ source: sourceOf('sync_src.t', { where: 'no_such_column > 1' }) }),
      code: 'SLUICE_SYNC_PRECONDITION',
      says: /source\.where: the server cannot filter sync_src\.t by \(no_such_column > 1\)/,
    },
    {
      name: 'a missing source table',
      job: () => ({ source: sourceOf('sync_src.nope') }),
      code: 'SLUICE_SYNC_PRECONDITION',
      says: /source\.table: sync_src\.nope does not exist/,
    },
    {
      name: 'a target without transactions',
      setup: 'CREATE TABLE sync_dst.myisam (id BIGINT NOT NULL PRIMARY KEY, happened DATETIME(6)) ENGINE=MyISAM',
      job: () => ({
        source: sourceOf('sync_src.t', { columns: ['id', 'happened'] }),
        writer: { kind: 'mysql', host: '127.0.0.1', port: server.port, user: SLUICE_USER, password: SLUICE_PASSWORD, table: 'sync_dst.myisam', mode: 'append' },
      }),
      code: 'SLUICE_SYNC_PRECONDITION',
      says: /writer\.table: sync_dst\.myisam uses the MyISAM engine, which has no transactions/,
    },
    {
      name: 'a target that lacks a copied column',
      setup: 'CREATE TABLE sync_dst.narrow (id BIGINT NOT NULL PRIMARY KEY) ENGINE=InnoDB',
      job: () => ({
        source: sourceOf('sync_src.t'),
        writer: { kind: 'mysql', host: '127.0.0.1', port: server.port, user: SLUICE_USER, password: SLUICE_PASSWORD, table: 'sync_dst.narrow', mode: 'append' },
      }),
      code: 'SLUICE_SYNC_PRECONDITION',
      says: /writer\.table: sync_dst\.narrow lacks the columns happened, amount/,
    },
  ];
  for (const item of cases) {
    test(item.name, async () => {
      for (const statement of item.setup?.split(';') ?? []) if (statement.trim()) await root.query(statement);
      const out = join(work, `refused-${item.name.replace(/\W+/g, '-')}`);
      const job = writeJobFile(join(work, 'jobs'), {
        name: `refused-${item.name.replace(/\W+/g, '-')}`,
        source: sourceOf('sync_src.t'),
        writer: { kind: 'local', path: out, mode: 'overwrite' },
        checkpoint: { dir: join(work, 'state') },
        ...item.job(),
      });
      const run = await runSync(job);
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, new RegExp(item.code));
      assert.match(run.stderr, item.says);
      assert.ok(!existsSync(out), 'no file was written');
    });
  }

  test('a job file with a misspelt key names the file, line and key', async () => {
    const file = join(work, 'jobs', 'typo.yaml');
    writeFileSync(file, `name: typo\nsource:\n  host: 127.0.0.1\n  user: u\n  table: a.b\n  key: id\nchanels: 2\nwriter:\n  kind: local\n  path: /tmp/x\n`);
    const run = await runSync(file);
    assert.equal(run.code, 78);
    assert.match(run.stderr, /typo\.yaml:7:1 chanels: unknown key 'chanels'/);
  });
});
