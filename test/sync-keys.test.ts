// `sluice sync` over keys that are not integers: a BINARY(16) UUID primary key and a composite
// (int, varchar) one are split into key ranges, copied over several channels, killed with SIGKILL
// and resumed after the last key tuple, and the target holds exactly the source rows. A record of
// the version before key tuples still resumes on the same rows; a key changed under an interrupted
// copy is refused by name. A non-unique key on a table without a primary key pages by whole runs of equal keys.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type mysql from 'mysql2/promise';
import type { SyncJobInput } from '../src/config/sync-job-schema.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import type { SyncState } from '../src/sync/sync-state.ts';
import { runWithKills } from './helpers/sync-crash-scenario.ts';
import { SOURCE_TABLE_DDL, compareRows, fillSourceTable, hiveTypesOf, readTableRows, readTargetFiles, writeJobFile } from './helpers/sync-fixture.ts';
import { REPO_ROOT, testMariaDb } from './helpers/servers.ts';
import { SLUICE_PASSWORD, SLUICE_USER, type MariaDbServer } from './servers/mariadb.ts';

const ROWS = 20_000;
let server: MariaDbServer;
let root: mysql.Connection;
let work: string;

// Column 0 is a unique id (what compareRows matches rows by); the primary key is something else.
const UUID_DDL = (table: string): string =>
  `CREATE TABLE ${table} (id BIGINT NOT NULL, uuid BINARY(16) NOT NULL, name VARCHAR(40) CHARACTER SET utf8mb4, amount DECIMAL(12,2), PRIMARY KEY (uuid), UNIQUE KEY (id)) ENGINE=InnoDB`;
const COMPOSITE_DDL = (table: string): string =>
  `CREATE TABLE ${table} (id BIGINT NOT NULL, shop INT NOT NULL, sku VARCHAR(24) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL, note VARCHAR(40), PRIMARY KEY (shop, sku), UNIQUE KEY (id)) ENGINE=InnoDB`;

before(async () => {
  server = await testMariaDb();
  root = await server.rootConnection();
  await root.query('DROP DATABASE IF EXISTS keys_sync');
  await root.query('DROP DATABASE IF EXISTS keys_dst');
  await root.query('CREATE DATABASE keys_sync');
  await root.query('CREATE DATABASE keys_dst');
  for (const host of ['127.0.0.1', 'localhost']) await root.query('GRANT ALL ON keys_dst.* TO ?@?', [SLUICE_USER, host]);
  await root.query(UUID_DDL('keys_sync.uuids'));
  // Random-looking UUIDs, and the two extremes: every byte 0x00, every byte 0xFF.
  await root.query(`INSERT INTO keys_sync.uuids SELECT seq, UNHEX(MD5(seq)), CONCAT('name-', seq), seq / 100 FROM keys_sync.seq_1_to_${ROWS}`);
  await root.query(`INSERT INTO keys_sync.uuids VALUES (${ROWS + 1}, UNHEX(REPEAT('00', 16)), 'zeros', 0), (${ROWS + 2}, UNHEX(REPEAT('FF', 16)), 'ones', 1)`);
  await root.query(COMPOSITE_DDL('keys_sync.composite'));
  // Many rows per shop, SKUs whose case and punctuation make byte order differ from the collation's.
  await root.query(
    `INSERT INTO keys_sync.composite SELECT seq, CAST(seq MOD 5 AS SIGNED) - 2, CONCAT(IF(seq MOD 2 = 0, 'Sku-', 'sku_'), IF(seq MOD 7 = 0, 'é', ''), seq), IF(seq MOD 3 = 0, NULL, CONCAT('n', seq)) FROM keys_sync.seq_1_to_${ROWS}`,
  );
  // No primary key and no unique index: a requested key whose values repeat, 30 rows a value, spelt
  // in three ways the collation holds equal ('k7', 'K7', 'ķ7' under utf8mb4_general_ci).
  await root.query('CREATE TABLE keys_sync.nopk (id BIGINT NOT NULL, tag VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL, INDEX (tag)) ENGINE=InnoDB');
  await root.query("INSERT INTO keys_sync.nopk SELECT seq, CONCAT(ELT(seq MOD 3 + 1, 'k', 'K', 'ķ'), seq DIV 30) FROM keys_sync.seq_1_to_3000");
  await root.query(SOURCE_TABLE_DDL('keys_sync.ints'));
  await fillSourceTable(root, 'keys_sync.ints', 5000);
  work = mkdtempSync(join(tmpdir(), 'sluice-sync-keys-'));
});

after(async () => {
  await root?.end();
});

function sourceOf(table: string, extra: Partial<SyncJobInput['source']> = {}): SyncJobInput['source'] {
  return { host: '127.0.0.1', port: server.port, user: SLUICE_USER, password: SLUICE_PASSWORD, table, pageRows: 300, ...extra };
}

function runSync(jobFile: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), 'sync', '--job', jobFile], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
}

function newestRecord(stateDir: string): SyncState {
  const newest = readdirSync(stateDir).filter((name) => name.startsWith('sync-')).sort().at(-1)!;
  return JSON.parse(readFileSync(join(stateDir, newest), 'utf8')) as SyncState;
}

describe('sync by a key of any kind, across kill -9', () => {
  const cases = [
    { table: 'uuids', ddl: UUID_DDL, key: ['uuid'], requested: undefined },
    { table: 'composite', ddl: COMPOSITE_DDL, key: ['shop', 'sku'], requested: ['shop', 'sku'] },
  ];
  for (const [index, item] of cases.entries()) {
    test(`${item.key.join(', ')} key, 3 channels to local files: the target holds exactly the source rows`, async () => {
      const out = join(work, `${item.table}-local`);
      const stateDir = join(work, 'state');
      const run = await runWithKills({
        dir: join(work, 'jobs'),
        job: {
          name: `${item.table}-local`,
          source: sourceOf(`keys_sync.${item.table}`, item.requested ? { key: item.requested } : {}),
          channels: 3,
          writer: { kind: 'local', path: out, mode: 'overwrite', rollBytes: 100_000 },
          checkpoint: { dir: stateDir, intervalSeconds: 0.1 },
        },
        kills: 3,
        seed: 500 + index,
        maxCheckpointsBeforeKill: 4,
        maxDelayMs: 120,
      });
      assert.equal(run.kills, 3);
      assert.ok(run.checkpointsBeforeKill.some((count) => count > 0), `kills after checkpoints: ${run.checkpointsBeforeKill.join(', ')}`);
      const source = await readTableRows(root, `keys_sync.${item.table}`);
      const { rows } = await readTargetFiles(new LocalFileSystem('/'), out, await hiveTypesOf(root, `keys_sync.${item.table}`));
      assert.equal(compareRows(source, rows), undefined);
      assert.equal(rows.length, source.length);
      // The record names the key, and the channels split it into ranges at key tuples.
      const record = newestRecord(join(stateDir, `${item.table}-local`));
      assert.equal(record.format, 2);
      assert.deepEqual(record.key, item.key);
      assert.equal(record.split.kind, 'keys');
      assert.ok(record.split.kind === 'keys' && record.split.boundaries.length === 2 && record.split.boundaries.every((tuple) => tuple.length === item.key.length));
      // Even ranges: every channel copied about a third of the rows.
      for (const channel of record.channels) assert.ok(Math.abs(channel.rows - source.length / 3) <= 1, `channel rows ${record.channels.map((c) => c.rows).join(', ')}`);
    });
  }

  test('UUID key, 2 channels to a MySQL table: rows and key offsets commit together across kills', async () => {
    await root.query('DROP TABLE IF EXISTS keys_dst.uuids');
    await root.query(UUID_DDL('keys_dst.uuids'));
    const run = await runWithKills({
      dir: join(work, 'jobs'),
      job: {
        name: 'uuids-mysql',
        source: sourceOf('keys_sync.uuids', { key: 'uuid' }),
        channels: 2,
        writer: { kind: 'mysql', host: '127.0.0.1', port: server.port, user: SLUICE_USER, password: SLUICE_PASSWORD, table: 'keys_dst.uuids', mode: 'overwrite' },
        checkpoint: { dir: join(work, 'state'), intervalSeconds: 0.1 },
      },
      kills: 3,
      seed: 600,
      maxCheckpointsBeforeKill: 4,
      maxDelayMs: 120,
    });
    assert.equal(run.kills, 3);
    assert.equal(compareRows(await readTableRows(root, 'keys_sync.uuids'), await readTableRows(root, 'keys_dst.uuids')), undefined);
  });
});

describe('a key that is not unique, on a table without a primary key', () => {
  test('pages that end inside a run of equal keys (equal as the collation says) lose and repeat no row', async () => {
    const out = join(work, 'nopk');
    const job = writeJobFile(join(work, 'jobs'), {
      name: 'nopk',
      source: sourceOf('keys_sync.nopk', { key: 'tag', pageRows: 7 }),
      channels: 2,
      writer: { kind: 'local', path: out, mode: 'overwrite' },
      checkpoint: { dir: join(work, 'state') },
    });
    const run = await runSync(job);
    assert.equal(run.code, 0, run.stderr);
    const { rows } = await readTargetFiles(new LocalFileSystem('/'), out, await hiveTypesOf(root, 'keys_sync.nopk'));
    assert.equal(compareRows(await readTableRows(root, 'keys_sync.nopk'), rows), undefined);
  });
});

describe('records of an interrupted copy', () => {
  test('a record of format 1 (one key value as the offset, split by remainder) resumes on the same rows', async () => {
    const out = join(work, 'legacy');
    const job = writeJobFile(join(work, 'jobs'), {
      name: 'legacy',
      source: sourceOf('keys_sync.ints', { key: 'id' }),
      channels: 2,
      writer: { kind: 'local', path: out, mode: 'append' },
      checkpoint: { dir: join(work, 'state') },
    });
    // As the version before key tuples left it: channel 0 (even ids) had copied up to 1000, channel 1 (odd) up to 999.
    const stateDir = join(work, 'state', 'legacy');
    mkdirSync(stateDir, { recursive: true });
    const legacy = {
      format: 1,
      job: 'legacy',
      table: 'keys_sync.ints',
      runId: 'legacy',
      startedAt: new Date().toISOString(),
      checkpointId: 3,
      split: { kind: 'modulo', channels: 2 },
      channels: [
        { offset: '1000', rows: 500, done: false, nextFile: 1 },
        { offset: '999', rows: 500, done: false, nextFile: 1 },
      ],
      finished: false,
      pending: [],
    };
    writeFileSync(join(stateDir, 'sync-legacy-000000000003.json'), JSON.stringify(legacy) + '\n');
    const run = await runSync(job);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /resuming legacy from checkpoint 3/);
    const { rows } = await readTargetFiles(new LocalFileSystem('/'), out, await hiveTypesOf(root, 'keys_sync.ints'));
    const rest = (await readTableRows(root, 'keys_sync.ints')).filter((row) => BigInt(row[0] as string) > 1000n);
    assert.equal(compareRows(rest, rows), undefined, 'exactly the rows after each channel\'s offset');
    const record = newestRecord(stateDir);
    assert.equal(record.finished, true);
    assert.deepEqual(record.split, { kind: 'modulo', channels: 2 }, 'the resumed copy kept its split');
    assert.equal(record.format, 2);
  });

  test('a key changed under an interrupted copy is refused, naming both keys and the fix', async () => {
    const out = join(work, 'rekeyed');
    const job = writeJobFile(join(work, 'jobs'), {
      name: 'rekeyed',
      source: sourceOf('keys_sync.composite'),
      channels: 1,
      writer: { kind: 'local', path: out, mode: 'append' },
      checkpoint: { dir: join(work, 'state') },
    });
    const stateDir = join(work, 'state', 'rekeyed');
    mkdirSync(stateDir, { recursive: true });
    const recorded: SyncState = {
      format: 2,
      job: 'rekeyed',
      table: 'keys_sync.composite',
      key: ['id'],
      runId: 'rekeyed',
      startedAt: new Date().toISOString(),
      checkpointId: 1,
      split: { kind: 'keys', channels: 1, boundaries: [] },
      channels: [{ offset: ['77'], rows: 77, done: false, nextFile: 0 }],
      finished: false,
      pending: [],
    };
    writeFileSync(join(stateDir, 'sync-rekeyed-000000000001.json'), JSON.stringify(recorded) + '\n');
    const run = await runSync(job);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /SLUICE_SYNC_PRECONDITION/);
    assert.match(run.stderr, /job rekeyed was interrupted while copying keys_sync\.composite in the order of \(id\); the key is now \(shop, sku\).*Set source\.key back to id/);
  });
});
