// The local directories sluice writes in, each with the config key that names it, and the one place
// that turns a Node fs error inside one of them into an error a person can act on: a full disk
// (retriable: the daemon waits and retries in process until space is free) or a directory it may
// not write (not retriable: a person must fix the permissions or the mount).
import { mkdir, open, unlink } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve, sep } from 'node:path';
import type { SluiceConfig } from '../config/schema.ts';
import { SluiceError } from '../errors.ts';

export interface LocalPlace {
  configKey: string;
  dir: string;
}

/** Where files are spooled before upload to HDFS when `sink.filesystem.spoolDir` is not set. */
export function defaultSpoolDir(): string {
  return join(tmpdir(), 'sluice-spool');
}

/** Every local directory the daemon writes in, for a config whose paths are resolved (loadConfig does that). */
export function localPlaces(config: SluiceConfig): LocalPlace[] {
  const places: LocalPlace[] = [{ configKey: 'checkpoint.dir', dir: config.checkpoint.dir }];
  const filesystem = config.sink.filesystem;
  if (filesystem.kind === 'local') places.push({ configKey: 'sink.filesystem.root', dir: filesystem.root });
  else places.push({ configKey: 'sink.filesystem.spoolDir', dir: filesystem.spoolDir ?? defaultSpoolDir() });
  if (config.sink.catalog.kind === 'local') places.push({ configKey: 'sink.catalog.dir', dir: config.sink.catalog.dir });
  return places.map((place) => ({ ...place, dir: resolve(place.dir) }));
}

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
export function nameDiskError(error: unknown, places: readonly LocalPlace[]): unknown {
  if (error instanceof SluiceError && (error.code === 'SLUICE_DISK_FULL' || error.code === 'SLUICE_DIR_UNWRITABLE')) return error;
  const errno = fsErrorIn(error);
  if (!errno || !(FULL.has(errno.code!) || UNWRITABLE.has(errno.code!))) return error;
  const file = errno.path ?? (errno as { dest?: string }).dest;
  const place = file === undefined ? undefined : placeOf(resolve(file), places);
  // An EPERM outside sluice's directories (a signal, a syscall filter) is not about a directory.
  if (!place && !FULL.has(errno.code!)) return error;
  const where = place ? `${place.dir} (${place.configKey})` : `one of ${places.map((p) => `${p.dir} (${p.configKey})`).join(', ')}`;
  const context = { configKey: place?.configKey, dir: place?.dir, file, errno: errno.code };
  if (FULL.has(errno.code!)) {
    return new SluiceError(
      'SLUICE_DISK_FULL',
      `the disk holding ${where} is full (${errno.code} on ${file ?? 'a file there'}). sluice keeps its last checkpoint and retries ` +
        'from it, waiting longer each time (up to a minute), until there is space: free space on that file system or grow it' +
        (place ? `, or move ${place.configKey} to a larger one (with the daemon stopped)` : '') +
        '. Nothing after the last checkpoint was committed, so nothing is lost or written twice.',
      { cause: error, retriable: true, context },
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
 * Writes, fsyncs and deletes a probe file in each place (creating the directory), so that a start
 * fails at once, naming the key, instead of at the first row or the first checkpoint.
 */
export async function probeWritable(places: readonly LocalPlace[]): Promise<void> {
  for (const place of places) {
    const probe = join(place.dir, `.sluice-probe.${process.pid}`);
    try {
      await mkdir(place.dir, { recursive: true });
      const handle = await open(probe, 'w');
      try {
        await handle.writeFile('sluice checks that it can write here\n').catch((error: unknown) => Promise.reject(withPath(error, probe)));
        await handle.sync().catch((error: unknown) => Promise.reject(withPath(error, probe)));
      } finally {
        await handle.close();
      }
      await unlink(probe);
    } catch (error) {
      await unlink(probe).catch(() => undefined);
      const named = nameDiskError(error, [place]);
      if (named !== error) throw named;
      throw new SluiceError('SLUICE_FILESYSTEM', `cannot write a probe file in ${place.dir} (${place.configKey}): ${(error as Error).message}`, {
        cause: error,
        context: { configKey: place.configKey, dir: place.dir },
      });
    }
  }
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
