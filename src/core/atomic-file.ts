// Atomic replace of a small file: write a temp file beside it, fsync it, rename it over the target,
// fsync the directory. A crash at any instant leaves the old content or the new, never a torn file.
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { withPath } from './local-disk.ts';

export async function writeFileAtomic(path: string, content: string | Buffer): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const handle = await open(temp, 'w');
  try {
    // An fd's errors carry no path; a full disk must say which directory it is.
    await handle.writeFile(content).catch((error: unknown) => Promise.reject(withPath(error, temp)));
    await handle.sync().catch((error: unknown) => Promise.reject(withPath(error, temp)));
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await fsyncDirectory(dirname(path));
}

export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
