// The one storage interface under every sink. The local implementation is the embedded default;
// WebHDFS is the production one. Everything above this file is the same code for both.
import type { Writable } from 'node:stream';

export interface FileStatus {
  path: string;
  type: 'file' | 'directory';
  length: number;
}

export interface FileSystem {
  /** A human-readable name for logs and errors: 'local:/var/lib/sluice/warehouse', 'webhdfs://nn:9870'. */
  readonly description: string;
  /**
   * Opens a new file for writing. The returned stream honours back-pressure; `close()` resolves once
   * every byte is durable (fsync on local disk, the DataNode pipeline acknowledged on HDFS).
   */
  create(path: string): Promise<FileWriter>;
  readFile(path: string): Promise<Buffer>;
  mkdirs(path: string): Promise<void>;
  /**
   * Renames `from` to `to`, creating `to`'s parent. Fails if `to` exists, so a commit never silently
   * replaces a file. Callers that must be idempotent check `exists` first.
   */
  rename(from: string, to: string): Promise<void>;
  delete(path: string, recursive: boolean): Promise<void>;
  status(path: string): Promise<FileStatus | undefined>;
  list(path: string): Promise<FileStatus[]>;
  /** Releases connections (FTP keeps some open); the file system is not used afterwards. */
  close?(): void | Promise<void>;
}

export interface FileWriter {
  readonly path: string;
  /** Bytes handed to `write` so far. */
  readonly bytesWritten: number;
  /** Resolves when the writer can take more (back-pressure). */
  write(chunk: Buffer | string): Promise<void>;
  /** Flushes, makes durable and closes. */
  close(): Promise<void>;
  /** Closes without caring about the content (the file is about to be deleted). */
  abort(): Promise<void>;
  readonly stream?: Writable;
  /** The writer's own buffer, where an encoder may write rows in place (see WriteBuffer); absent: only `write`. */
  readonly writeBuffer?: WriteBuffer;
}

/**
 * A file's buffer, open to an encoder that writes its bytes in place: no string or Buffer per row,
 * and nothing copied twice. Bytes go in at `at`, up to `bytes.length`; `advance` takes them.
 */
export interface WriteBuffer {
  /** The buffer (the same one until the next makeRoom or flush). */
  readonly bytes: Buffer;
  /** Where the next bytes go. */
  readonly at: number;
  /** Takes the bytes written from `at` up to `end` as written to the file. */
  advance(end: number): void;
  /**
   * Hands what is buffered to the file, so that `bytes` is empty (`at` 0) again, without waiting for
   * that write (only for the one before it, whose error it rejects with).
   */
  makeRoom(): Promise<void>;
}

export function joinPath(...parts: string[]): string {
  return parts
    .filter((part) => part !== '')
    .join('/')
    .replace(/\/{2,}/g, '/');
}

export function parentPath(path: string): string {
  const index = path.lastIndexOf('/');
  return index <= 0 ? '/' : path.slice(0, index);
}
