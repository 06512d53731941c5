// Inflates a zstd payload one block at a time, lazily, so that what is held at once is the compressed
// input, the frame's window (which the frame header sets: 2 MiB at MySQL's default level 3) and one
// block's output (at most 128 KiB), however large the whole is. fzstd's streaming Decompress emits
// every block it can complete from what it is given, and a few compressed bytes can hold many blocks
// (an RLE block is 4 bytes for 128 KiB), so the input is cut here at block boundaries and handed over
// one block at a time, read from the frame layout of RFC 8878: a frame header, then blocks with a
// 3-byte header each (last flag, type, size), then an optional 4-byte checksum; skippable frames
// carry a 4-byte length.
import { Decompress } from 'fzstd';

const FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC = 0x184d2a50;
const RLE_BLOCK = 1;
const RESERVED_BLOCK = 3;

/** The payload is not a well-formed zstd stream; `offset` is where in the compressed bytes. */
export class ZstdLayoutError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** The decompressed bytes, one block (or less) at a time; throws ZstdLayoutError or fzstd's error. */
export function* inflateByBlocks(compressed: Uint8Array): Generator<Uint8Array> {
  const output: Uint8Array[] = [];
  const decompressor = new Decompress((chunk) => {
    if (chunk.length > 0) output.push(chunk);
  });
  let from = 0;
  for (const to of pieceEnds(compressed)) {
    decompressor.push(compressed.subarray(from, to), to === compressed.length);
    from = to;
    yield* output;
    output.length = 0;
  }
}

/** Where each piece handed to the decompressor ends: after each block (the first with its frame header, the last with its checksum). */
function* pieceEnds(data: Uint8Array): Generator<number> {
  if (data.length === 0) throw new ZstdLayoutError('the payload is empty', 0);
  let at = 0;
  while (at < data.length) {
    const magic = readUint32(data, at);
    if ((magic & 0xfffffff0) >>> 0 === SKIPPABLE_MAGIC) {
      at += 8 + readUint32(data, at + 4);
      yield within(data, at, 'a skippable frame');
      continue;
    }
    if (magic !== FRAME_MAGIC) throw new ZstdLayoutError(`no zstd frame starts at byte ${at} (magic 0x${magic.toString(16)})`, at);
    const descriptor = byteAt(data, at + 4);
    const singleSegment = (descriptor >> 5) & 1;
    const hasChecksum = (descriptor >> 2) & 1;
    const dictionaryBytes = [0, 1, 2, 4][descriptor & 3]!;
    const sizeFlag = descriptor >> 6;
    const contentSizeBytes = sizeFlag === 0 ? singleSegment : 1 << sizeFlag;
    at += 5 + (singleSegment ? 0 : 1) + dictionaryBytes + contentSizeBytes;
    for (;;) {
      const header = byteAt(data, at) | (byteAt(data, at + 1) << 8) | (byteAt(data, at + 2) << 16);
      const last = header & 1;
      const type = (header >> 1) & 3;
      if (type === RESERVED_BLOCK) throw new ZstdLayoutError(`a block of the reserved type 3 at byte ${at}`, at);
      at += 3 + (type === RLE_BLOCK ? 1 : header >>> 3);
      if (last && hasChecksum) at += 4;
      yield within(data, at, 'a block');
      if (last) break;
    }
  }
}

function within(data: Uint8Array, end: number, what: string): number {
  if (end > data.length) throw new ZstdLayoutError(`the payload ends inside ${what} (${end - data.length} bytes short)`, data.length);
  return end;
}

function byteAt(data: Uint8Array, at: number): number {
  const value = data[at];
  if (value === undefined) throw new ZstdLayoutError(`the payload ends inside a frame or block header at byte ${at}`, at);
  return value;
}

function readUint32(data: Uint8Array, at: number): number {
  return (byteAt(data, at) | (byteAt(data, at + 1) << 8) | (byteAt(data, at + 2) << 16) | (byteAt(data, at + 3) << 24)) >>> 0;
}
