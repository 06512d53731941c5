// A local directory sluice writes in, with the config key that names it, and the one place
// that turns a Node fs error inside one of them into an error a person can act on: a full disk
// (retriable: the daemon waits and retries in process until space is free) or a directory it may
// not write (not retriable: a person must fix the permissions or the mount).
import { mkdir, open, rmdir, unlink } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { SluiceError } from './errors.ts';

export interface LocalPlace {
  configKey: string;
  dir: string;
}

/** Where files are spooled before upload to HDFS when `sink.filesystem.spoolDir` is not set. */
export function defaultSpoolDir(): string {
  return join(tmpdir(), 'sluice-spool');
}

/**
 * How the command that meets a full disk goes on: the daemon and `sluice sync` wait and retry from
 * their checkpoint; the one-shot commands (`checkpoint set`, `query`) stop, and are run again.
 */
export type OnFullDisk = 'retry' | 'stop';

const FULL = new Set(['ENOSPC', 'EDQUOT']);
const UNWRITABLE = new Set(['EACCES', 'EPERM', 'EROFS']);

/**
 * Calls on an open file (write, fsync) fail without a path; the writer that knows its file adds it,
 * so that `nameDiskError` can tell which directory is full.
 */
export function withPath(error: unknown, file: string): unknown {
  const errno = error as NodeJS.ErrnoException;
  if (typeof errno === 'object' && errno !== null && typeof errno.code === 'string' && errno.path === undefined) errno.path = file;
  return error;
}

/**
 * A full disk or an unwritable directory among `places`, as a SluiceError naming the config key;
 * any other error is returned as it is. Looks through `cause`, since callers wrap fs errors.
 */
export function nameDiskError(error: unknown, places: readonly LocalPlace[], onFull: OnFullDisk = 'retry'): unknown {
  if (error instanceof SluiceError && (error.code === 'SLUICE_DISK_FULL' || error.code === 'SLUICE_DIR_UNWRITABLE')) return error;
  const errno = fsErrorIn(error);
  if (!errno || !(FULL.has(errno.code!) || UNWRITABLE.has(errno.code!) || isNotADirectory(errno))) return error;
  const file = errno.path ?? (errno as { dest?: string }).dest;
  const place = file === undefined ? undefined : placeOf(resolve(file), places);
  // An EPERM outside sluice's directories (a signal, a syscall filter) is not about a directory.
  if (!place && !FULL.has(errno.code!)) return error;
  const where = place ? `${place.dir} (${place.configKey})` : `one of ${places.map((p) => `${p.dir} (${p.configKey})`).join(', ')}`;
  const context = { configKey: place?.configKey, dir: place?.dir, file, errno: errno.code };
  if (FULL.has(errno.code!)) {
    const move = place ? `, or move ${place.configKey} to a larger one (with sluice stopped)` : '';
    return new SluiceError(
      'SLUICE_DISK_FULL',
      `the disk holding ${where} is full (${errno.code} on ${file ?? 'a file there'}). ` +
        (onFull === 'retry'
          ? 'sluice keeps its last checkpoint and retries from it, waiting longer each time (up to a minute), until there is space: ' +
            `free space on that file system or grow it${move}. Nothing after the last checkpoint was committed, so nothing is lost or written twice.`
          : `Nothing was changed: free space on that file system or grow it${move}, then run the command again.`),
      { cause: error, retriable: onFull === 'retry', context },
    );
  }
  if (isNotADirectory(errno)) {
    return new SluiceError(
      'SLUICE_DIR_UNWRITABLE',
      `${where} is not a directory: ${file} or a directory above it is a file (${errno.code}). ` +
        'Fix: point the key at a directory (sluice creates it when missing), or move that file away. A restart cannot fix this, so sluice exits with 78.',
      { cause: error, context },
    );
  }
  const readOnly = errno.code === 'EROFS';
  return new SluiceError(
    'SLUICE_DIR_UNWRITABLE',
    `sluice cannot write in ${where}: ${errno.code} on ${file}` +
      (readOnly ? ' (a read-only file system)' : ` (the user ${currentUser()} may not write there)`) +
      '. Fix: ' +
      (readOnly
        ? 'mount it read-write, or point the key at a writable directory; under systemd (ProtectSystem=strict) a directory outside /var/lib/sluice needs a ReadWritePaths= line in the unit'
        : `let ${currentUser()} write there (chown or chmod the directory), or point the key at a directory it may write`) +
      '. A restart cannot fix this, so sluice exits with 78.',
    { cause: error, context },
  );
}

/**
 * Writes, fsyncs and deletes a probe file in each place, so that a start fails at once, naming the
 * key, instead of at the first row or the first checkpoint. With `tidy`, directories it had to create
 * for that go again, so that a start refused later (a sync job's preconditions) leaves nothing behind.
 */
export async function probeWritable(places: readonly LocalPlace[], options: { tidy?: boolean } = {}): Promise<void> {
  for (const place of places) {
    const probe = join(place.dir, `.sluice-probe.${process.pid}`);
    let created: string | undefined;
    try {
      created = await mkdir(place.dir, { recursive: true });
      const handle = await open(probe, 'w');
      try {
        await handle.writeFile('sluice checks that it can write here\n').catch((error: unknown) => Promise.reject(withPath(error, probe)));
        await handle.sync().catch((error: unknown) => Promise.reject(withPath(error, probe)));
      } finally {
        await handle.close();
      }
      await unlink(probe);
      if (options.tidy) await removeEmptyUpTo(place.dir, created);
    } catch (error) {
      await unlink(probe).catch(() => undefined);
      if (options.tidy) await removeEmptyUpTo(place.dir, created);
      const named = nameDiskError(error, [place]);
      if (named !== error) throw named;
      throw new SluiceError('SLUICE_FILESYSTEM', `cannot write a probe file in ${place.dir} (${place.configKey}): ${(error as Error).message}`, {
        cause: error,
        context: { configKey: place.configKey, dir: place.dir },
      });
    }
  }
}

/** rmdir of `dir` and its parents up to `top` (what mkdir -p created), stopping at the first one not empty. */
async function removeEmptyUpTo(dir: string, top: string | undefined): Promise<void> {
  if (top === undefined) return;
  for (let current = dir; current.length >= top.length; current = dirname(current)) {
    if (!(await rmdir(current).then(() => true, () => false))) return;
  }
}

// mkdir -p of a path that is a file fails with EEXIST; anything below a file fails with ENOTDIR.
// (EEXIST from other calls is sluice's own business, a lock already taken say.)
function isNotADirectory(errno: NodeJS.ErrnoException): boolean {
  return errno.code === 'ENOTDIR' || (errno.code === 'EEXIST' && errno.syscall === 'mkdir');
}

function fsErrorIn(error: unknown): NodeJS.ErrnoException | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return current as NodeJS.ErrnoException;
  }
  return undefined;
}

function placeOf(file: string, places: readonly LocalPlace[]): LocalPlace | undefined {
  // The longest match wins: a catalog kept inside the warehouse is the catalog's.
  return [...places]
    .sort((a, b) => b.dir.length - a.dir.length)
    .find((place) => file === place.dir || file.startsWith(place.dir.endsWith(sep) ? place.dir : place.dir + sep));
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}
