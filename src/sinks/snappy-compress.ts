// Snappy compression of Parquet pages: hyparquet-writer's own compressor (snappyjs's algorithm, MIT,
// Copyright (c) 2016 Zhipeng Jia) writing into one reused output buffer. Byte for byte the same
// output as hyparquet-writer's snappyCompress (test/snappy-compress.test.ts), without its garbage: it
// appends to a ByteWriter that starts at 1 KiB and doubles (a new ArrayBuffer each time) and makes a
// subarray per literal, which was an eighth of everything a Parquet row group allocated.

const MAX_HASH_TABLE_BITS = 14;
const MAX_OFFSET = 0xffff;
const INPUT_MARGIN = 15;
const KEEP_BYTES = 4 * 1024 * 1024;
const hashTables: (Uint32Array | undefined)[] = new Array<Uint32Array | undefined>(MAX_HASH_TABLE_BITS + 1);
// A page is at most about a megabyte (or one huge value): the buffer grows to the largest compressed.
let out = new Uint8Array(64 * 1024);
let position = 0;

function hashFunc(key: number, shift: number): number {
  return Math.imul(key, 0x1e35a7bd) >>> shift;
}

function load32(array: Uint8Array, at: number): number {
  return array[at]! + (array[at + 1]! << 8) + (array[at + 2]! << 16) + (array[at + 3]! << 24);
}

function equals32(array: Uint8Array, a: number, b: number): boolean {
  return array[a] === array[b] && array[a + 1] === array[b + 1] && array[a + 2] === array[b + 2] && array[a + 3] === array[b + 3];
}

function emitLiteral(input: Uint8Array, at: number, length: number): void {
  if (length <= 60) {
    out[position++] = (length - 1) << 2;
  } else {
    const value = length - 1;
    const bytes = value < 0x100 ? 1 : value < 0x10000 ? 2 : value < 0x1000000 ? 3 : 4;
    out[position++] = (59 + bytes) << 2;
    for (let index = 0; index < bytes; index++) out[position++] = (value >>> (index * 8)) & 0xff;
  }
  if (length < 32) {
    for (let index = 0; index < length; index++) out[position + index] = input[at + index]!;
  } else {
    out.set(input.subarray(at, at + length), position);
  }
  position += length;
}

function emitCopyLessThan64(offset: number, length: number): void {
  if (length < 12 && offset < 2048) {
    out[position++] = (1 + ((length - 4) << 2) + ((offset >>> 8) << 5)) & 0xff;
    out[position++] = offset & 0xff;
  } else {
    out[position++] = (2 + ((length - 1) << 2)) & 0xff;
    out[position++] = offset & 0xff;
    out[position++] = offset >>> 8;
  }
}

function emitCopy(offset: number, length: number): void {
  while (length >= 68) {
    emitCopyLessThan64(offset, 64);
    length -= 64;
  }
  if (length > 64) {
    emitCopyLessThan64(offset, 60);
    length -= 60;
  }
  emitCopyLessThan64(offset, length);
}

function compressInput(input: Uint8Array): void {
  const inputSize = input.length;
  let hashTableBits = 1;
  while (1 << hashTableBits <= inputSize && hashTableBits <= MAX_HASH_TABLE_BITS) hashTableBits++;
  hashTableBits--;
  const shift = 32 - hashTableBits;
  const hashTable = (hashTables[hashTableBits] ??= new Uint32Array(1 << hashTableBits));
  hashTable.fill(0);

  let ip = 0;
  let nextEmit = 0;
  if (inputSize >= INPUT_MARGIN) {
    const ipLimit = inputSize - INPUT_MARGIN;
    ip++;
    let nextHash = hashFunc(load32(input, ip), shift);
    let more = true;
    while (more) {
      let skip = 32;
      let nextIp = ip;
      let candidate = 0;
      do {
        ip = nextIp;
        const hash = nextHash;
        const bytesBetweenHashLookups = skip >>> 5;
        skip++;
        nextIp = ip + bytesBetweenHashLookups;
        if (ip > ipLimit) {
          more = false;
          break;
        }
        nextHash = hashFunc(load32(input, nextIp), shift);
        candidate = hashTable[hash]!;
        hashTable[hash] = ip;
      } while (ip - candidate > MAX_OFFSET || !equals32(input, ip, candidate));
      if (!more) break;

      emitLiteral(input, nextEmit, ip - nextEmit);
      do {
        const base = ip;
        let matched = 4;
        while (ip + matched < inputSize && input[ip + matched] === input[candidate + matched]) matched++;
        ip += matched;
        emitCopy(base - candidate, matched);
        nextEmit = ip;
        if (ip >= ipLimit) {
          more = false;
          break;
        }
        const prevHash = hashFunc(load32(input, ip - 1), shift);
        hashTable[prevHash] = ip - 1;
        const curHash = hashFunc(load32(input, ip), shift);
        candidate = hashTable[curHash]!;
        hashTable[curHash] = ip;
      } while (ip - candidate <= MAX_OFFSET && equals32(input, ip, candidate));
      if (!more) break;
      ip++;
      nextHash = hashFunc(load32(input, ip), shift);
    }
  }
  if (nextEmit < inputSize) emitLiteral(input, nextEmit, inputSize - nextEmit);
}

/** Snappy-compressed bytes of `input`, in an array of their own. */
export function snappyCompress(input: Uint8Array): Uint8Array {
  // Snappy's bound: a literal tag per 60 bytes at worst, plus the length varint.
  const bound = 32 + input.length + Math.ceil(input.length / 6);
  if (out.length < bound) out = new Uint8Array(bound);
  position = 0;
  let length = input.length;
  while (length >= 0x80) {
    out[position++] = (length & 0x7f) | 0x80;
    length >>>= 7;
  }
  out[position++] = length;
  compressInput(input);
  const compressed = out.slice(0, position);
  // One huge value made the buffer grow: let it go rather than keep it for ordinary pages.
  if (out.length > KEEP_BYTES) out = new Uint8Array(64 * 1024);
  return compressed;
}
