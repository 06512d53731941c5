import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import type { CellValue } from '../src/core/change-event.ts';
import { TEXT_SERDE_PROPERTIES, TEXT_STORAGE_DDL } from '../src/catalog/hive-text-table.ts';
import { decodeLine, decodeRows, encodeRow, encodeRowPieces, isLargeRow, splitLines } from '../src/sinks/hive-text-codec.ts';

const roundTrip = (values: CellValue[], types: string[]): CellValue[] => decodeLine(encodeRow(values, types), types);

describe('hive text codec', () => {
  it('encodes a large row in pieces of about 1 MiB that join into the bytes encodeRow gives', () => {
    const MIB = 1024 * 1024;
    // A surrogate pair across the 1 Mi-unit piece boundary, escapes on both sides of it, raw bytes in a
    // text column, and binary values whose base64 pieces must join without padding.
    const text = 'a'.repeat(MIB - 1) + '😀\x01\n' + 'é☃\\'.repeat(1_000_000);
    const bytes = Buffer.alloc(2 * MIB + 7);
    for (let index = 0; index < bytes.length; index++) bytes[index] = (index * 7919) % 256;
    const types = ['int', 'string', 'binary', 'string', 'binary', 'string'];
    const values: CellValue[] = ['1', text, bytes, bytes.subarray(0, MIB + 3), null, ''];
    assert.ok(isLargeRow(values));
    assert.ok(!isLargeRow(['1', 'small', Buffer.alloc(10)]));
    const pieces = [...encodeRowPieces(values, types)];
    assert.ok(Math.max(...pieces.map((piece) => piece.length)) <= 3 * MIB, 'no piece holds a whole value (at most 3 UTF-8 bytes per UTF-16 unit)');
    const joined = Buffer.concat(pieces);
    assert.ok(joined.equals(encodeRow(values, types)));
    assert.deepEqual(decodeLine(joined, types), [...values.slice(0, 3), bytes.subarray(0, MIB + 3).toString('utf8'), null, '']);
  });

  it('writes the bytes Hive writes for the tricky characters', () => {
    const types = ['string', 'string', 'string', 'string', 'string', 'string'];
    const line = encodeRow(['a\\b', 'x\x01y', 'l1\nl2', 'c\rr', '\\N', 'z\x02\x08\x09'], types);
    assert.equal(line.toString('latin1'), 'a\\\\b\x01x\\\x01y\x01l1\\nl2\x01c\\rr\x01\\\\N\x01z\\\x02\\\x08\x09\n');
    // Exactly one raw \n, at the end: Hadoop's LineRecordReader also ends lines at \r, and there is none.
    assert.equal(line.indexOf(0x0a), line.length - 1);
    assert.equal(line.indexOf(0x0d), -1);
  });

  it('round-trips every tricky byte', () => {
    const types = ['string', 'string', 'string', 'string', 'string', 'string', 'string', 'string', 'binary', 'binary', 'int', 'binary'];
    const values: CellValue[] = [
      '\x01',
      '\n',
      '\r\n',
      '\\',
      '\\N',
      'trailing\\',
      '',
      '😀 日本語 e\u0301',
      Buffer.from([0xff, 0x00, 0x0a, 0x01, 0x5c]),
      Buffer.alloc(0),
      '-2147483648',
      null,
    ];
    assert.deepEqual(roundTrip(values, types), values);
  });

  it('keeps NULL, the empty string and the literal \\N apart', () => {
    const types = ['string', 'string', 'string', 'binary', 'binary'];
    const line = encodeRow([null, '', '\\N', null, Buffer.alloc(0)], types);
    assert.equal(line.toString('latin1'), '\\N\x01\x01\\\\N\x01\\N\x01\n');
    assert.deepEqual(decodeLine(line, types), [null, '', '\\N', null, Buffer.alloc(0)]);
  });

  it('writes binary columns as base64, as LazySimpleSerDe does', () => {
    const line = encodeRow([Buffer.from([0xff, 0xfe, 0x00])], ['binary']);
    assert.equal(line.toString('latin1'), '//4A\n');
  });

  it('reads a row written before ADD COLUMNS with NULL for the new columns, as Hive does', () => {
    const old = encodeRow(['1', 'a'], ['int', 'string']);
    assert.deepEqual(decodeLine(old, ['int', 'string', 'string', 'binary']), ['1', 'a', null, null]);
  });

  it('keeps a lone trailing backslash and never splits after an escape, as LazyStruct does', () => {
    assert.deepEqual(decodeLine(Buffer.from('a\\', 'latin1'), ['string']), ['a\\']);
    assert.deepEqual(decodeLine(Buffer.from('a\\\x01b', 'latin1'), ['string', 'string']), ['a\x01b', null]);
  });

  it('declares the serde properties that make Hive read the files this way', () => {
    assert.deepEqual(TEXT_SERDE_PROPERTIES, {
      'field.delim': '\x01',
      'escape.delim': '\\',
      'serialization.null.format': '\\N',
      'serialization.escape.crlf': 'true',
    });
    assert.match(TEXT_STORAGE_DDL, /'field\.delim'='\\001'/);
    assert.match(TEXT_STORAGE_DDL, /'escape\.delim'='\\\\'/);
  });

  it('survives a fuzz of 1000 random rows, whole and streamed in random chunks', async () => {
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
    const alphabet = ['\x01', '\x02', '\n', '\r', '\\', 'N', '\\N', 'a', ' ', '\t', 'é', '€', '😀', '\x00', '\x7f', '\u2028'];
    const randomString = (): string => Array.from({ length: Math.floor(random() * 12) }, () => pick(alphabet)).join('');
    const randomBytes = (): Buffer => Buffer.from(Array.from({ length: Math.floor(random() * 12) }, () => pick([0x00, 0x01, 0x0a, 0x0d, 0x5c, 0x4e, 0xff, 0x80, Math.floor(random() * 256)])));
    const types = ['string', 'binary', 'string', 'decimal(20,0)', 'binary', 'string'];
    const rows: CellValue[][] = [];
    for (let index = 0; index < 1000; index++) {
      rows.push(
        types.map((type) => {
          if (random() < 0.15) return null;
          if (type === 'binary') return randomBytes();
          if (type.startsWith('decimal')) return String(Math.floor(random() * 1e15) - 5e14);
          return randomString();
        }),
      );
    }
    const file = Buffer.concat(rows.map((row) => encodeRow(row, types)));
    assert.deepEqual([...decodeRows(file, types)], rows);

    const chunks: Buffer[] = [];
    for (let offset = 0; offset < file.length; ) {
      const size = 1 + Math.floor(random() * 64);
      chunks.push(file.subarray(offset, offset + size));
      offset += size;
    }
    const streamed: CellValue[][] = [];
    for await (const line of splitLines(Readable.from(chunks))) streamed.push(decodeLine(line, types));
    assert.deepEqual(streamed, rows);
  });

  it('splits a last line that lacks its newline', async () => {
    const lines: string[] = [];
    for await (const line of splitLines([Buffer.from('a\nb'), Buffer.from('c\n\nd')])) lines.push(line.toString());
    assert.deepEqual(lines, ['a', 'bc', '', 'd']);
  });
});
