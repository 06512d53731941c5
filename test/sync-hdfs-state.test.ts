// `sluice sync` with its state on HDFS (checkpoint.store: hdfs): killed with SIGKILL mid-copy, the job
// resumes from its last record on HDFS when started again from another directory (a new host: its
// checkpoint.dir is empty), and the target on HDFS ends holding exactly the source's rows.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { WebHdfsFileSystem } from '../src/filesystem/webhdfs-filesystem.ts';
import { HdfsStateStore } from '../src/runtime/hdfs-state-store.ts';
import { SOURCE_TABLE_DDL, compareRows, fillSourceTable, hiveTypesOf, readTableRows, readTargetFiles, writeJobFile } from './helpers/sync-fixture.ts';
import { REPO_ROOT, testHdfs, testMariaDb } from './helpers/servers.ts';
import { SLUICE_PASSWORD, SLUICE_USER } from './servers/mariadb.ts';

function runSync(jobFile: string, cwd: string, onSpawn?: (pid: number) => void): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), 'sync', '--job', jobFile], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  if (child.pid !== undefined) onSpawn?.(child.pid);
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
}

test('a batch copy killed mid-way resumes from its records on HDFS on a new host, and the target is exact', { timeout: 5 * 60_000 }, async () => {
  const hdfs = await testHdfs();
  const namenode = new URL(hdfs.webhdfsUrl).origin;
  const server = await testMariaDb();
  const db = await server.rootConnection();
  const tag = `shs${randomUUID().slice(0, 6)}`;
  const root = `/sluice-sync-state/${tag}`;
  const fs = new WebHdfsFileSystem({ namenodes: [namenode], logger: pino({ level: 'silent' }), requestTimeoutMs: 20_000 });
  try {
    await db.query(`CREATE DATABASE ${tag}`);
    await db.query(SOURCE_TABLE_DDL(`${tag}.t`));
    await fillSourceTable(db, `${tag}.t`, 20_000);
    const job = (host: string) =>
      writeJobFile(host, {
        name: 'copy',
        source: { host: '127.0.0.1', port: server.port, user: SLUICE_USER, password: SLUICE_PASSWORD, table: `${tag}.t`, key: 'id', pageRows: 200 },
        channels: 2,
        writer: { kind: 'hdfs', namenodes: [namenode], path: `${root}/out`, mode: 'overwrite', spoolDir: './spool' },
        checkpoint: { dir: './state', intervalSeconds: 0.05, store: 'hdfs', hdfs: { dir: `${root}/state` } },
      });
    const records = new HdfsStateStore({ fs, dir: `${root}/state/copy` });
    const first = mkdtempSync(join(tmpdir(), 'sluice-sync-host-a-'));
    const killed = await runSync(job(first), first, (pid) => {
      const poll = setInterval(() => {
        records
          .list()
          .then((names) => {
            if (names.filter((name) => name.startsWith('sync-')).length >= 2) {
              clearInterval(poll);
              process.kill(pid, 'SIGKILL');
            }
          })
          .catch(() => undefined);
      }, 20);
    });
    assert.equal(killed.signal, 'SIGKILL', killed.stderr.slice(-2000));
    assert.equal(existsSync(join(first, 'state', 'copy')) && readdirSync(join(first, 'state', 'copy')).some((name) => name.startsWith('sync-')), false, 'no record on the local disk');

    const second = mkdtempSync(join(tmpdir(), 'sluice-sync-host-b-'));
    const resumed = await runSync(job(second), second);
    assert.equal(resumed.code, 0, resumed.stderr.slice(-3000));
    assert.match(resumed.stderr, /resuming copy from checkpoint \d+/);
    const { rows } = await readTargetFiles(fs, `${root}/out`, await hiveTypesOf(db, `${tag}.t`));
    assert.equal(compareRows(await readTableRows(db, `${tag}.t`), rows), undefined);
  } finally {
    await db.query(`DROP DATABASE IF EXISTS ${tag}`).catch(() => undefined);
    await db.end();
    await fs.delete(root, true).catch(() => undefined);
    fs.close();
  }
});
