// A real disk that fills up or refuses writes, private to one sluice process: a small tmpfs mounted
// in a private mount namespace (`unshare -m`), so the mount dies with the process and nothing leaks;
// the test reaches inside it through /proc/<pid>/root, and grows it with nsenter.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningDaemon } from './daemon.ts';

/** `unshare -m` + tmpfs mounts over `dirs`, then exec of the daemon (same pid). */
export function onTmpfs(mounts: { dir: string; options: string }[]): string[] {
  for (const mount of mounts) mkdirSync(mount.dir, { recursive: true });
  const script = mounts.map((_, index) => `mount -t tmpfs -o "$${2 * index + 1}" tmpfs "$${2 * index + 2}" && `).join('') + `shift ${2 * mounts.length} && exec "$@"`;
  return ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script, 'sh', ...mounts.flatMap((mount) => [mount.options, mount.dir])];
}

/** A path as the daemon sees it, inside its mount namespace. */
export function inside(daemon: RunningDaemon, path: string): string {
  return `/proc/${daemon.child.pid}/root${path}`;
}

/** Fills the file system holding `dir` until it refuses another byte. */
export function fill(dir: string): string {
  const file = join(dir, '.filler');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
    // Byte by byte up to the last block, so that nothing at all is left.
    try {
      for (;;) writeSync(fd, chunk.subarray(0, 512));
    } catch {
      // full
    }
  } finally {
    closeSync(fd);
  }
  return file;
}

export interface HeldTmpfs {
  /** Runs a command inside the namespace: put it before the command line (see startSluice's prefix). */
  prefix: string[];
  /** A path as the processes inside see it. */
  inside(path: string): string;
  /** Grows the tmpfs at `dir`: the "grow the file system" fix. */
  grow(dir: string, size: string): void;
  close(): Promise<void>;
}

/**
 * The same tmpfs mounts, in a namespace a sleeping process holds: what a command wrote there
 * outlives the command (a batch copy's target, read after it exits), until `close`.
 */
export async function holdTmpfs(mounts: { dir: string; options: string }[]): Promise<HeldTmpfs> {
  const command = onTmpfs(mounts);
  const holder = spawn(command[0]!, [...command.slice(1), 'sh', '-c', 'echo mounted && exec sleep 3600'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    holder.stdout.once('data', () => resolve());
    holder.once('exit', (code) => reject(new Error(`the tmpfs holder exited with ${code}`)));
  });
  const pid = String(holder.pid);
  return {
    prefix: ['nsenter', '-t', pid, '-m', '--'],
    inside: (path) => `/proc/${pid}/root${path}`,
    grow(dir, size) {
      const result = spawnSync('nsenter', ['-t', pid, '-m', '--', 'mount', '-o', `remount,size=${size}`, dir], { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`cannot grow the tmpfs at ${dir}: ${result.stderr}`);
    },
    async close() {
      if (holder.exitCode !== null || holder.signalCode !== null) return;
      const exited = new Promise((resolve) => holder.once('exit', resolve));
      holder.kill('SIGKILL');
      await exited;
    },
  };
}
