// Collects small writes in memory and hands them to a local file in large ones: a row is a few
// hundred bytes, and a syscall per row would cost more than encoding it. Both the local file system
// and the WebHDFS spool write through it.
//
// Writes are copied (a string encoded as UTF-8) into one preallocated buffer that goes to the file
// when full: a text row handed over as a string then costs no Buffer of its own, and nothing is
// copied twice. In the daemon's CPU profile the per-row Buffers and their concatenation took ~8%.
//
// A full buffer goes to the file while the next one fills: waiting for each write left the daemon's
// one thread idle ~12% of the time in the binlog benchmark. At most one write is in flight (two
// writes at the file's own position could land in either order), so two buffers are all a file
// holds; a write's error comes out of the next write that waits, and always out of flush().
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
  /** The write handed to the file and not yet waited for, and the buffer it returns when done. */
  private inFlight: Promise<void> | undefined;
  private spare: Buffer | undefined;
  private failure: Error | undefined;
  /** Bytes handed to `write` so far. */
  written = 0;

  /** `file`: the local path, named in a write's error (a full disk must say where). */
  constructor(
    readonly handle: FileHandle,
    readonly file: string,
  ) {}

  get bytes(): Buffer {
    return (this.buffer ??= this.freshBuffer());
  }

  private freshBuffer(): Buffer {
    const spare = this.spare;
    this.spare = undefined;
    return spare ?? Buffer.allocUnsafe(BUFFER_BYTES);
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
      this.buffer ??= this.freshBuffer();
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
      await this.makeRoom();
      return this.write(chunk);
    }
    if (chunk.length >= BUFFER_BYTES) return this.writeLarge(chunk);
    if (chunk.length > BUFFER_BYTES - this.pendingBytes) await this.makeRoom();
    this.buffer ??= this.freshBuffer();
    chunk.copy(this.buffer, this.pendingBytes);
    this.pendingBytes += chunk.length;
    this.written += chunk.length;
    if (this.pendingBytes >= BUFFER_BYTES) await this.makeRoom();
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

  /**
   * Hands the buffered bytes to the file without waiting for them to be written, after the write
   * before them is done: `bytes` is then empty. Resolves once that earlier write is done, and rejects
   * with its error if it failed.
   */
  async makeRoom(): Promise<void> {
    await this.settleInFlight();
    const buffer = this.buffer;
    if (this.pendingBytes === 0 || !buffer) return;
    const data = buffer.subarray(0, this.pendingBytes);
    this.buffer = undefined;
    this.pendingBytes = 0;
    this.inFlight = this.handle.write(data).then(
      () => {
        this.spare = buffer;
      },
      (error: unknown) => {
        // Kept for the next wait: nobody may be waiting now, and an unhandled rejection would end the process.
        this.failure = withPath(error, this.file) as Error;
      },
    );
  }

  /** Resolves once every byte handed to this handle is written to the file, or rejects with a write's error. */
  async flush(): Promise<void> {
    await this.makeRoom();
    await this.settleInFlight();
  }

  private async settleInFlight(): Promise<void> {
    if (this.inFlight) {
      await this.inFlight;
      this.inFlight = undefined;
    }
    if (this.failure) throw this.failure;
  }

  /** Forgets what is buffered and closes the handle, ignoring errors (the file is being thrown away). */
  async discard(): Promise<void> {
    this.buffer = undefined;
    this.pendingBytes = 0;
    await this.inFlight;
    await this.handle.close().catch(() => undefined);
  }
}
