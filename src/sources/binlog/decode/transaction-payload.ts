// MySQL's compressed transactions (binlog_transaction_compression=ON), read through zongji's own event
// path. The server writes the transaction's GTID event as usual, then one TRANSACTION_PAYLOAD event
// (type 40) in place of its BEGIN, TableMap, rows and Xid events
// (libs/mysql/binlog/event/codecs/binary.cpp, Transaction_payload::decode):
//   body    = header fields, then the payload
//   field   = type, length, value, each a packed integer (1 byte below 251; 252/253/254 + 2/3/8 bytes);
//             type 1 payload size, 2 compression type (0 zstd, 255 none), 3 uncompressed size
//             (informational), 0 ends the header; a field of another type is skipped by its length
//   payload = the inner events, one after another, zstd-compressed: each a whole binlog event with
//             its 19-byte header (end_log_pos 0) and NO checksum, whatever binlog_checksum says
//
// zongji 0.9 skips the body and reports the event as undecodable. Two changes here, made to its
// classes (lib/binlog_event.js, reached by file as table-map-patches.ts does):
// - TransactionPayload's base class is swapped for one that reads the header and keeps the payload
//   (a view on the packet's buffer, which mysql2 never reuses), and its `unsupportedReason` goes, so
//   zongji no longer reports it: the stream and the peeks see a 'transactionpayload' event;
// - replayTransactionPayload() inflates the payload a block at a time (zstd-blocks.ts) and hands each
//   inner event, framed as the server would have sent it (a 0x00 marker, a checksum placeholder when
//   the dump has checksums), to the Binlog command's own binlogData(): so GTID tracking, the
//   position freeze, TableMap lookups, event filtering and sluice's handler treat it exactly as an
//   uncompressed transaction's event. The replication socket stays paused meanwhile, so nothing after
//   the payload is read before its last inner event.
//
// Positions: zongji has already moved its position past the payload when the event arrives; it is put
// back to the payload's start for the inner events (their changes name it, with the GTID), and the
// last inner event carries the payload's end, so that the boundary after the transaction is there.
//
// Memory: the compressed payload (one event, as the server sent it), the zstd window, one block of
// output and at most two inner events. Back-pressure: sluice's queue and zongji's TableMap lookups
// pause the socket to stop the reading; while a payload is replayed, their pause and resume are held
// here instead, and the replay waits until they would have resumed.
import { EventEmitter } from 'node:events';
import { SluiceError } from '../../../core/errors.ts';
import { inflateByBlocks } from './zstd-blocks.ts';

const HEADER_BYTES = 19;
const CHECKSUM_BYTES = 4;
/** Offsets in an event header (after zongji's marker byte): event_length, end_log_pos. */
const EVENT_LENGTH_AT = 9;
const END_LOG_POS_AT = 13;

const PAYLOAD_SIZE_FIELD = 1;
const COMPRESSION_TYPE_FIELD = 2;
const UNCOMPRESSED_SIZE_FIELD = 3;
const HEADER_END_MARK = 0;
const ZSTD = 0;
const NONE = 255;

/** A TRANSACTION_PAYLOAD event as zongji emits it with the change below. */
export interface TransactionPayloadEvent {
  timestamp: number;
  nextPosition: number;
  /** The body's length (zongji's `size`: the event without header and checksum). */
  size: number;
  gtid?: string;
  compressionType?: number;
  uncompressedSize?: number;
  payload?: Buffer;
  /** Why the header could not be read. */
  headerProblem?: string;
}

/** What the replay uses of a zongji instance (zongji.ts's ZongJiInstance, which loads this module, has it all). */
interface ReplayingZongJi extends EventEmitter {
  options: { position?: number };
  stopped: boolean;
  useChecksum: boolean;
  connection?: { pause(): void; resume(): void; _command?: { binlogData?(packet: object, connection: object): unknown } | null } | null;
}

interface ZongJiParser {
  parseBuffer(length: number): Buffer;
}

const binlogEventModule = new URL('./lib/binlog_event.js', import.meta.resolve('@vlasky/zongji')).href;
const zongjiEvents = (await import(binlogEventModule)) as {
  BinlogEvent: new (parser: ZongJiParser, options: { size: number }) => object;
  TransactionPayload: { unsupportedReason?: string };
};

/** Reads the body before zongji's constructor skips it: the class's `super()` call lands here. */
class PayloadBody extends zongjiEvents.BinlogEvent {
  constructor(parser: ZongJiParser, options: { size: number }) {
    super(parser, options);
    Object.assign(this, readPayloadBody(parser.parseBuffer(options.size)));
  }
}
Object.setPrototypeOf(zongjiEvents.TransactionPayload, PayloadBody);
delete zongjiEvents.TransactionPayload.unsupportedReason;

/** The header's fields and the payload, or why they cannot be read. */
export function readPayloadBody(body: Buffer): Pick<TransactionPayloadEvent, 'compressionType' | 'uncompressedSize' | 'payload' | 'headerProblem'> {
  let at = 0;
  const packed = (): number => {
    const first = body[at++];
    if (first === undefined) throw new Error('the header runs past the end of the event');
    if (first < 251) return first;
    const width = first === 252 ? 2 : first === 253 ? 3 : first === 254 ? 8 : 0;
    if (width === 0 || at + width > body.length) throw new Error(`a header field has an unreadable packed integer (0x${first.toString(16)})`);
    const value = width === 8 ? Number(body.readBigUInt64LE(at)) : body.readUIntLE(at, width);
    at += width;
    return value;
  };
  try {
    let payloadSize: number | undefined;
    let compressionType: number | undefined;
    let uncompressedSize: number | undefined;
    for (;;) {
      const type = packed();
      if (type === HEADER_END_MARK) break;
      const length = packed();
      if (type === PAYLOAD_SIZE_FIELD) payloadSize = packed();
      else if (type === COMPRESSION_TYPE_FIELD) compressionType = packed();
      else if (type === UNCOMPRESSED_SIZE_FIELD) uncompressedSize = packed();
      else at += length;
    }
    if (payloadSize === undefined || compressionType === undefined) throw new Error('the header lacks the payload size or the compression type');
    if (payloadSize > body.length - at) throw new Error(`the header gives a payload of ${payloadSize} bytes, but ${body.length - at} follow it`);
    return { compressionType, ...(uncompressedSize !== undefined ? { uncompressedSize } : {}), payload: body.subarray(at, at + payloadSize) };
  } catch (error) {
    return { headerProblem: (error as Error).message };
  }
}

export interface PayloadReplayOptions {
  /** Where the payload event starts, for messages (zongji's position is back at its start when this is called). */
  describe(): string;
  /** sluice's error for what zongji reports on an inner event, when it has one (an event zongji does not decode); else the payload's own error is used. */
  classify(error: Error, at: string): SluiceError | undefined;
}

/**
 * Hands the inner events of a TRANSACTION_PAYLOAD event to zongji's event path, one at a time, with
 * the replication socket paused until the last one. Call it from the 'binlog' listener, as zongji
 * emits the event. Rejects with a coded error (which the stream stops on) when the payload cannot be
 * read; resolves early, without resuming anything, when zongji is stopped meanwhile.
 */
export function replayTransactionPayload(zongji: ReplayingZongJi, event: TransactionPayloadEvent, options: PayloadReplayOptions): Promise<void> {
  const connection = zongji.connection;
  // Stopped: nothing after this event is read any more.
  if (!connection || zongji.stopped) return Promise.resolve();
  const checksumBytes = zongji.useChecksum ? CHECKSUM_BYTES : 0;
  const end = event.nextPosition;
  if (end > 0) zongji.options.position = end - (HEADER_BYTES + event.size + checksumBytes);
  const at = options.describe();
  const command = connection._command;
  if (!command?.binlogData) {
    return Promise.reject(unreadablePayloadError(at, "zongji's Binlog command cannot be reached to read its events (a zongji version this sluice was not built for)"));
  }
  const binlogData = command.binlogData.bind(command);
  const { compressionType, payload } = event;
  if (event.headerProblem !== undefined || payload === undefined || compressionType === undefined) {
    return Promise.reject(unreadablePayloadError(at, `its header cannot be read: ${event.headerProblem ?? 'no header'}`));
  }
  if (compressionType !== ZSTD && compressionType !== NONE) return Promise.reject(unknownCompressionError(at, compressionType));

  connection.pause();
  const socket = holdPauses(connection);
  const current = (): boolean => !zongji.stopped && zongji.connection === connection;
  const feed = (bytes: Buffer, endLogPos: number, index: number): void => {
    bytes.writeUInt32LE(endLogPos, 1 + END_LOG_POS_AT);
    const reported = reportedWhile(zongji, () => binlogData(innerPacket(bytes), connection));
    if (reported) {
      const innerAt = `${at}, inner event ${index} of the compressed transaction`;
      throw options.classify(reported, innerAt) ?? unreadablePayloadError(at, `its inner event ${index} cannot be decoded: ${reported.message}`, reported);
    }
  };
  const run = async (): Promise<void> => {
    const blocks = compressionType === ZSTD ? inflateByBlocks(payload) : [payload];
    const events = new InnerEvents(checksumBytes);
    // Each event is handed on once the next one is whole, so the last one is known: it ends the payload.
    let held: Buffer | undefined;
    let index = 0;
    for (const block of decoding(blocks, at)) {
      for (const inner of events.take(block, at)) {
        if (held) {
          feed(held, 0, ++index);
          await socket.resumed();
          if (!current()) return;
        }
        held = inner;
      }
    }
    events.finish(at);
    if (!held) throw unreadablePayloadError(at, 'it holds no events');
    feed(held, end, ++index);
  };
  return run().then(
    () => socket.release(current()),
    (error: unknown) => {
      socket.release(false);
      throw error;
    },
  );
}

/** The inflated bytes; a zstd stream that does not decode is the payload's error. */
function* decoding(blocks: Iterable<Uint8Array>, at: string): Generator<Uint8Array> {
  try {
    yield* blocks;
  } catch (error) {
    throw unreadablePayloadError(at, `its zstd data does not decompress: ${(error as Error).message}`, error);
  }
}

/** Cuts the inflated bytes into events, each framed as a packet of the dump: a marker byte, the event, a checksum placeholder. */
class InnerEvents {
  private readonly chunks: Uint8Array[] = [];
  private buffered = 0;

  constructor(private readonly checksumBytes: number) {}

  *take(chunk: Uint8Array, at: string): Generator<Buffer> {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= HEADER_BYTES) {
      const length = this.peekUint32(EVENT_LENGTH_AT);
      if (length < HEADER_BYTES) throw unreadablePayloadError(at, `an inner event gives its length as ${length} bytes, less than an event header`);
      if (this.buffered < length) return;
      yield this.cut(length);
    }
  }

  finish(at: string): void {
    if (this.buffered > 0) throw unreadablePayloadError(at, `it ends ${this.buffered} bytes into an unfinished inner event`);
  }

  private cut(length: number): Buffer {
    const framed = Buffer.alloc(1 + length + this.checksumBytes);
    let copied = 0;
    while (copied < length) {
      const first = this.chunks[0]!;
      const part = Math.min(first.length, length - copied);
      framed.set(first.subarray(0, part), 1 + copied);
      copied += part;
      if (part === first.length) this.chunks.shift();
      else this.chunks[0] = first.subarray(part);
    }
    this.buffered -= length;
    // zongji takes the checksum's 4 bytes off every event when the dump has checksums.
    framed.writeUInt32LE(length + this.checksumBytes, 1 + EVENT_LENGTH_AT);
    return framed;
  }

  private peekUint32(offset: number): number {
    let value = 0;
    let chunk = 0;
    let inChunk = offset;
    for (let byte = 0; byte < 4; byte++) {
      while (inChunk >= this.chunks[chunk]!.length) inChunk -= this.chunks[chunk++]!.length;
      value += this.chunks[chunk]![inChunk++]! * 2 ** (8 * byte);
    }
    return value;
  }
}

/** What binlogData reads of a mysql2 packet. */
function innerPacket(bytes: Buffer): object {
  return { buffer: bytes, offset: 0, end: bytes.length, isEOF: () => false, isError: () => false };
}

/** The first error zongji reports ('error') while `work` runs; the stream's listeners do not hear it. */
function reportedWhile(zongji: EventEmitter, work: () => void): Error | undefined {
  let reported: Error | undefined;
  const restore = shadow(zongji, 'emit', (name: string | symbol, ...args: unknown[]) => {
    if (name !== 'error') return EventEmitter.prototype.emit.call(zongji, name, ...args);
    reported ??= args[0] as Error;
    return true;
  });
  try {
    work();
  } catch (error) {
    reported ??= error as Error;
  } finally {
    restore();
  }
  return reported;
}

/**
 * Takes over the socket's pause and resume while a payload is replayed: whoever pauses (the queue
 * when full, zongji for a TableMap lookup) stops the replay instead, and their resume lets it go on.
 */
function holdPauses(connection: { pause(): void; resume(): void }): { resumed(): Promise<void> | undefined; release(resume: boolean): void } {
  let paused = false;
  let wake: (() => void) | undefined;
  const restorePause = shadow(connection, 'pause', () => {
    paused = true;
  });
  const restoreResume = shadow(connection, 'resume', () => {
    paused = false;
    const waiter = wake;
    wake = undefined;
    waiter?.();
  });
  return {
    resumed: () => (paused ? new Promise<void>((resolve) => (wake = resolve)) : undefined),
    release: (resume) => {
      restorePause();
      restoreResume();
      // Still paused: the one who paused resumes the socket itself, later.
      if (resume && !paused) connection.resume();
    },
  };
}

/** Replaces a method on one object; returns what puts the original back. */
function shadow<T extends object, K extends keyof T>(target: T, key: K, replacement: T[K]): () => void {
  const own = Object.getOwnPropertyDescriptor(target, key);
  Object.defineProperty(target, key, { value: replacement, configurable: true, writable: true });
  return () => {
    if (own) Object.defineProperty(target, key, own);
    else delete target[key];
  };
}

const KEEP_PLAIN = 'Until it is fixed, SET GLOBAL binlog_transaction_compression=OFF (and in my.cnf, and keep sessions from setting it) keeps later transactions plain';

function unreadablePayloadError(at: string, problem: string, cause?: unknown): SluiceError {
  return new SluiceError(
    'SLUICE_BINLOG_PAYLOAD_UNREADABLE',
    `the compressed transaction (TRANSACTION_PAYLOAD event, binlog_transaction_compression=ON) at ${at} cannot be read: ${problem}. ` +
      `See it with mysqlbinlog --verbose from that position. ${KEEP_PLAIN}; moving the checkpoint past it (\`sluice checkpoint set\`) loses its changes, ` +
      'so copy the captured tables it changed anew (`sluice sync`).',
    { ...(cause !== undefined ? { cause } : {}), context: { position: at, setting: 'binlog_transaction_compression', event: 'TRANSACTION_PAYLOAD_EVENT' } },
  );
}

function unknownCompressionError(at: string, compressionType: number): SluiceError {
  return new SluiceError(
    'SLUICE_BINLOG_UNSUPPORTED_EVENT',
    `the compressed transaction (TRANSACTION_PAYLOAD event) at ${at} uses compression type ${compressionType}, which sluice does not know ` +
      `(it reads zstd, 0, and none, 255), so its rows cannot be read. ${KEEP_PLAIN}; ` +
      'then move the checkpoint past the transaction (`sluice checkpoint set`) and copy the captured tables it changed anew (`sluice sync`).',
    { context: { position: at, setting: 'binlog_transaction_compression', event: 'TRANSACTION_PAYLOAD_EVENT', compressionType } },
  );
}
