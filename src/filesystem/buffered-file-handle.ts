// Collects small writes in memory and hands them to a local file in large ones: a row is a few
// hundred bytes, and a syscall per row would cost more than encoding it. Both the local file system
// and the WebHDFS spool write through it.
//
// Writes are copied (a string encoded as UTF-8) into one preallocated buffer that goes to the file
// when full: a text row handed over as a string then costs no Buffer of its own, and nothing is
// copied twice. In the daemon's CPU profile the per-row Buffers and their concatenation took ~8%.
import type { FileHandle } from 'node:fs/promises';
import { withPath } from '../core/local-disk.ts';
import { SETTLED } from '../core/settled.ts';
import type { WriteBuffer } from './filesystem.ts';

// Large enough to keep syscalls rare, small enough that many open files stay cheap.
const BUFFER_BYTES = 256 * 1024;

export class BufferedFileHandle implements WriteBuffer {
  /** Allocated at the first write, so that an idle open file holds no buffer. */
  private buffer: Buffer | undefined;
  private pendingBytes = 0;
  /** Bytes handed to `write` so far. */
  written = 0;

  /** `file`: the local path, named in a write's error (a full disk must say where). */
  constructor(
    readonly handle: FileHandle,
    readonly file: string,
  ) {}

  get bytes(): Buffer {
    return (this.buffer ??= Buffer.allocUnsafe(BUFFER_BYTES));
  }

  get at(): number {
    return this.pendingBytes;
  }

  /** Bytes an encoder wrote into `bytes` from `at` up to `end` (hive-text-into.ts): the row is written. */
  advance(end: number): void {
    this.written += end - this.pendingBytes;
    this.pendingBytes = end;
  }

  write(chunk: Buffer | string): Promise<void> {
    // The common write, a row that fits: no promise of its own (this runs once per row).
    if (typeof chunk === 'string' && chunk.length * 3 <= BUFFER_BYTES - this.pendingBytes) {
      this.buffer ??= Buffer.allocUnsafe(BUFFER_BYTES);
      const length = this.buffer.write(chunk, this.pendingBytes, 'utf8');
      this.pendingBytes += length;
      this.written += length;
      return SETTLED;
    }
    return this.writeFlushing(chunk);
  }

  private async writeFlushing(chunk: Buffer | string): Promise<void> {
    if (typeof chunk === 'string') {
      // At most 3 bytes of UTF-8 per UTF-16 unit: a string that may not fit is flushed before, and
      // one that may not fit an empty buffer goes out as it is.
      if (chunk.length * 3 > BUFFER_BYTES) return this.writeLarge(Buffer.from(chunk, 'utf8'));
      await this.flush();
      return this.write(chunk);
    }
    if (chunk.length >= BUFFER_BYTES) return this.writeLarge(chunk);
    if (chunk.length > BUFFER_BYTES - this.pendingBytes) await this.flush();
    this.buffer ??= Buffer.allocUnsafe(BUFFER_BYTES);
    chunk.copy(this.buffer, this.pendingBytes);
    this.pendingBytes += chunk.length;
    this.written += chunk.length;
    if (this.pendingBytes >= BUFFER_BYTES) await this.flush();
  }

  /**
   * A large chunk (a piece of a huge row, a Parquet row group) goes out as it is: copying it into
   * the buffer would hold it twice.
   */
  private async writeLarge(buffer: Buffer): Promise<void> {
    await this.flush();
    this.written += buffer.length;
    await this.handle.write(buffer).catch((error: unknown) => Promise.reject(withPath(error, this.file)));
  }

  async flush(): Promise<void> {
    if (this.pendingBytes === 0 || !this.buffer) return;
    const data = this.buffer.subarray(0, this.pendingBytes);
    // The file may still be reading this one while the next writes fill another.
    this.buffer = undefined;
    this.pendingBytes = 0;
    await this.handle.write(data).catch((error: unknown) => Promise.reject(withPath(error, this.file)));
  }

  /** Forgets what is buffered and closes the handle, ignoring errors (the file is being thrown away). */
  async discard(): Promise<void> {
    this.buffer = undefined;
    this.pendingBytes = 0;
    await this.handle.close().catch(() => undefined);
  }
}
