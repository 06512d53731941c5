// FTP as a FileSystem, for the batch copy's FTP writer (staging under `.data/`, renamed into place at
// each checkpoint), with basic-ftp. FileSystem paths are absolute ('/orders/.data/0.job.3') and map
// below `root` on the server.
//
// - One FTP control connection carries one transfer at a time, so each open writer has a connection
//   of its own, and every other operation goes through one metadata connection, one at a time. A
//   writer's connection goes back to a small idle pool when its file is complete.
// - A written file streams to the server as it is written (STOR over the writer's connection):
//   memory stays bounded by a chunk and the socket buffers, and a slow server slows `write`.
//   `close()` resolves once the server has answered the STOR with success and SIZE reports every
//   byte. A writer whose connection drops fails: its bytes are gone, and the caller redoes the
//   file from its checkpoint.
// - The metadata connection reconnects when it was dropped (an idle timeout of the server, a
//   restart), and an operation cut off by a drop is tried once more on a new connection.
// - FTP has no rename that refuses to replace: RNTO overwrites an existing file on most servers
//   (pure-ftpd, vsftpd). rename() checks the target first. That narrows the window without closing
//   it; sluice never renames two sources onto one target at once, since every staged name is unique.
import { PassThrough, Writable } from 'node:stream';
import { Client, FTPError, type FileInfo } from 'basic-ftp';
import { SluiceError } from '../core/errors.ts';
import { withRetry } from '../core/retry.ts';
import { isTransient } from '../core/transient.ts';
import { joinPath, parentPath, type FileStatus, type FileSystem, type FileWriter } from './filesystem.ts';

export interface FtpFileSystemOptions {
  host: string;
  /** Default 21. */
  port?: number;
  user: string;
  password: string;
  /** The directory on the server, as the user sees it after login, that FileSystem paths live under. */
  root: string;
  /** FTPS is not supported yet; the field exists so that a configuration says so explicitly. */
  secure?: false;
  /** How long the server may keep us waiting for an answer or for transfer progress. Default 30000. */
  timeoutMs?: number;
}

// Large enough that a row-sized write is not a socket write, small enough that several open files
// stay cheap (as the local file system's buffer).
const CHUNK_BYTES = 256 * 1024;
// Connections kept for the next writer. Each costs the server a process (pure-ftpd) or a slot.
const MAX_IDLE_WRITER_CONNECTIONS = 4;

interface RemoteStatus {
  type: 'file' | 'directory';
  length: number;
}

export class FtpFileSystem implements FileSystem {
  readonly description: string;
  /** host:port, the `server` of every error's context. */
  readonly server: string;
  private readonly root: string;
  private readonly options: FtpFileSystemOptions;
  private metaClient?: Client;
  private metaQueue: Promise<unknown> = Promise.resolve();
  private readonly idleWriterClients: Client[] = [];
  private closed = false;

  constructor(options: FtpFileSystemOptions) {
    this.options = options;
    const port = options.port ?? 21;
    this.server = `${options.host}:${port}`;
    this.root = normalizeRoot(options.root);
    this.description = `ftp://${options.user}@${this.server}${this.root}`;
    if (!options.root.startsWith('/')) {
      throw new SluiceError('SLUICE_FILESYSTEM', `the FTP root ${options.root} of ${this.description} must be an absolute path`, {
        context: { server: this.server, file: options.root },
      });
    }
  }

  async create(path: string): Promise<FileWriter> {
    const remote = this.remote(path);
    await this.meta(`cannot create ${path}`, path, async (client) => {
      // As on local disk, a file that exists is an error now; STOR would silently replace it.
      if (await this.statusOf(client, remote)) throw this.error(`cannot create ${path}: it exists`, path);
      await this.mkdirsOf(client, parentPath(remote));
    });
    const client = await this.writerClient(path);
    return new FtpFileWriter(path, remote, client, {
      error: (message, cause) => this.error(message, path, cause),
      release: (done) => this.releaseWriterClient(done),
    });
  }

  async readFile(path: string): Promise<Buffer> {
    const remote = this.remote(path);
    return this.meta(`cannot read ${path}`, path, async (client) => {
      const chunks: Buffer[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          chunks.push(chunk);
          callback();
        },
      });
      await client.downloadTo(sink, remote);
      return Buffer.concat(chunks);
    });
  }

  async mkdirs(path: string): Promise<void> {
    const remote = this.remote(path);
    await this.meta(`cannot create the directory ${path}`, path, (client) => this.mkdirsOf(client, remote));
  }

  async rename(from: string, to: string): Promise<void> {
    const [source, target] = [this.remote(from), this.remote(to)];
    await this.meta(`cannot rename ${from} to ${to}`, from, async (client, attempt) => {
      await this.mkdirsOf(client, parentPath(target));
      if (await this.statusOf(client, target)) {
        // The first attempt's RNTO may have reached the server and lost only its answer.
        if (attempt > 1 && !(await this.statusOf(client, source))) return;
        throw this.error(`cannot rename ${from} to ${to}: the target exists`, to);
      }
      try {
        await client.rename(source, target);
      } catch (error) {
        if (error instanceof FTPError && !(await this.statusOf(client, source))) {
          throw this.error(`cannot rename ${from} to ${to}: the source does not exist`, from, error);
        }
        throw error;
      }
    });
  }

  async delete(path: string, recursive: boolean): Promise<void> {
    const remote = this.remote(path);
    await this.meta(`cannot delete ${path}`, path, (client) => this.deleteOf(client, remote, recursive));
  }

  async status(path: string): Promise<FileStatus | undefined> {
    const remote = this.remote(path);
    const found = await this.meta(`cannot stat ${path}`, path, (client) => this.statusOf(client, remote));
    return found && { path, ...found };
  }

  async list(path: string): Promise<FileStatus[]> {
    const remote = this.remote(path);
    const entries = await this.meta(`cannot list ${path}`, path, (client) => this.listOf(client, remote));
    const base = path.replace(/\/+$/, '');
    return entries
      .map((entry) => ({ path: `${base}/${entry.name}`, type: entry.type, length: entry.length }))
      .sort((a, b) => a.path.localeCompare(b.path));
  }

  /** Closes the metadata and idle connections. Open writers keep theirs until they close. */
  async close(): Promise<void> {
    this.closed = true;
    await this.metaQueue;
    this.metaClient?.close();
    this.metaClient = undefined;
    for (const client of this.idleWriterClients.splice(0)) client.close();
  }

  private remote(path: string): string {
    if (!path.startsWith('/')) throw new SluiceError('SLUICE_FILESYSTEM', `path ${path} must be absolute`, { context: { server: this.server, file: path } });
    // A line break would end the FTP command and start another one.
    if (/[\r\n]/.test(path)) throw new SluiceError('SLUICE_FILESYSTEM', `path ${JSON.stringify(path)} holds a line break`, { context: { server: this.server, file: path } });
    return normalizeRoot(joinPath(this.root, path));
  }

  /**
   * Runs `op` on the metadata connection after every operation queued before it. A connection that
   * dropped is replaced, and an operation it cut off is run once more (`attempt` 2): every operation
   * here is safe to repeat, rename because it knows it is a repeat.
   */
  private meta<T>(what: string, file: string, op: (client: Client, attempt: number) => Promise<T>): Promise<T> {
    const attempts = 2;
    const run = async (): Promise<T> => {
      let attempt = 0;
      const once = async (): Promise<T> => {
        attempt++;
        if (this.closed) throw this.error(`${what}: the file system is closed`, file);
        if (!this.metaClient || this.metaClient.closed) {
          this.metaClient?.close();
          this.metaClient = undefined;
          this.metaClient = await this.connect(file);
        }
        const client = this.metaClient;
        client.ftp.socket.ref();
        try {
          return await op(client, attempt);
        } catch (error) {
          // The next attempt connects anew.
          if (attempt < attempts && isConnectionLost(error)) client.close();
          throw error;
        } finally {
          // An idle connection must not keep the process alive.
          client.ftp.socket.unref();
        }
      };
      try {
        return await withRetry(once, { maxAttempts: attempts, initialDelayMs: 0, maxDelayMs: 0, retryOn: isConnectionLost });
      } catch (error) {
        throw this.wrap(error, what, file);
      }
    };
    const result = this.metaQueue.then(run, run);
    this.metaQueue = result.catch(() => undefined);
    return result;
  }

  private async connect(file: string): Promise<Client> {
    const client = new Client(this.options.timeoutMs ?? 30_000);
    try {
      await client.access({
        host: this.options.host,
        port: this.options.port ?? 21,
        user: this.options.user,
        password: this.options.password,
        secure: false,
      });
    } catch (error) {
      client.close();
      // An answer from the server is a refused login; anything else, no server to ask.
      throw this.wrap(error, error instanceof FTPError ? `cannot log in as ${this.options.user}` : 'cannot connect', file);
    }
    // basic-ftp falls back from MLSD to LIST when a listing fails, and keeps whichever answered:
    // listing a missing directory would then switch this connection to LIST for good, whose output
    // is guesswork. When the server has MLSD, a failed MLSD is the answer.
    if (client.availableListCommands.includes('MLSD')) client.availableListCommands = ['MLSD'];
    return client;
  }

  private async writerClient(file: string): Promise<Client> {
    for (let client = this.idleWriterClients.pop(); client; client = this.idleWriterClients.pop()) {
      if (client.closed) continue;
      try {
        client.ftp.socket.ref();
        // The server may have closed it while it idled without us noticing yet.
        await client.send('NOOP');
        return client;
      } catch {
        client.close();
      }
    }
    return this.connect(file);
  }

  private releaseWriterClient(client: Client): void {
    if (this.closed || client.closed || this.idleWriterClients.length >= MAX_IDLE_WRITER_CONNECTIONS) {
      client.close();
      return;
    }
    client.ftp.socket.unref();
    this.idleWriterClients.push(client);
  }

  private async statusOf(client: Client, remote: string): Promise<RemoteStatus | undefined> {
    if (client.availableListCommands[0] === 'MLSD') {
      try {
        return parseMlst((await client.send(`MLST ${remote}`)).message, remote);
      } catch (error) {
        if (error instanceof FTPError && error.code === 550) return undefined;
        throw error;
      }
    }
    // Without MLST, the parent's listing is the only portable answer.
    if (remote === '/') return { type: 'directory', length: 0 };
    const name = remote.slice(remote.lastIndexOf('/') + 1);
    const entry = (await this.listOf(client, parentPath(remote))).find((candidate) => candidate.name === name);
    return entry && { type: entry.type, length: entry.length };
  }

  private async listOf(client: Client, remote: string): Promise<Array<RemoteStatus & { name: string }>> {
    let entries: FileInfo[];
    try {
      entries = await client.list(remote);
    } catch (error) {
      // 550 means "no such directory" and "not a directory" alike; only the first is an empty list.
      if (error instanceof FTPError && error.code === 550 && !(await this.statusOf(client, remote))) return [];
      throw error;
    }
    return entries
      .filter((entry) => entry.name !== '.' && entry.name !== '..')
      .map((entry) => (entry.isDirectory ? { name: entry.name, type: 'directory', length: 0 } : { name: entry.name, type: 'file', length: entry.size }));
  }

  private async mkdirsOf(client: Client, remote: string): Promise<void> {
    const missing: string[] = [];
    for (let current = remote; ; current = parentPath(current)) {
      const found = await this.statusOf(client, current);
      if (found?.type === 'directory') break;
      if (found) throw this.error(`cannot create the directory ${remote}: ${current} is a file`, remote);
      missing.unshift(current);
      if (current === '/') break;
    }
    for (const directory of missing) {
      try {
        await client.send(`MKD ${directory}`);
      } catch (error) {
        // Another writer may have created it in the meantime.
        if (error instanceof FTPError && (await this.statusOf(client, directory))?.type === 'directory') continue;
        throw error;
      }
    }
  }

  private async deleteOf(client: Client, remote: string, recursive: boolean): Promise<void> {
    const found = await this.statusOf(client, remote);
    if (!found) return;
    try {
      if (found.type === 'file') {
        await client.send(`DELE ${remote}`);
        return;
      }
      if (recursive) {
        for (const entry of await this.listOf(client, remote)) await this.deleteOf(client, joinPath(remote, entry.name), true);
      }
      // The root of a chrooted user cannot go; emptying it is what deleting it can mean.
      if (remote !== '/') await client.send(`RMD ${remote}`);
    } catch (error) {
      // Gone in the meantime is what the caller asked for.
      if (error instanceof FTPError && !(await this.statusOf(client, remote))) return;
      throw error;
    }
  }

  private wrap(error: unknown, what: string, file: string): SluiceError {
    if (error instanceof SluiceError) return error;
    return this.error(what, file, error);
  }

  private error(message: string, file: string, cause?: unknown): SluiceError {
    const detail = cause === undefined ? '' : `: ${(cause as Error).message}`;
    return new SluiceError('SLUICE_FILESYSTEM', `${message} on ${this.description}${detail}`, {
      ...(cause === undefined ? {} : { cause }),
      // basic-ftp rejects a dropped or timed-out connection with plain Errors that have neither code
      // nor a telling message ("Timeout (control socket)", "Server sent FIN packet unexpectedly"):
      // anything but an answer of the server is a lost connection here.
      retriable: cause !== undefined && (isTransient(cause) || isConnectionLost(cause)),
      context: { server: this.server, file },
    });
  }
}

/** A dropped or timed-out connection (as opposed to an answer from the server). */
function isConnectionLost(error: unknown): boolean {
  if (error instanceof SluiceError) return false;
  // 421: the server is closing the control connection (its idle timeout, a shutdown).
  return !(error instanceof FTPError) || error.code === 421;
}

function normalizeRoot(path: string): string {
  const normalized = `/${path}`.replace(/\/{2,}/g, '/');
  return normalized.length > 1 ? normalized.replace(/\/$/, '') : normalized;
}

/** The facts line of an MLST answer (RFC 3659 section 7): ' type=file;size=42;modify=...; /the/path'. */
function parseMlst(message: string, remote: string): RemoteStatus {
  const line = message.split('\n').find((candidate) => candidate.startsWith(' '));
  if (!line) throw new Error(`MLST ${remote} answered without facts: ${message}`);
  const facts = new Map<string, string>();
  for (const fact of line.slice(1, line.indexOf(' ', 1)).split(';')) {
    const separator = fact.indexOf('=');
    if (separator > 0) facts.set(fact.slice(0, separator).toLowerCase(), fact.slice(separator + 1));
  }
  const type = facts.get('type')?.toLowerCase() ?? '';
  if (type === 'dir' || type === 'cdir' || type === 'pdir') return { type: 'directory', length: 0 };
  return { type: 'file', length: Number(facts.get('size') ?? 0) };
}

interface WriterHooks {
  error(message: string, cause?: unknown): SluiceError;
  /** Hands the connection back once its file is complete. */
  release(client: Client): void;
}

class FtpFileWriter implements FileWriter {
  private readonly pipe = new PassThrough({ highWaterMark: CHUNK_BYTES });
  private readonly upload: Promise<void>;
  private failure?: SluiceError;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private written = 0;
  private state: 'open' | 'closing' | 'closed' | 'aborted' = 'open';

  constructor(
    readonly path: string,
    private readonly remote: string,
    private readonly client: Client,
    private readonly hooks: WriterHooks,
  ) {
    this.upload = client.uploadFrom(this.pipe, remote).then(
      () => {
        // The server answered before we ended the data: the rest would pile up in the pipe.
        if (this.state !== 'open') return;
        this.failure ??= hooks.error(`the server ended the upload of ${path} before it was closed`);
        throw this.failure;
      },
      (error: unknown) => {
        this.failure ??= hooks.error(`cannot upload ${path}`, error);
        throw this.failure;
      },
    );
    // Seen by write() or close(); until one of them looks, it must not count as unhandled.
    this.upload.catch(() => undefined);
  }

  get bytesWritten(): number {
    return this.written;
  }

  async write(chunk: Buffer | string): Promise<void> {
    if (this.state !== 'open') throw this.hooks.error(`write to ${this.path} after close`);
    if (this.failure) throw this.failure;
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    this.pending.push(buffer);
    this.pendingBytes += buffer.length;
    this.written += buffer.length;
    if (this.pendingBytes >= CHUNK_BYTES) await this.flush();
  }

  /** Resolves once the server has answered the STOR with success and holds every byte. */
  async close(): Promise<void> {
    if (this.state !== 'open') throw this.hooks.error(`${this.path} is already ${this.state}`);
    this.state = 'closing';
    try {
      if (this.failure) throw this.failure;
      await this.flush();
      this.pipe.end();
      await this.upload;
      // A transfer cut short can still end in a success answer on some servers; the size cannot lie.
      const size = await this.client.size(this.remote).catch((error: unknown) => {
        // 500/502/504: no SIZE command here; the STOR answer is all there is.
        if (error instanceof FTPError && [500, 502, 504].includes(error.code)) return undefined;
        throw error;
      });
      if (size !== undefined && size !== this.written) {
        throw this.hooks.error(`${this.path} holds ${size} bytes after the upload, ${this.written} were sent`);
      }
      this.state = 'closed';
      this.hooks.release(this.client);
    } catch (error) {
      this.state = 'aborted';
      this.client.close();
      throw error instanceof SluiceError ? error : this.hooks.error(`cannot upload ${this.path}`, error);
    }
  }

  /** Cuts the transfer off; the server may keep what it got, which the caller is about to delete. */
  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    this.pending = [];
    this.pendingBytes = 0;
    this.pipe.destroy(new Error(`${this.path} aborted`));
    await this.upload.catch(() => undefined);
    this.client.close();
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    if (this.failure) throw this.failure;
    const data = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (this.pipe.write(data)) return;
    // A failed upload never drains the pipe: wait for whichever comes first.
    await Promise.race([new Promise<void>((resolve) => this.pipe.once('drain', resolve)), this.upload]);
  }
}
