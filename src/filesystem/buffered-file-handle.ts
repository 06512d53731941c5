// Collects small writes in memory and hands them to a local file in large ones: a row is a few
// hundred bytes, and a syscall per row would cost more than encoding it. Both the local file system
// and the WebHDFS spool write through it.
import type { FileHandle } from 'node:fs/promises';
import { withPath } from '../core/local-disk.ts';

// Large enough to keep syscalls rare, small enough that many open files stay cheap.
const BUFFER_BYTES = 256 * 1024;

export class BufferedFileHandle {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes handed to `write` so far. */
  written = 0;

  /** `file`: the local path, named in a write's error (a full disk must say where). */
  constructor(
    readonly handle: FileHandle,
    readonly file: string,
  ) {}

  async write(chunk: Buffer | string): Promise<void> {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (buffer.length >= BUFFER_BYTES) {
      // A large chunk (a piece of a huge row, a Parquet row group) goes out as it is: copying it
      // into one buffer with what is pending would hold it twice.
      await this.flush();
      this.written += buffer.length;
      await this.handle.write(buffer);
      return;
    }
    this.pending.push(buffer);
    this.pendingBytes += buffer.length;
    this.written += buffer.length;
    if (this.pendingBytes >= BUFFER_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const data = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await this.handle.write(data).catch((error: unknown) => Promise.reject(withPath(error, this.file)));
  }

  /** Forgets what is buffered and closes the handle, ignoring errors (the file is being thrown away). */
  async discard(): Promise<void> {
    this.pending = [];
    this.pendingBytes = 0;
    await this.handle.close().catch(() => undefined);
  }
}
