// HDFS through its REST API (WebHDFS), for production. The REST calls, HA failover and timeouts are in
// webhdfs-client.ts (node:http; why not the `webhdfs` npm package is said there), the meaning of a
// failure in webhdfs-errors.ts. This file maps the FileSystem contract onto them:
//
// - A written file is spooled to local disk and uploaded whole on close(): memory stays bounded
//   whatever the file size, and a slow or stopped HDFS blocks close() (so the checkpoint, so the
//   binlog reader) instead of filling memory.
// - The upload is exact under retries. Each attempt writes a new hidden name next to the target
//   (`.<name>.<random>.upload`, which Hive skips), its length is checked, and a rename that fails when
//   the target exists moves it into place. A dropped connection or a DataNode that wakes up late can
//   only ever complete its own attempt's file, never replace the target; such leftovers live in the
//   staging directory, which recovery deletes.
// - rename uses RENAME with renameoptions=NONE (HDFS's rename2): it fails when the target exists,
//   instead of moving the source into a target directory as plain RENAME does.
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { isSluiceError, SluiceError } from '../core/errors.ts';
import { defaultSpoolDir } from '../core/local-disk.ts';
import { isProcessAlive } from '../core/process-alive.ts';
import { BufferedFileHandle } from './buffered-file-handle.ts';
import { parentPath, type FileStatus, type FileSystem, type FileWriter } from './filesystem.ts';
import { WebHdfsClient, type WebHdfsClientOptions } from './webhdfs-client.ts';
import { remoteExceptionOf, webHdfsError } from './webhdfs-errors.ts';

export interface WebHdfsFileSystemOptions {
  /** NameNode HTTP addresses, tried in order for HA: ['http://nn1:9870', 'http://nn2:9870']. */
  namenodes: readonly string[];
  /** Default 'sluice'. */
  user?: string;
  delegationToken?: string;
  /** Where files are spooled before upload. Default `os.tmpdir()/sluice-spool`. */
  spoolDir?: string;
  /** Default 60000. */
  requestTimeoutMs?: number;
  logger: Logger;
  retry?: WebHdfsClientOptions['retry'];
  onEvent?: WebHdfsClientOptions['onEvent'];
}

// Large enough to keep write syscalls rare, small enough that many open files stay cheap (as local).

interface HdfsFileStatus {
  pathSuffix: string;
  type: 'FILE' | 'DIRECTORY' | 'SYMLINK';
  length: number;
  modificationTime?: number;
}

export class WebHdfsFileSystem implements FileSystem {
  readonly description: string;
  readonly spoolDir: string;
  private readonly client: WebHdfsClient;
  private spoolSwept?: Promise<void>;

  constructor(options: WebHdfsFileSystemOptions) {
    this.client = new WebHdfsClient({
      namenodes: options.namenodes,
      user: options.user ?? 'sluice',
      requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
      logger: options.logger,
      ...(options.delegationToken ? { delegationToken: options.delegationToken } : {}),
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    });
    this.spoolDir = options.spoolDir ?? defaultSpoolDir();
    this.description = `webhdfs://${options.namenodes.map((namenode) => new URL(namenode).host).join(',')}`;
  }

  /** The NameNode that answered last (HA: the active one). */
  get activeNamenode(): string {
    return this.client.activeNamenode;
  }

  async create(path: string): Promise<FileWriter> {
    // As on local disk, a file that exists is an error now, not after its content is spooled.
    if (await this.status(path)) {
      throw new SluiceError('SLUICE_FILESYSTEM', `cannot create ${path} on ${this.description}: it exists`, { context: { file: path } });
    }
    await this.prepareSpool();
    const spoolFile = join(this.spoolDir, `${process.pid}.${randomUUID()}.spool`);
    // Rows of the source database: readable by this user only.
    const handle = await open(spoolFile, 'wx', 0o600).catch((error: unknown) => {
      throw new SluiceError('SLUICE_FILESYSTEM', `cannot create the spool file ${spoolFile} for ${path}: ${(error as Error).message}`, {
        cause: error,
        context: { file: spoolFile },
      });
    });
    return new WebHdfsFileWriter(path, spoolFile, handle, (length) => this.upload(path, spoolFile, length));
  }

  async readFile(path: string): Promise<Buffer> {
    return this.client.retry(() => this.client.download(path));
  }

  async mkdirs(path: string): Promise<void> {
    await this.client.retry(async () => {
      const answer = (await this.client.call('PUT', 'MKDIRS', path)) as { boolean?: boolean } | undefined;
      if (answer?.boolean !== true) {
        throw new SluiceError('SLUICE_FILESYSTEM', `WebHDFS MKDIRS ${path} on ${this.description} answered ${JSON.stringify(answer)}`, { context: { file: path } });
      }
    });
  }

  async rename(from: string, to: string): Promise<void> {
    await this.mkdirs(parentPath(to));
    await this.client.retry((attempt) => this.renameOnce(from, to, attempt > 1));
  }

  /**
   * Renames `from` over `to`, replacing it in one NameNode operation (RENAME with
   * renameoptions=OVERWRITE): a reader sees the old file or the new one. For the state store's files,
   * which are replaced whole; data files are never replaced (see rename).
   */
  async replace(from: string, to: string): Promise<void> {
    await this.client.retry(async (attempt) => {
      try {
        await this.client.call('PUT', 'RENAME', from, { destination: to, renameoptions: 'OVERWRITE' });
      } catch (error) {
        // An earlier attempt that lost only its answer: the source is gone, the target is there.
        if (attempt > 1 && isSluiceError(error) && !error.retriable && !(await this.statusOnce(from)) && (await this.statusOnce(to))) return;
        throw error;
      }
    });
  }

  /** Sets the modification time of `path` to `at` (SETTIMES): a lock's heartbeat. */
  async touch(path: string, at: number): Promise<void> {
    await this.client.retry(() => this.client.call('PUT', 'SETTIMES', path, { modificationtime: at, accesstime: -1 }));
  }

  async delete(path: string, recursive: boolean): Promise<void> {
    // {"boolean": false} means there was nothing to delete, which is what the caller wants.
    await this.client.retry(() => this.client.call('DELETE', 'DELETE', path, { recursive }));
  }

  async status(path: string): Promise<FileStatus | undefined> {
    return this.client.retry(() => this.statusOnce(path));
  }

  /** When `path` was last modified, in ms since the epoch as HDFS keeps it (a lock's last heartbeat); undefined when it does not exist. */
  async modifiedAt(path: string): Promise<number | undefined> {
    const found = await this.client.retry(() => this.hdfsStatusOnce(path));
    return found && (found.modificationTime ?? 0);
  }

  async list(path: string): Promise<FileStatus[]> {
    const answer = await this.client.retry(async () => {
      try {
        return (await this.client.call('GET', 'LISTSTATUS', path)) as { FileStatuses: { FileStatus: HdfsFileStatus[] } };
      } catch (error) {
        if (remoteExceptionOf(error) === 'FileNotFoundException') return undefined;
        throw error;
      }
    });
    if (!answer) return [];
    const base = path.replace(/\/+$/, '');
    return answer.FileStatuses.FileStatus.map((entry) => toFileStatus(entry.pathSuffix === '' ? path : `${base}/${entry.pathSuffix}`, entry)).sort(
      (a, b) => a.path.localeCompare(b.path),
    );
  }

  /** For `sluice check`: which NameNode answers, and what is at `path` (or its nearest existing ancestor). */
  async probe(path: string): Promise<string> {
    for (let current = path; ; current = parentPath(current)) {
      const found = await this.status(current);
      if (found) {
        const what = current === path ? `${path} exists (${found.type})` : `${path} does not exist yet; ${current} does (${found.type})`;
        return `${this.client.activeNamenode} answers; ${what}`;
      }
      if (current === '/') return `${this.client.activeNamenode} answers; / does not exist`;
    }
  }

  close(): void {
    this.client.close();
  }

  private async statusOnce(path: string): Promise<FileStatus | undefined> {
    const found = await this.hdfsStatusOnce(path);
    return found && toFileStatus(path, found);
  }

  private async hdfsStatusOnce(path: string): Promise<HdfsFileStatus | undefined> {
    try {
      return ((await this.client.call('GET', 'GETFILESTATUS', path)) as { FileStatus: HdfsFileStatus }).FileStatus;
    } catch (error) {
      if (remoteExceptionOf(error) === 'FileNotFoundException') return undefined;
      throw error;
    }
  }

  /**
   * `retried`: an earlier attempt may have reached the NameNode and lost only its answer; then a source
   * that is gone and a target that is there is this rename, done.
   */
  private async renameOnce(from: string, to: string, retried: boolean): Promise<void> {
    try {
      await this.client.call('PUT', 'RENAME', from, { destination: to, renameoptions: 'NONE' });
    } catch (error) {
      if (!isSluiceError(error) || error.retriable) throw error;
      const [source, target] = [await this.statusOnce(from), await this.statusOnce(to)];
      if (retried && !source && target) return;
      if (target) {
        throw new SluiceError('SLUICE_FILESYSTEM', `cannot rename ${from} to ${to} on ${this.description}: the target exists`, {
          cause: error,
          context: { file: to },
        });
      }
      if (!source) {
        throw new SluiceError('SLUICE_FILESYSTEM', `cannot rename ${from} to ${to} on ${this.description}: the source does not exist`, {
          cause: error,
          context: { file: from },
        });
      }
      throw error;
    }
  }

  /** Uploads a closed spool file to `path`, exactly once whatever fails on the way (see the top of this file). */
  private async upload(path: string, spoolFile: string, length: number): Promise<void> {
    const attempts: string[] = [];
    let renameSent = false;
    const landed = async (): Promise<boolean> => {
      // create() saw no file at `path`, and every attempt has the same bytes: a file of this length there is ours.
      const target = await this.statusOnce(path);
      return target?.type === 'file' && target.length === length;
    };
    await this.client.retry(async () => {
      if (renameSent && (await landed())) return;
      const upload = uploadName(path);
      attempts.push(upload);
      await this.client.upload(upload, spoolFile, length, { overwrite: false });
      const uploaded = await this.statusOnce(upload);
      if (uploaded?.length !== length) {
        throw webHdfsError({
          op: 'CREATE',
          path: upload,
          url: this.client.activeNamenode,
          retriable: true,
          detail: `the file holds ${uploaded?.length ?? 'no'} bytes after the upload, ${length} were sent`,
        });
      }
      renameSent = true;
      try {
        await this.renameOnce(upload, path, false);
      } catch (error) {
        if (isSluiceError(error) && !error.retriable && (await landed())) return;
        throw error;
      }
    });
    // Attempts that failed may have left a (partial) file; a best effort while HDFS answers (after a
    // failure, recovery deletes the staging directory). The renamed attempt is gone already.
    if (attempts.length > 1) {
      for (const upload of attempts) await this.client.call('DELETE', 'DELETE', upload, { recursive: false }).catch(() => undefined);
    }
  }

  /** Creates the spool directory, and once per process deletes spool files of processes that are gone (kill -9). */
  private prepareSpool(): Promise<void> {
    this.spoolSwept ??= (async () => {
      await mkdir(this.spoolDir, { recursive: true, mode: 0o700 });
      for (const name of await readdir(this.spoolDir)) {
        const pid = Number(/^(\d+)\..*\.spool$/.exec(name)?.[1]);
        if (Number.isInteger(pid) && pid !== process.pid && !isProcessAlive(pid)) await rm(join(this.spoolDir, name), { force: true });
      }
    })().catch((error: unknown) => {
      this.spoolSwept = undefined;
      throw new SluiceError('SLUICE_FILESYSTEM', `cannot prepare the spool directory ${this.spoolDir}: ${(error as Error).message}`, {
        cause: error,
        context: { file: this.spoolDir },
      });
    });
    return this.spoolSwept;
  }
}

function toFileStatus(path: string, status: HdfsFileStatus): FileStatus {
  return { path, type: status.type === 'DIRECTORY' ? 'directory' : 'file', length: status.length };
}

/** A fresh hidden name beside `path` for one upload attempt. */
function uploadName(path: string): string {
  const parent = parentPath(path);
  const name = path.slice(path.lastIndexOf('/') + 1);
  return `${parent === '/' ? '' : parent}/.${name}.${randomUUID().slice(0, 8)}.upload`;
}

class WebHdfsFileWriter implements FileWriter {
  private readonly buffer: BufferedFileHandle;
  private state: 'open' | 'closing' | 'closed' | 'aborted' = 'open';

  constructor(
    readonly path: string,
    private readonly spoolFile: string,
    handle: FileHandle,
    private readonly upload: (length: number) => Promise<void>,
  ) {
    this.buffer = new BufferedFileHandle(handle, spoolFile);
  }

  get bytesWritten(): number {
    return this.buffer.written;
  }

  async write(chunk: Buffer | string): Promise<void> {
    if (this.state !== 'open') throw new SluiceError('SLUICE_FILESYSTEM', `write to ${this.path} after close`, { context: { file: this.path } });
    await this.buffer.write(chunk);
  }

  /** Resolves once HDFS holds the whole file at `path` (the DataNode pipeline acknowledged and the file closed). */
  async close(): Promise<void> {
    if (this.state !== 'open') throw new SluiceError('SLUICE_FILESYSTEM', `${this.path} is already ${this.state}`, { context: { file: this.path } });
    this.state = 'closing';
    try {
      try {
        await this.buffer.flush();
      } finally {
        // No fsync: the spool only has to outlive this process, and a crash restarts from the checkpoint.
        await this.buffer.handle.close();
      }
      await this.upload(this.buffer.written);
      this.state = 'closed';
    } finally {
      if (this.state !== 'closed') this.state = 'aborted';
      await rm(this.spoolFile, { force: true });
    }
  }

  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    await this.buffer.discard();
    await rm(this.spoolFile, { force: true });
  }
}
