// The batch copy survives kill -9 at any moment: for each writer (local disk, HDFS, FTP, MySQL) and
// N = 1, 2, 4 channels, a copy is killed at random checkpoints and instants, restarted each time,
// and in the end the target holds exactly the source rows: none missing, none twice, every value
// equal. (The 2M-row version with more kills is `npm run soak:sync`.)
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type mysql from 'mysql2/promise';
import type { SyncJobInput } from '../src/config/sync-job-schema.ts';
import type { FileSystem } from '../src/filesystem/filesystem.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { WebHdfsFileSystem } from '../src/filesystem/webhdfs-filesystem.ts';
import { createLogger } from '../src/core/logger.ts';
import { runWithKills } from './helpers/sync-crash-scenario.ts';
import { SOURCE_TABLE_DDL, compareRows, fillSourceTable, hiveTypesOf, readTableRows, readTargetFiles } from './helpers/sync-fixture.ts';
import { testFtp, testHdfs, testMariaDb } from './helpers/servers.ts';
import { SLUICE_PASSWORD, SLUICE_USER, type MariaDbServer } from './servers/mariadb.ts';

const ROWS = 40_000;
const CHANNEL_COUNTS = [1, 2, 4];
const KILLS_PER_RUN = 4; // 12 kills per writer
let server: MariaDbServer;
let root: mysql.Connection;
let work: string;
let source: Awaited<ReturnType<typeof readTableRows>>;
let hiveTypes: string[];

before(async () => {
  server = await testMariaDb();
  root = await server.rootConnection();
  await root.query('DROP DATABASE IF EXISTS crash_src');
  await root.query('DROP DATABASE IF EXISTS crash_dst');
  await root.query('CREATE DATABASE crash_src');
  await root.query('CREATE DATABASE crash_dst');
  for (const host of ['127.0.0.1', 'localhost']) await root.query('GRANT ALL ON crash_dst.* TO ?@?', [SLUICE_USER, host]);
  await root.query(SOURCE_TABLE_DDL('crash_src.t'));
  await fillSourceTable(root, 'crash_src.t', ROWS);
  source = await readTableRows(root, 'crash_src.t');
  hiveTypes = await hiveTypesOf(root, 'crash_src.t');
  work = mkdtempSync(join(tmpdir(), 'sluice-sync-crash-'));
});

after(async () => {
  await root?.end();
});

function job(name: string, channels: number, writer: SyncJobInput['writer']): SyncJobInput {
  return {
    name,
    source: { host: '127.0.0.1', port: server.port, user: SLUICE_USER, password: SLUICE_PASSWORD, table: 'crash_src.t', key: 'id', pageRows: 500 },
    channels,
    writer,
    // Small files and frequent checkpoints, so kills land between, during and after every step.
    checkpoint: { dir: join(work, 'state'), intervalSeconds: 0.1 },
  };
}

async function crashCopy(name: string, channels: number, writer: SyncJobInput['writer'], seed: number): Promise<void> {
  const run = await runWithKills({ dir: join(work, 'jobs'), job: job(name, channels, writer), kills: KILLS_PER_RUN, seed, maxCheckpointsBeforeKill: 4, maxDelayMs: 120 });
  assert.equal(run.kills, KILLS_PER_RUN);
  // At least one kill after some rows were committed, so a resume (not only a fresh start) was exercised.
  assert.ok(run.checkpointsBeforeKill.some((count) => count > 0), `kills after checkpoints: ${run.checkpointsBeforeKill.join(', ')}`);
}

async function assertFiles(fs: FileSystem, path: string): Promise<void> {
  const { rows } = await readTargetFiles(fs, path, hiveTypes);
  assert.equal(compareRows(source, rows), undefined);
  assert.equal(rows.length, ROWS);
}

describe('batch copy across kill -9: local files', () => {
  for (const channels of CHANNEL_COUNTS) {
    test(`${channels} channel(s)`, async () => {
      const path = join(work, `local-${channels}`);
      await crashCopy(`local-${channels}`, channels, { kind: 'local', path, mode: 'overwrite', rollBytes: 200_000 }, 100 + channels);
      await assertFiles(new LocalFileSystem('/'), path);
    });
  }
});

describe('batch copy across kill -9: HDFS', () => {
  for (const channels of CHANNEL_COUNTS) {
    test(`${channels} channel(s)`, async () => {
      const hdfs = await testHdfs();
      const namenode = `http://${hdfs.host}:${hdfs.namenodeHttpPort}`;
      const path = `/sync-crash/hdfs-${channels}-${Date.now()}`;
      await crashCopy(`hdfs-${channels}`, channels, { kind: 'hdfs', namenodes: [namenode], path, mode: 'overwrite', rollBytes: 400_000 }, 200 + channels);
      const fs = new WebHdfsFileSystem({ namenodes: [namenode], user: 'sluice', requestTimeoutMs: 30_000, logger: createLogger('silent') });
      await assertFiles(fs, path);
    });
  }
});

describe('batch copy across kill -9: FTP', () => {
  for (const channels of CHANNEL_COUNTS) {
    test(`${channels} channel(s)`, async () => {
      const ftp = await testFtp();
      const path = `/sync-crash/ftp-${channels}-${Date.now()}`;
      await crashCopy(`ftp-${channels}`, channels, { kind: 'ftp', host: ftp.host, port: ftp.port, user: ftp.user, password: ftp.password, path, mode: 'overwrite', rollBytes: 400_000 }, 300 + channels);
      // The FTP user's '/' is a local folder: read what the server stored, byte for byte.
      await assertFiles(new LocalFileSystem(ftp.rootDir), path);
    });
  }
});

describe('batch copy across kill -9: MySQL (transactional)', () => {
  for (const channels of CHANNEL_COUNTS) {
    test(`${channels} channel(s)`, async () => {
      const table = `crash_dst.t${channels}`;
      await root.query(`DROP TABLE IF EXISTS ${table}`);
      await root.query(SOURCE_TABLE_DDL(table));
      await crashCopy(`mysql-${channels}`, channels, { kind: 'mysql', host: '127.0.0.1', port: server.port, user: SLUICE_USER, password: SLUICE_PASSWORD, table, mode: 'overwrite' }, 400 + channels);
      assert.equal(compareRows(source, await readTableRows(root, table)), undefined);
    });
  }
});
