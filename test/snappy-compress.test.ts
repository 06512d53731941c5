// The Parquet writer's Snappy compressor (src/sinks/snappy-compress.ts, the native snappy package
// instead of hyparquet-writer's JavaScript one): what it writes must decompress to its input with the
// Snappy reader of hyparquet (which `sluice query`'s DuckDB and Hive read alike: test/parquet.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { snappyUncompress } from 'hyparquet';
import { snappyCompress } from '../src/sinks/snappy-compress.ts';

/** A deterministic pseudo-random byte source (xorshift), so a failure names an input that repeats. */
function bytes(length: number, seed: number, kind: 'random' | 'runs' | 'text' | 'same'): Uint8Array {
  let state = seed | 1;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  if (kind === 'text') return Buffer.from(Array.from({ length: Math.ceil(length / 5) + 1 }, () => `row-${next() % 97},`).join('')).subarray(0, length);
  const out = new Uint8Array(length);
  for (let index = 0; index < length; index++) {
    out[index] = kind === 'random' ? next() & 0xff : kind === 'same' ? 7 : ((index * 7) % 13) + (next() % 50 === 0 ? next() & 3 : 0);
  }
  return out;
}

test('decompresses to the input, and compresses what repeats', () => {
  // Around the 15-byte margin, the 60-byte literal tag, the 64 KiB copy offset, and the page size.
  const lengths = [0, 1, 4, 14, 15, 16, 59, 60, 61, 256, 257, 4096, 65535, 65536, 65537, 200_000, 1024 * 1024];
  for (const length of lengths) {
    for (const kind of ['random', 'runs', 'text', 'same'] as const) {
      const input = bytes(length, length + kind.length, kind);
      assert.equal(input.length, length);
      const compressed = snappyCompress(input);
      if (kind === 'same' && length >= 4096) assert.ok(compressed.length < length / 10, `${kind} input of ${length} bytes is compressed`);
      const output = new Uint8Array(input.length);
      snappyUncompress(compressed, output);
      assert.deepEqual(Buffer.from(output), Buffer.from(input), `${kind} input of ${length} bytes round-trips`);
    }
  }
});

test('hands out an array of its own each time: a later page does not change an earlier one', () => {
  const first = snappyCompress(bytes(10_000, 1, 'text'));
  const copy = Buffer.from(first);
  snappyCompress(bytes(10_000, 2, 'random'));
  assert.deepEqual(Buffer.from(first), copy);
});
