// One process at a time owns a state directory. Two daemons on one checkpoint.dir would each resume
// from the other's records and delete the other's staging files, and `sluice checkpoint set` must not
// move the position under a running daemon.
//
// The lock is `sluice.pid` in the directory: the holder's pid, its start time from /proc (so a pid
// reused after a reboot is not taken for a live daemon, which would block every start), and its host
// name. A holder in another pid namespace or on another host (two containers sharing a volume) cannot
// be asked with kill(pid, 0), so the holder also touches the file every few seconds, and such a lock
// counts as held while it is fresh.
import { link, mkdir, readFile, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isProcessAlive } from '../core/process-alive.ts';
import { SluiceError } from '../core/errors.ts';
import type { LockHolder, StateLock } from '../core/state-store.ts';

export const LOCK_FILE = 'sluice.pid';
const HEARTBEAT_MS = 10_000;
// Several missed heartbeats: a busy event loop delays a touch, it does not skip six in a row.
const FOREIGN_STALE_MS = 60_000;

export type { LockHolder, StateLock } from '../core/state-store.ts';

/** The live process holding the lock on `dir`, or undefined when the lock is free or stale. */
export async function lockHolder(dir: string): Promise<LockHolder | undefined> {
  const file = join(dir, LOCK_FILE);
  const content = await readLock(file);
  if (!content || !(await isLive(content))) return undefined;
  return { pid: content.pid, host: foreignHost(content), file };
}

/** Takes the lock on `dir` (created if missing), taking over a stale one; refuses while a live process holds it. */
export async function acquireStateLock(dir: string): Promise<StateLock> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, LOCK_FILE);
  const mine = `${process.pid}\n${(await processStart(process.pid)) ?? ''}\n${hostname()}\n`;
  // The content is written to a private file first and then linked into place: link() fails when the
  // name exists, like O_EXCL, but the lock never exists half-written, so a reader never sees it empty.
  const temp = join(dir, `.${LOCK_FILE}.${process.pid}.tmp`);
  await writeFile(temp, mine, { mode: 0o644 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(temp, file);
        return held(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new SluiceError('SLUICE_FILESYSTEM', `cannot create the lock ${file}: ${(error as Error).message}`, {
            cause: error,
            context: { file, configKey: 'checkpoint.dir' },
          });
        }
      }
      const holder = await readLock(file);
      if (holder && (await isLive(holder))) throw lockedError(dir, { pid: holder.pid, host: foreignHost(holder), file });
      // Stale: its process is gone (crash, kill -9, power loss). Another starter may be taking it over
      // at the same moment; link() above lets only one of them win the next round.
      await removeIfUnchanged(file, holder?.raw);
    }
    throw new SluiceError('SLUICE_STATE_LOCKED', `cannot take the lock ${file}: it keeps changing; is another sluice starting on ${dir}?`, {
      context: { file, configKey: 'checkpoint.dir' },
    });
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

export function lockedError(dir: string, holder: LockHolder, configKey = 'checkpoint.dir'): SluiceError {
  const who = holder.host ? `sluice process ${holder.pid} on host ${holder.host}` : `sluice process ${holder.pid}`;
  const stop = holder.host
    ? `stop that daemon (its container) first; a lock it stops refreshing is stale after ${FOREIGN_STALE_MS / 1000} s`
    : `stop that daemon first (systemctl stop sluice, or kill -TERM ${holder.pid})`;
  return new SluiceError(
    'SLUICE_STATE_LOCKED',
    `the state directory ${dir} (${configKey}) is in use by ${who} (lock ${holder.file}). ` +
      `Two processes must never share checkpoints: ${stop}.`,
    { context: { file: holder.file, pid: holder.pid, host: holder.host, configKey } },
  );
}

function held(file: string): StateLock {
  const timer = setInterval(() => {
    const now = new Date();
    utimes(file, now, now).catch(() => undefined);
  }, HEARTBEAT_MS);
  // The heartbeat must never be what keeps a finished process alive.
  timer.unref();
  return {
    file,
    release: async () => {
      clearInterval(timer);
      const lock = await readLock(file).catch(() => undefined);
      // Only our own lock: after a takeover the file belongs to someone else.
      if (lock?.pid === process.pid && foreignHost(lock) === undefined) await unlink(file).catch(() => undefined);
    },
  };
}

interface LockContent {
  pid: number;
  start: string | undefined;
  host: string | undefined;
  touchedAt: number;
  raw: string;
}

async function readLock(file: string): Promise<LockContent | undefined> {
  let raw: string;
  let touchedAt: number;
  try {
    raw = await readFile(file, 'utf8');
    touchedAt = (await stat(file)).mtimeMs;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const [pidLine, startLine, hostLine] = raw.split('\n');
  const pid = Number(pidLine);
  // Garbage is nobody's lock: treating it as held would block every start until a person removes it.
  if (!Number.isInteger(pid) || pid <= 0) return { pid: 0, start: undefined, host: undefined, touchedAt, raw };
  return { pid, start: startLine || undefined, host: hostLine || undefined, touchedAt, raw };
}

function foreignHost(lock: LockContent): string | undefined {
  return lock.host !== undefined && lock.host !== hostname() ? lock.host : undefined;
}

async function isLive(lock: LockContent): Promise<boolean> {
  if (lock.pid === 0) return false;
  if (foreignHost(lock) !== undefined) return Date.now() - lock.touchedAt < FOREIGN_STALE_MS;
  return isLocalHolderLive(lock.pid, lock.start);
}

/**
 * Whether a lock holder on this host still runs: its pid lives and started when the lock says (a pid
 * reused after a reboot is someone else). The HDFS lock asks the same of a holder on this host.
 */
export async function isLocalHolderLive(pid: number, recordedStart: string | undefined): Promise<boolean> {
  // Our own pid in the file means an earlier run that had our pid: in a container the daemon is pid 1
  // on every start.
  if (pid === process.pid) return false;
  if (!isProcessAlive(pid)) return false;
  const start = await processStart(pid);
  return recordedStart === undefined || start === undefined || start === recordedStart;
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. Linux only. */
export async function processStart(pid: number): Promise<string | undefined> {
  try {
    const line = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; the fields after its last ')' do not.
    return line.slice(line.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

async function removeIfUnchanged(file: string, raw: string | undefined): Promise<void> {
  const now = await readFile(file, 'utf8').catch(() => undefined);
  if (now !== undefined && now === raw) await unlink(file).catch(() => undefined);
}
