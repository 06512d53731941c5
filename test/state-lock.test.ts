// One process per state directory: a live holder is refused by pid, a dead or reused pid is taken over.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isSluiceError } from '../src/core/errors.ts';
import { acquireStateLock, LOCK_FILE, lockHolder } from '../src/runtime/state-lock.ts';
import { gtidBinlogPos, makeWorkspace, waitForCheckpoint, withDaemon } from './helpers/daemon.ts';
import { holdLockInChild } from './helpers/lock-holder.ts';
import { REPO_ROOT, testMariaDb } from './helpers/servers.ts';

const children: ChildProcess[] = [];
after(() => {
  for (const child of children) child.kill('SIGKILL');
});

async function holdLock(dir: string): Promise<ChildProcess> {
  const child = await holdLockInChild(dir);
  children.push(child);
  return child;
}

function deadPid(): number {
  const result = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(result.stdout);
}

test('a live holder is refused, naming its pid and the directory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lock-'));
  const child = await holdLock(dir);
  await assert.rejects(acquireStateLock(dir), (error: unknown) => {
    assert.ok(isSluiceError(error, 'SLUICE_STATE_LOCKED'), String(error));
    assert.match(error.message, new RegExp(`process ${child.pid}\\b`));
    assert.ok(error.message.includes(dir), error.message);
    return true;
  });
  assert.equal((await lockHolder(dir))?.pid, child.pid);
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  // kill -9 left the file behind; its process is gone, so the next start takes it over.
  assert.ok(existsSync(join(dir, LOCK_FILE)));
  assert.equal(await lockHolder(dir), undefined);
  const lock = await acquireStateLock(dir);
  assert.equal(readFileSync(lock.file, 'utf8').split('\n')[0], String(process.pid));
  await lock.release();
  assert.equal(existsSync(lock.file), false);
});

test('a lock naming a dead pid, garbage, or our own pid is stale and taken over', async () => {
  for (const content of [`${deadPid()}\n`, 'not a pid\n', `${process.pid}\n123\n`]) {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-lock-'));
    writeFileSync(join(dir, LOCK_FILE), content);
    const lock = await acquireStateLock(dir);
    assert.equal(readFileSync(lock.file, 'utf8').split('\n')[0], String(process.pid), `taking over ${JSON.stringify(content)}`);
    await lock.release();
  }
});

test('a live pid with another start time (reused after a reboot) is not a holder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lock-'));
  const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(other);
  writeFileSync(join(dir, LOCK_FILE), `${other.pid}\n1\n`);
  assert.equal(await lockHolder(dir), undefined);
  const lock = await acquireStateLock(dir);
  await lock.release();
  other.kill('SIGKILL');
});

test('a lock from another host or container counts while its holder keeps touching it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lock-'));
  const file = join(dir, LOCK_FILE);
  // pid 1 in another container's pid namespace: kill(1, 0) here would ask about the wrong process.
  writeFileSync(file, '1\n42\nother-container\n');
  await assert.rejects(acquireStateLock(dir), (error: unknown) => isSluiceError(error, 'SLUICE_STATE_LOCKED') && /process 1 on host other-container/.test(error.message));
  const old = new Date(Date.now() - 5 * 60_000);
  utimesSync(file, old, old);
  assert.equal(await lockHolder(dir), undefined, 'no heartbeat for five minutes: stale');
  const lock = await acquireStateLock(dir);
  await lock.release();
});

test('release leaves a lock that another process took over alone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lock-'));
  const lock = await acquireStateLock(dir);
  writeFileSync(lock.file, `${deadPid()}\n`);
  await lock.release();
  assert.ok(existsSync(lock.file));
});

test('a second `sluice run` on the same config refuses with the running daemon pid', async () => {
  const server = await testMariaDb();
  const workspace = makeWorkspace(server, { start: 'latest', routing: "  include: ['lock_test.*']" });
  const { daemon, exit } = await withDaemon(workspace, server, async (daemon) => {
    await waitForCheckpoint(workspace, await gtidBinlogPos(server), 30_000, daemon);
    const second = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), 'run', '--config', workspace.configFile], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, SLUICE_TEST_PASSWORD: server.password },
    });
    assert.equal(second.status, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`in use by sluice process ${daemon.child.pid}\\b`));
    assert.match(second.stderr, /SLUICE_STATE_LOCKED/);
    assert.ok(second.stderr.includes(workspace.stateDir), second.stderr);
    assert.equal(daemon.child.exitCode, null, 'the running daemon is untouched');
  });
  assert.deepEqual(exit, { code: 0, signal: null }, daemon.output().slice(-2000));
  assert.equal(existsSync(join(workspace.stateDir, LOCK_FILE)), false, 'a clean stop releases the lock');
});
