// The text rows the daemon writes into a file's buffer in place (hive-text-into.ts) must be the bytes
// encodeRow gives, for every value: each case of the codec's tests, a fuzz over every kind of UTF-16
// unit and byte, every end the encoder may meet, and whole files written through the text format.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { CellValue } from '../src/core/change-event.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { binaryColumns, encodeRow } from '../src/sinks/hive-text-codec.ts';
import { encodeRowInto, RepeatedColumns } from '../src/sinks/hive-text-into.ts';
import { textFormat } from '../src/sinks/row-file-format.ts';

function encodedInto(values: CellValue[], types: string[]): Buffer {
  const out = Buffer.alloc(16 + 4 * values.reduce((size, value) => size + 4 + (value?.length ?? 0), 0));
  const end = encodeRowInto(values, binaryColumns(types), out, 0, out.length);
  assert.ok(end >= 0, 'a row fits a buffer of 4 bytes per unit');
  return out.subarray(0, end);
}

function assertSameBytes(values: CellValue[], types: string[]): void {
  const expected = encodeRow(values, types);
  const actual = encodedInto(values, types);
  assert.ok(actual.equals(expected), `${JSON.stringify(values)}: ${actual.toString('hex')} != ${expected.toString('hex')}`);
}

let seed = 7;
function random(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
}
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

// Every class of UTF-16 unit the encoder tells apart: each ASCII byte (all those Hive escapes), the
// 2- and 3-byte UTF-8 boundaries, pairs, and lone or reversed surrogates (U+FFFD in Node's UTF-8).
const UNITS = [
  ...Array.from({ length: 128 }, (_, code) => String.fromCharCode(code)),
  '\x80', '\u07ff', '\u0800', '\uffff', '\ud7ff', '\ue000', 'é', '€', '\u2028',
  '😀', '\u{10ffff}', '\u{10000}', '\ud800', '\udbff', '\udc00', '\udfff', '\udc00\ud800',
];
const BYTES = [0x00, 0x01, 0x08, 0x09, 0x0a, 0x0d, 0x5c, 0x4e, 0x7f, 0x80, 0xbf, 0xc3, 0xff];

function randomText(maxUnits: number): string {
  return Array.from({ length: Math.floor(random() * maxUnits) }, () => pick(UNITS)).join('');
}

function randomBytes(maxBytes: number): Buffer {
  return Buffer.from(Array.from({ length: Math.floor(random() * maxBytes) }, () => (random() < 0.5 ? pick(BYTES) : Math.floor(random() * 256))));
}

const TYPES = ['bigint', 'string', 'binary', 'varchar(64)', 'binary', 'string', 'timestamp', 'string'];

function randomRow(maxLength: number): CellValue[] {
  return TYPES.map((type): CellValue => {
    const roll = random();
    if (roll < 0.1) return null;
    if (type === 'binary') return roll < 0.15 ? randomText(maxLength) : randomBytes(maxLength);
    // Raw bytes in a text column: a value that is not valid UTF-8, written byte for byte.
    if (roll < 0.2) return randomBytes(maxLength);
    return randomText(maxLength);
  });
}

describe('hive text rows encoded in place', () => {
  it('gives the bytes encodeRow gives for the codec tests\' tricky values', () => {
    assertSameBytes(['a\\b', 'x\x01y', 'l1\nl2', 'c\rr', '\\N', 'z\x02\x08\x09'], ['string', 'string', 'string', 'string', 'string', 'string']);
    assertSameBytes(
      ['\x01', '\n', '\r\n', '\\', '\\N', 'trailing\\', '', '😀 日本語 e\u0301', Buffer.from([0xff, 0x00, 0x0a, 0x01, 0x5c]), Buffer.alloc(0), '-2147483648', null],
      ['string', 'string', 'string', 'string', 'string', 'string', 'string', 'string', 'binary', 'binary', 'int', 'binary'],
    );
    assertSameBytes([null, '', '\\N', null, Buffer.alloc(0)], ['string', 'string', 'string', 'binary', 'binary']);
    assertSameBytes([Buffer.from('hello'), 'text as binary', null, undefined as unknown as CellValue], ['binary', 'BINARY ', 'string', 'string']);
    assertSameBytes([], []);
    assertSameBytes([''], ['string']);
  });

  it('gives the same bytes for every length of base64 and on both sides of the native base64 threshold', () => {
    for (let length = 0; length < 40; length++) assertSameBytes([randomBytes(1).fill(0xfb), Buffer.from(Array.from({ length }, (_, index) => (index * 89 + length) & 0xff))], ['binary', 'binary']);
    for (const length of [1021, 1022, 1023, 1024, 1025, 1026, 4099]) assertSameBytes([randomBytes(length + 1).subarray(0, length)], ['binary']);
  });

  it('gives the same bytes for a fuzz of 3000 random rows', () => {
    for (let index = 0; index < 3000; index++) assertSameBytes(randomRow(index < 2500 ? 12 : 400), TYPES);
  });

  it('gives -1 or the whole row for every end, and never writes at or past the end', () => {
    for (let index = 0; index < 200; index++) {
      const row = randomRow(10);
      const expected = encodeRow(row, TYPES);
      const binary = binaryColumns(TYPES);
      let fitted = false;
      for (let end = 0; end <= expected.length * 3 + 20; end++) {
        const out = Buffer.alloc(end + 8, 0xee);
        const at = end > 5 ? 5 : 0;
        const written = encodeRowInto(row, binary, out, at, end);
        assert.ok(out.subarray(end).every((byte) => byte === 0xee), 'nothing written at or past the end');
        if (written < 0) {
          assert.ok(!fitted, 'a row that fits before one end fits before every later one');
          continue;
        }
        fitted = true;
        assert.ok(out.subarray(at, written).equals(expected));
      }
      assert.ok(fitted, 'a row fits before an end of 3 bytes per unit');
    }
  });

  it('gives the same bytes when columns keep their last value\'s bytes, whatever each row holds in them', () => {
    const binary = binaryColumns(TYPES);
    // Repeating columns of every kind: text, binary, and ones whose values change every row or never.
    const repeated = new RepeatedColumns([0, 1, 2, 5, 7]);
    const choices: CellValue[] = ['insert', 'update', '2024-01-01 00:00:00', '\\N\x01é😀', '', null, Buffer.from('raw\n'), 'insert'.slice(0, 3) + 'ert', '€\n'.repeat(60), '€\n'.repeat(60) + 'a'];
    const out = Buffer.alloc(1 << 16);
    let at = 0;
    const expected: Buffer[] = [];
    for (let index = 0; index < 3000; index++) {
      const row = randomRow(12);
      for (const column of [0, 1, 5, 7]) if (random() < 0.8) row[column] = pick(choices);
      if (random() < 0.3) row[2] = pick([Buffer.from([1, 2, 3]), null]);
      const end = encodeRowInto(row, binary, out, at, out.length, repeated);
      if (end < 0) {
        // Full: the row gives -1 (the cache still right: it maps values to their bytes) and fits an empty buffer.
        at = 0;
        expected.length = 0;
        index--;
        continue;
      }
      expected.push(encodeRow(row, TYPES));
      at = end;
      assert.ok(out.subarray(0, at).equals(Buffer.concat(expected)), JSON.stringify(row));
    }
  });

  it('refuses a row of another width than the table, as encodeRow does', () => {
    const out = Buffer.alloc(64);
    assert.throws(() => encodeRowInto(['1', '2'], [false], out, 0, out.length), (error: Error & { code?: string }) => error.code === 'SLUICE_SCHEMA_UNSUPPORTED');
  });

  it('writes files byte-identical to encodeRow\'s lines, across buffer flushes and rows too large for the buffer', async () => {
    const root = await mkdtemp(join(tmpdir(), 'sluice-text-into-'));
    try {
      const fs = new LocalFileSystem(root);
      const columns = TYPES.map((type, index) => ({ name: `c${index}`, type }));
      const rows: CellValue[][] = [];
      for (let index = 0; index < 6000; index++) {
        const row = randomRow(index % 500 === 0 ? 2000 : 40);
        if (index % 7 !== 0) row[6] = `2024-01-0${Math.floor(index / 1000)} 00:00:00`;
        rows.push(row);
      }
      // A row over the 256 KiB buffer (not split in pieces), and one over 1 MiB (in pieces), amid small rows.
      rows.splice(1000, 0, ['1', 'é'.repeat(200_000), Buffer.alloc(10, 1), null, Buffer.alloc(0), '', '2024-01-01 00:00:00', '\n']);
      rows.splice(3000, 0, ['2', 'x\x01'.repeat(600_000), Buffer.alloc(300_000, 0xfe), '€', null, 'b', '', '']);
      const file = await fs.create('/data/file');
      assert.ok(file.writeBuffer, 'the local file system gives its buffer to encoders');
      const writer = textFormat.open(file, columns, [1, 5, 6]);
      for (const row of rows) await writer.write(row);
      const expected = Buffer.concat(rows.map((row) => encodeRow(row, TYPES)));
      assert.equal(writer.bytesWritten, expected.length);
      await writer.close();
      assert.ok((await readFile(join(root, 'data/file'))).equals(expected));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
