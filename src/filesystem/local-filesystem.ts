// The embedded default's "HDFS": a directory on local disk. FileSystem paths are absolute POSIX paths
// ('/ods.db/orders/dt=2026-11-25/0.job.3-1') mapped below `root`.
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { SluiceError } from '../core/errors.ts';
import { fsyncDirectory } from '../core/atomic-file.ts';
import { withPath } from '../core/local-disk.ts';
import { BufferedFileHandle } from './buffered-file-handle.ts';
import type { FileStatus, FileSystem, FileWriter } from './filesystem.ts';


export class LocalFileSystem implements FileSystem {
  readonly description: string;
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.description = `local:${this.root}`;
  }

  private local(path: string): string {
    if (!path.startsWith('/')) throw new SluiceError('SLUICE_FILESYSTEM', `path ${path} must be absolute`, { context: { file: path } });
    return join(this.root, path);
  }

  /** The path on this machine's disk, for readers that open files themselves (DuckDB in `sluice query`). */
  localPath(path: string): string {
    return this.local(path);
  }

  async create(path: string): Promise<FileWriter> {
    const target = this.local(path);
    await mkdir(dirname(target), { recursive: true });
    const handle = await open(target, 'wx').catch((error: unknown) => {
      throw this.wrap(error, `cannot create ${path}`, path);
    });
    return new LocalFileWriter(path, handle, target);
  }

  async readFile(path: string): Promise<Buffer> {
    return readFile(this.local(path)).catch((error: unknown) => {
      throw this.wrap(error, `cannot read ${path}`, path);
    });
  }

  async mkdirs(path: string): Promise<void> {
    await mkdir(this.local(path), { recursive: true });
  }

  async rename(from: string, to: string): Promise<void> {
    const source = this.local(from);
    const target = this.local(to);
    await mkdir(dirname(target), { recursive: true });
    if (await stat(target).then(() => true, () => false)) {
      throw new SluiceError('SLUICE_FILESYSTEM', `cannot rename ${from} to ${to}: the target exists`, { context: { file: to } });
    }
    await rename(source, target).catch((error: unknown) => {
      throw this.wrap(error, `cannot rename ${from} to ${to}`, from);
    });
    // The rename is the commit: it must survive a power cut, not only a process crash.
    await fsyncDirectory(dirname(target));
  }

  async delete(path: string, recursive: boolean): Promise<void> {
    await rm(this.local(path), { recursive, force: true });
    // Compaction deletes its inputs after renaming the merged file in: that deletion must survive a
    // power cut as surely as the rename, or a partition could hold both.
    await fsyncDirectory(dirname(this.local(path))).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }

  async status(path: string): Promise<FileStatus | undefined> {
    try {
      const info = await stat(this.local(path));
      return { path, type: info.isDirectory() ? 'directory' : 'file', length: info.size };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw this.wrap(error, `cannot stat ${path}`, path);
    }
  }

  async list(path: string): Promise<FileStatus[]> {
    let entries;
    try {
      entries = await readdir(this.local(path), { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw this.wrap(error, `cannot list ${path}`, path);
    }
    const result: FileStatus[] = [];
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const child = `${path.replace(/\/$/, '')}/${entry.name}`;
      if (entry.isDirectory()) {
        result.push({ path: child, type: 'directory', length: 0 });
        continue;
      }
      // A file renamed or deleted between the listing and its stat (a commit moving a staged file,
      // while `sluice query` lists the partition) is not there any more: passed by, as HDFS's listing,
      // one request, would not have shown it.
      const status = await stat(this.local(child)).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw this.wrap(error, `cannot read ${child}`, child);
      });
      if (status) result.push({ path: child, type: 'file', length: status.size });
    }
    return result;
  }

  private wrap(error: unknown, message: string, path: string): SluiceError {
    return new SluiceError('SLUICE_FILESYSTEM', `${message} on ${this.description}: ${(error as Error).message}`, {
      cause: error,
      context: { file: path },
    });
  }
}

class LocalFileWriter implements FileWriter {
  private readonly buffer: BufferedFileHandle;

  constructor(
    readonly path: string,
    handle: FileHandle,
    file: string,
  ) {
    this.buffer = new BufferedFileHandle(handle, file);
  }

  get bytesWritten(): number {
    return this.buffer.written;
  }

  get writeBuffer(): BufferedFileHandle {
    return this.buffer;
  }

  write(chunk: Buffer | string): Promise<void> {
    return this.buffer.write(chunk);
  }

  async close(): Promise<void> {
    await this.buffer.flush();
    await this.buffer.handle.sync().catch((error: unknown) => Promise.reject(withPath(error, this.buffer.file)));
    await this.buffer.handle.close();
  }

  abort(): Promise<void> {
    return this.buffer.discard();
  }
}
