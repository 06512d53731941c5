// The buffered rows of one Parquet row group, held column by column in typed buffers that are
// reused from group to group, and handed to hyparquet-writer one column at a time.
//
// Why not an array of parsed values per column: as JavaScript values a row group took many times its
// plain size (a BigInt per 64-bit, decimal and timestamp cell, a string per text cell: 138 MiB of
// heap for an 8 MiB group), they lived through enough scavenges to be promoted, and each group left
// them in the old space as garbage, which V8 lets grow well past the live heap before it collects
// (the daemon's peak over the benchmark's Parquet run was mostly such garbage: docs/benchmarks.md,
// issue 18, third round). Here a 64-bit cell is 8 bytes of a BigInt64Array, a text cell its UTF-8
// bytes in one growing buffer, and the buffers outlive the group, so filling a group promotes
// nothing. Encoding still needs JavaScript values for some columns (byte arrays, nullable columns,
// 64-bit values); they are made for one column at a time, when hyparquet-writer asks for it.
import type { ParquetWriter } from 'hyparquet-writer';

type ColumnSource = Parameters<ParquetWriter['write']>[0]['columnData'][number];
export type EncodableColumn = ColumnSource['data'];

/** How a column's values are held while its group fills. */
export type ColumnKind = 'int32' | 'int64' | 'float' | 'double' | 'boolean' | 'bytes' | 'decimal' | 'values';

/** A parsed non-null cell: what a CellParser returns, or the raw bytes of a byte-array cell. */
export type ParsedValue = number | bigint | string | Uint8Array | boolean;

// A buffer larger than this after a group (one huge value made it grow) is let go, not kept for the next.
const KEEP_BYTES = 4 * 1024 * 1024;
const FIRST_ROWS = 1024;
const LONG_TEXT = 64 * 1024;

export interface ColumnBuffer {
  /** Appends one row's value; null is a NULL. */
  push(value: ParsedValue | null): void;
  /**
   * The first `rows` values as hyparquet-writer takes them: a typed array where the column has no
   * NULL in the group and its type allows it, else an array with null at the NULLs.
   */
  values(rows: number): EncodableColumn;
  /** Empties the buffer for the next group, keeping its memory unless a huge value grew it. */
  reset(): void;
  /** The group's least and greatest value, for a column whose encoded bytes do not sort as its values do. */
  minMax?(): { min: bigint; max: bigint } | undefined;
}

/** Which of the buffers below holds a column stored as this schema element. */
export function columnKind(element: { type?: string; type_length?: number; converted_type?: string }): ColumnKind {
  if (element.type === 'FIXED_LEN_BYTE_ARRAY' && element.converted_type === 'DECIMAL') return 'decimal';
  switch (element.type) {
    case 'INT32':
      return 'int32';
    case 'INT64':
      return 'int64';
    case 'FLOAT':
      return 'float';
    case 'DOUBLE':
      return 'double';
    case 'BOOLEAN':
      return 'boolean';
    case 'BYTE_ARRAY':
      return 'bytes';
  }
  return 'values';
}

export function createColumnBuffer(kind: ColumnKind, typeLength = 0): ColumnBuffer {
  switch (kind) {
    case 'int32':
      return new FixedColumn((length) => new Int32Array(length));
    case 'int64':
      return new FixedColumn((length) => new BigInt64Array(length), true);
    case 'float':
      return new FixedColumn((length) => new Float32Array(length));
    case 'double':
      return new FixedColumn((length) => new Float64Array(length));
    case 'boolean':
      return new BooleanColumn();
    case 'bytes':
      return new BytesColumn();
    case 'decimal':
      return new DecimalColumn(typeLength);
    case 'values':
      return new ValuesColumn();
  }
}

type FixedArray = Int32Array | BigInt64Array | Float32Array | Float64Array;

/** NULLs as one byte per row (1 = NULL) and their count; most groups have none. */
class Nulls {
  flags = new Uint8Array(FIRST_ROWS);
  count = 0;

  set(row: number, isNull: boolean): void {
    if (row >= this.flags.length) this.flags = grow(this.flags, row + 1);
    this.flags[row] = isNull ? 1 : 0;
    if (isNull) this.count++;
  }

  reset(): void {
    this.count = 0;
    if (this.flags.byteLength > KEEP_BYTES) this.flags = new Uint8Array(FIRST_ROWS);
  }
}

function grow<T extends FixedArray | Uint8Array | Int32Array>(array: T, atLeast: number): T {
  const next = new (array.constructor as new (length: number) => T)(Math.max(atLeast, array.length * 2));
  (next as Uint8Array).set(array as Uint8Array);
  return next;
}

class FixedColumn implements ColumnBuffer {
  private array: FixedArray;
  private rows = 0;
  private readonly nulls = new Nulls();

  /**
   * @param boxed hand the values over as an array: a BigInt64Array makes a new BigInt each time an
   * element is read, and hyparquet-writer reads each value five or six times.
   */
  constructor(
    private readonly make: (length: number) => FixedArray,
    private readonly boxed = false,
  ) {
    this.array = make(FIRST_ROWS);
  }

  push(value: ParsedValue | null): void {
    const row = this.rows++;
    if (row >= this.array.length) this.array = grow(this.array, row + 1);
    this.nulls.set(row, value === null);
    // A NULL leaves whatever the slot held: encoding skips it.
    if (value !== null) (this.array as unknown as ParsedValue[])[row] = value;
  }

  values(rows: number): EncodableColumn {
    const values = this.array.subarray(0, rows);
    if (this.nulls.count === 0 && !this.boxed) return values;
    const flags = this.nulls.flags;
    const array = new Array<number | bigint | null>(rows);
    if (this.nulls.count === 0) for (let row = 0; row < rows; row++) array[row] = values[row]!;
    else for (let row = 0; row < rows; row++) array[row] = flags[row] === 1 ? null : values[row]!;
    return array;
  }

  reset(): void {
    this.rows = 0;
    this.nulls.reset();
    if (this.array.byteLength > KEEP_BYTES) this.array = this.make(FIRST_ROWS);
  }
}

/** Booleans: hyparquet-writer encodes only `true`/`false` values, so they are always an array. */
class BooleanColumn implements ColumnBuffer {
  private flags = new Uint8Array(FIRST_ROWS);
  private rows = 0;

  push(value: ParsedValue | null): void {
    const row = this.rows++;
    if (row >= this.flags.length) this.flags = grow(this.flags, row + 1);
    this.flags[row] = value === null ? 2 : value ? 1 : 0;
  }

  values(rows: number): EncodableColumn {
    const values = new Array<boolean | null>(rows);
    for (let row = 0; row < rows; row++) {
      const flag = this.flags[row];
      values[row] = flag === 2 ? null : flag === 1;
    }
    return values;
  }

  reset(): void {
    this.rows = 0;
    if (this.flags.byteLength > KEEP_BYTES) this.flags = new Uint8Array(FIRST_ROWS);
  }
}

/**
 * Byte arrays (text as UTF-8, binary as it is) one after the other in one buffer, with where each
 * ends. A value equal to the row before's (the same string, as `_op`, `_source` and `_position` are
 * for long runs) is not stored again: it points at the same bytes, and is handed over as the same
 * view, which hyparquet-writer's dictionary finds by identity instead of by hashing its bytes.
 */
class BytesColumn implements ColumnBuffer {
  private bytes = Buffer.allocUnsafe(64 * 1024);
  private used = 0;
  /** starts[row], ends[row]: the row's bytes; start -1 is a NULL. */
  private starts = new Int32Array(FIRST_ROWS);
  private ends = new Int32Array(FIRST_ROWS);
  private rows = 0;
  /** The last text stored (never bytes: a binlog value is a view that would hold its whole packet). */
  private last: string | null = null;

  push(value: ParsedValue | null): void {
    const row = this.rows++;
    if (row >= this.starts.length) {
      this.starts = grow(this.starts, row + 1);
      this.ends = grow(this.ends, row + 1);
    }
    if (value === null) {
      this.starts[row] = -1;
      this.ends[row] = -1;
      return;
    }
    if (value === this.last && row > 0 && this.starts[row - 1] !== -1) {
      this.starts[row] = this.starts[row - 1]!;
      this.ends[row] = this.ends[row - 1]!;
      return;
    }
    const start = this.used;
    if (typeof value === 'string') {
      // UTF-8 takes at most 3 bytes per UTF-16 unit; a long text is measured instead, so that a
      // huge value does not reserve three times its size.
      this.reserve(value.length <= LONG_TEXT ? value.length * 3 : Buffer.byteLength(value, 'utf8'));
      this.used += this.bytes.write(value, start, 'utf8');
      this.last = value;
    } else if (value instanceof Uint8Array) {
      this.reserve(value.byteLength);
      this.bytes.set(value, start);
      this.used += value.byteLength;
      this.last = null;
    } else {
      throw new TypeError(`a byte-array column was given a ${typeof value}`);
    }
    this.starts[row] = start;
    this.ends[row] = this.used;
  }

  private reserve(more: number): void {
    if (this.used + more <= this.bytes.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.used + more, this.bytes.length * 2));
    this.bytes.copy(next, 0, 0, this.used);
    this.bytes = next;
  }

  values(rows: number): EncodableColumn {
    const values = new Array<Uint8Array | null>(rows);
    let view: Uint8Array | null = null;
    let viewStart = -2;
    let viewEnd = -2;
    for (let row = 0; row < rows; row++) {
      const start = this.starts[row]!;
      const end = this.ends[row]!;
      if (start === -1) {
        values[row] = null;
        continue;
      }
      if (start !== viewStart || end !== viewEnd) {
        // A plain Uint8Array: a Buffer's subarray() is a heavier object, made per value here.
        view = new Uint8Array(this.bytes.buffer, this.bytes.byteOffset + start, end - start);
        viewStart = start;
        viewEnd = end;
      }
      values[row] = view;
    }
    return values;
  }

  reset(): void {
    this.rows = 0;
    this.used = 0;
    this.last = null;
    // The views handed out for the last group may still be read by no one: the buffer is reused.
    if (this.bytes.length > KEEP_BYTES) this.bytes = Buffer.allocUnsafe(64 * 1024);
    if (this.starts.byteLength > KEEP_BYTES) {
      this.starts = new Int32Array(FIRST_ROWS);
      this.ends = new Int32Array(FIRST_ROWS);
    }
  }
}

/**
 * DECIMAL as Parquet stores it: the unscaled value in `typeLength` bytes, big-endian two's
 * complement, made here as each row comes instead of by hyparquet-writer at encoding (which makes
 * a BigInt per bit shift and an array per value). The bytes are handed over as fixed-length byte
 * arrays of a column without the DECIMAL annotation (the file's schema has it: see
 * ParquetRowFileWriter), so their minimum and maximum, which hyparquet-writer would compare as
 * unsigned bytes, are the signed values kept here.
 */
class DecimalColumn implements ColumnBuffer {
  private bytes: Uint8Array;
  private rows = 0;
  private readonly nulls = new Nulls();
  private readonly scratch = new DataView(new ArrayBuffer(16));
  private readonly scratchBytes = new Uint8Array(this.scratch.buffer);
  private min: bigint | undefined;
  private max: bigint | undefined;

  constructor(private readonly typeLength: number) {
    this.bytes = new Uint8Array(FIRST_ROWS * typeLength);
  }

  push(value: ParsedValue | null): void {
    const row = this.rows++;
    const at = row * this.typeLength;
    if (at + this.typeLength > this.bytes.length) this.bytes = grow(this.bytes, at + this.typeLength);
    this.nulls.set(row, value === null);
    if (value === null) return;
    if (typeof value !== 'bigint') throw new TypeError(`a decimal column was given a ${typeof value}`);
    if (this.min === undefined || value < this.min) this.min = value;
    if (this.max === undefined || value > this.max) this.max = value;
    // The parser checked the precision, so the value fits in typeLength bytes: the lower ones of its
    // 64-bit (or 128-bit) two's complement are the same.
    if (this.typeLength <= 8) {
      this.scratch.setBigInt64(8, value);
    } else {
      this.scratch.setBigInt64(0, value >> 64n);
      this.scratch.setBigUint64(8, BigInt.asUintN(64, value));
    }
    const bytes = this.bytes;
    const scratch = this.scratchBytes;
    for (let index = 0, from = 16 - this.typeLength; index < this.typeLength; index++) bytes[at + index] = scratch[from + index]!;
  }

  values(rows: number): EncodableColumn {
    const values = new Array<Uint8Array | null>(rows);
    const flags = this.nulls.flags;
    const hasNulls = this.nulls.count > 0;
    for (let row = 0; row < rows; row++) {
      values[row] = hasNulls && flags[row] === 1 ? null : new Uint8Array(this.bytes.buffer, this.bytes.byteOffset + row * this.typeLength, this.typeLength);
    }
    return values;
  }

  minMax(): { min: bigint; max: bigint } | undefined {
    return this.min === undefined || this.max === undefined ? undefined : { min: this.min, max: this.max };
  }

  reset(): void {
    this.rows = 0;
    this.min = undefined;
    this.max = undefined;
    this.nulls.reset();
    if (this.bytes.byteLength > KEEP_BYTES) this.bytes = new Uint8Array(FIRST_ROWS * this.typeLength);
  }
}

/** Values no typed array holds: kept as they are. */
class ValuesColumn implements ColumnBuffer {
  private array: (ParsedValue | null)[] = [];

  push(value: ParsedValue | null): void {
    this.array.push(value);
  }

  values(rows: number): EncodableColumn {
    return this.array.slice(0, rows);
  }

  reset(): void {
    this.array = [];
  }
}

/**
 * A column as hyparquet-writer's ParquetWriter.write() takes it, whose values are made only when
 * write() slices it, which it does for one column at a time (hyparquet-writer 0.17: `data.length`,
 * then `data.slice(start, end)` per row group, nothing else). So one column's JavaScript values are
 * alive at a time while a group is encoded, not the whole group's.
 */
export function lazyColumn(rows: number, make: () => EncodableColumn): EncodableColumn {
  const lazy = {
    length: rows,
    slice(start: number, end: number): EncodableColumn {
      const values = make();
      return start === 0 && end >= rows ? values : values.slice(start, end);
    },
  };
  return lazy as unknown as EncodableColumn;
}
