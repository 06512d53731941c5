// The lock on a state directory on HDFS: `sluice.lock` in it, naming its owner (a random id, the pid,
// the process's start time and the host). It is taken the way the local lock is: the content is written
// to a hidden file first, then renamed to `sluice.lock` with a rename that fails when the name exists
// (WebHDFS RENAME, renameoptions=NONE). The NameNode runs that rename as one operation under its
// namespace lock, so of two daemons starting at once exactly one gets the lock, and a reader never
// sees a lock half written.
//
// A holder is live while its process runs (asked with kill(pid, 0) when it is on this host) or, on
// another host, while it refreshes the lock's modification time every few seconds (SETTIMES); a lock
// not refreshed for FOREIGN_STALE_MS is stale and may be taken over. At each refresh the holder reads
// the lock back, and when it names someone else (it was paused past the lease and a standby took
// over) it reports the loss and the daemon exits at once, without a final checkpoint.
//
// What this cannot prevent, and ZooKeeper with an epoch check before each rename will (the next step,
// see docs/state.md): a holder that pauses past the lease (GC, SIGSTOP, a network partition that cuts
// it from HDFS but not from the database) and then makes the renames it had in hand before its next
// refresh notices. Staleness on another host compares the lock's modification time (set by the
// holder's refreshes, from its clock) with this host's clock, so the hosts' clocks must agree to
// within a fraction of the lease (NTP, which a Hadoop cluster needs anyway).
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { SluiceError } from '../core/errors.ts';
import type { LockHolder, StateLock } from '../core/state-store.ts';
import { joinPath } from '../filesystem/filesystem.ts';
import type { WebHdfsFileSystem } from '../filesystem/webhdfs-filesystem.ts';
import { isLocalHolderLive, lockedError, processStart } from './state-lock.ts';

export const HDFS_LOCK_FILE = 'sluice.lock';

export interface HdfsLockTiming {
  /** How often the holder refreshes the lock. */
  heartbeatMs: number;
  /** How long a lock of another host may go unrefreshed before it is stale. */
  staleMs: number;
}

// Several missed refreshes: a busy event loop or a slow NameNode delays one, it does not skip six.
export const DEFAULT_LOCK_TIMING: HdfsLockTiming = { heartbeatMs: 10_000, staleMs: 60_000 };

export interface HdfsLockPlace {
  fs: WebHdfsFileSystem;
  dir: string;
  configKey: string;
  /** Writes `name` in `dir` atomically (the store's write). */
  write(name: string, content: string): Promise<void>;
  timing: HdfsLockTiming;
  /** With ha.zookeeper the election decides who writes: a live holder is an old leader, and loses the lock. */
  takeOver?: boolean;
}

interface LockContent {
  owner: string;
  pid: number;
  start?: string;
  host: string;
  since: string;
}

interface ReadLock {
  content: LockContent | undefined;
  raw: string;
  modifiedMs: number;
}

export async function hdfsLockHolder(place: HdfsLockPlace): Promise<LockHolder | undefined> {
  const file = joinPath(place.dir, HDFS_LOCK_FILE);
  const lock = await readLock(place, file);
  if (!lock || !(await isLive(lock, place.timing))) return undefined;
  return { pid: lock.content!.pid, host: foreignHost(lock.content!), file };
}

export async function acquireHdfsStateLock(place: HdfsLockPlace): Promise<StateLock> {
  const { fs, dir } = place;
  const file = joinPath(dir, HDFS_LOCK_FILE);
  const start = await processStart(process.pid);
  const mine: LockContent = { owner: randomUUID(), pid: process.pid, ...(start ? { start } : {}), host: hostname(), since: new Date().toISOString() };
  // The store's write puts the content in place atomically under a hidden name; the rename below,
  // which fails when the lock exists, is what takes the lock.
  const candidate = `.${HDFS_LOCK_FILE}.${mine.owner.slice(0, 8)}.tmp`;
  const temp = joinPath(dir, candidate);
  await place.write(candidate, JSON.stringify(mine) + '\n');
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await fs.rename(temp, file);
        return held(place, file, mine);
      } catch (error) {
        if (!(await fs.status(file))) throw error;
      }
      const holder = await readLock(place, file);
      if (holder && !place.takeOver && (await isLive(holder, place.timing))) throw lockedError(`${dir} on ${fs.description}`, { pid: holder.content!.pid, host: foreignHost(holder.content!), file }, place.configKey);
      // Stale: its process is gone, or it stopped refreshing. Another starter may be taking it over
      // at the same moment; the rename above lets only one of them win the next round.
      const now = await readLock(place, file);
      if (now && holder && now.raw === holder.raw && now.modifiedMs === holder.modifiedMs) await fs.delete(file, false);
    }
    throw new SluiceError('SLUICE_STATE_LOCKED', `cannot take the lock ${file} on ${fs.description}: it keeps changing; is another sluice starting on ${dir}?`, {
      context: { file, configKey: place.configKey },
    });
  } finally {
    await fs.delete(temp, false).catch(() => undefined);
  }
}

function held(place: HdfsLockPlace, file: string, mine: LockContent): StateLock {
  const { fs } = place;
  let reportLost: (error: SluiceError) => void = () => undefined;
  const lost = new Promise<SluiceError>((resolve) => (reportLost = resolve));
  let beating = false;
  const timer = setInterval(() => {
    if (beating) return; // a slow NameNode: one refresh at a time
    beating = true;
    (async () => {
      const lock = await readLock(place, file);
      if (lock?.content?.owner !== mine.owner) {
        clearInterval(timer);
        const other = lock?.content ? `sluice process ${lock.content.pid} on host ${lock.content.host}` : 'nobody (it was deleted)';
        reportLost(
          new SluiceError(
            'SLUICE_STATE_LOCK_LOST',
            `the lock ${file} on ${fs.description} (${place.configKey}) now names ${other}: this daemon could not refresh it for ` +
              `${place.timing.staleMs / 1000} s (paused, or cut off from HDFS) and was taken over. It exits now, without a final checkpoint; ` +
              'the holder resumes from the last checkpoint record.',
            { context: { file, configKey: place.configKey } },
          ),
        );
        return;
      }
      await fs.touch(file, Date.now());
    })()
      // HDFS unreachable: try again at the next beat; a standby takes over only after the lease.
      .catch(() => undefined)
      .finally(() => (beating = false));
  }, place.timing.heartbeatMs);
  // The heartbeat must never be what keeps a finished process alive.
  timer.unref();
  return {
    file,
    lost,
    release: async () => {
      clearInterval(timer);
      const lock = await readLock(place, file).catch(() => undefined);
      // Only our own lock: after a takeover the file belongs to someone else.
      if (lock?.content?.owner === mine.owner) await fs.delete(file, false).catch(() => undefined);
    },
  };
}

async function readLock(place: HdfsLockPlace, file: string): Promise<ReadLock | undefined> {
  const modifiedMs = await place.fs.modifiedAt(file);
  if (modifiedMs === undefined) return undefined;
  let raw: string;
  try {
    raw = (await place.fs.readFile(file)).toString('utf8');
  } catch (error) {
    if (!(await place.fs.status(file))) return undefined; // released meanwhile
    throw error;
  }
  let content: LockContent | undefined;
  try {
    const parsed = JSON.parse(raw) as LockContent;
    // Garbage is nobody's lock: treating it as held would block every start until a person removes it.
    if (typeof parsed.owner === 'string' && Number.isInteger(parsed.pid) && typeof parsed.host === 'string') content = parsed;
  } catch {
    content = undefined;
  }
  return { content, raw, modifiedMs };
}

function foreignHost(lock: LockContent): string | undefined {
  return lock.host !== hostname() ? lock.host : undefined;
}

async function isLive(lock: ReadLock, timing: HdfsLockTiming): Promise<boolean> {
  if (!lock.content) return false;
  if (foreignHost(lock.content) !== undefined) return Date.now() - lock.modifiedMs < timing.staleMs;
  return isLocalHolderLive(lock.content.pid, lock.content.start);
}
