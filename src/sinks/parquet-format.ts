// Parquet data files for Hive tables STORED AS PARQUET.
//
// The encoder is hyparquet-writer (pure JavaScript, MIT, one dependency: its sibling reader
// hyparquet, which has none). Why it, of the writers for Node:
// - It writes incrementally to a sink: ParquetWriter.write() encodes one row group into a byte
//   buffer and then calls the Writer's flush(), awaiting the promise it returns. So a file is never
//   in memory: this module buffers one row group in column buffers, encodes it, hands the bytes to the
//   FileWriter (with its back-pressure), and starts the next. No temp file, no local path.
// - It writes exactly what Hive's own Parquet writer writes where it matters: DECIMAL as
//   FIXED_LEN_BYTE_ARRAY of the minimal length for the precision, from an unscaled BigInt (never a
//   double); INT64 from BigInt; INT32 annotated INT_8/INT_16 for tinyint/smallint; UTF8 byte
//   arrays; correct signed/unsigned min-max statistics per type (so predicate push-down never
//   skips a row group it should read).
// - The others: @dsnp/parquetjs pulls in the AWS S3 SDK and more; parquet-wasm builds Arrow tables
//   in memory and wants apache-arrow; DuckDB (already a dependency, for `sluice query`) can only
//   COPY a whole table to a local path, so a file's rows would sit in DuckDB until close and then
//   be copied twice, and it writes decimals as INT32/INT64 below 19 digits.
// What it cannot do: INT96 timestamps. `_event_time` is INT64 TIMESTAMP(MICROS, isAdjustedToUTC=
// false) with no converted type: the UTC wall time in microseconds, no time zone attached. Measured
// on HiveServer2 4.1, row and vectorized readers: it reads back as the same wall time whatever the
// server's zone, while isAdjustedToUTC=true (or the TIMESTAMP_MICROS converted type, which means the
// same) is shifted into the server JVM's zone (2026-03-08 02:30 became 2026-03-07 21:30 on a
// server in America/New_York). test/parquet.test.ts checks the values through a real HiveServer2.
// Hive 3 and older read only INT96 timestamps from Parquet, so these files need Hive 4.
//
// Pages are data page v2, SNAPPY-compressed, dictionary-encoded where that halves a column chunk
// (hyparquet-writer decides per chunk); Hive 4.1, DuckDB, Spark 3.3+ and Trino read them.
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { HiveColumn } from '../catalog/catalog.ts';
import type { CellValue } from '../core/change-event.ts';
import { SluiceError } from '../core/errors.ts';
import { SETTLED } from '../core/settled.ts';
import type { FileWriter } from '../filesystem/filesystem.ts';
import { columnKind, createColumnBuffer, lazyColumn, type ColumnBuffer, type ParsedValue } from './parquet-columns.ts';
import type { RowFileFormat, RowFileWriter } from './row-file-format.ts';
import { snappyCompress } from './snappy-compress.ts';
import {
  booleanParser,
  dateParser,
  decimalByteLength,
  decimalParser,
  floatParser,
  int32Parser,
  int64Parser,
  timestampParser,
  valueError,
  type CellParser,
} from './parquet-values.ts';

export interface ParquetFormatOptions {
  /** A row group is encoded and written once it holds this many rows. Default 1,000,000. */
  rowGroupRows?: number;
  /**
   * ... or once its values add up to this many bytes (as PLAIN encoding would store them,
   * uncompressed). This bounds the memory of each open file: the group is held in column buffers of
   * about that size (parquet-columns.ts), and encoding it makes garbage, which V8 lets the heap grow
   * by before it collects. Snappy compresses a 2 MiB group to about half a MiB on disk. Default 2 MiB
   * (docs/benchmarks.md, issue 18: with the group held as JavaScript values, 8 MiB groups peaked at
   * 430 MiB in the daemon, 2 MiB ones at 279).
   */
  rowGroupBytes?: number;
  /** Default SNAPPY. */
  codec?: 'SNAPPY' | 'UNCOMPRESSED';
}

const DEFAULT_ROW_GROUP_ROWS = 1_000_000;
const DEFAULT_ROW_GROUP_BYTES = 2 * 1024 * 1024;
const PAGE_BYTES = 1024 * 1024;
const FIRST_ROW_GROUP_BYTES = 1024 * 1024;
// A writer's encode buffer grows to the size of a row group; past this it is let go after each flush.
const KEEP_BUFFER_BYTES = 1024 * 1024;
// Parsed by parquet-mr's VersionParser ('<app> version <v> (build <b>)'); a created_by it cannot parse
// makes it ignore the byte-array statistics (PARQUET-251).
const CREATED_BY = 'sluice version 0.1.0 (build hyparquet-writer)';

type SchemaElement = ConstructorParameters<typeof ParquetWriter>[0]['schema'][number];
type ColumnSource = Parameters<ParquetWriter['write']>[0]['columnData'][number];

interface ColumnPlan {
  element: SchemaElement;
  parse: CellParser;
  /** Plain-encoded bytes of a value of a fixed-size type; undefined for byte arrays. */
  fixedBytes: number | undefined;
  /** How a non-null value that arrives as bytes is taken (text columns may carry raw bytes). */
  bytes: 'as-is' | 'text' | 'refuse';
}

/** How one Hive column is stored in Parquet, as Hive's own writer (DataWritableWriter) stores it. */
function planColumn(column: HiveColumn): ColumnPlan {
  const name = column.name;
  const type = column.type.trim().toLowerCase().replace(/\s+/g, ' ').replace(/\s*([(),])\s*/g, '$1');
  const optional = { name, repetition_type: 'OPTIONAL' } as const;
  const integer = (bitWidth: 8 | 16, min: number, max: number): ColumnPlan => ({
    // The converted type only: hyparquet-writer 0.17 writes the INTEGER logical type's i8 bitWidth
    // as an i32, which strict Thrift readers (DuckDB; parquet-mr's generated code drops it, then
    // misses a required field) refuse. INT_8/INT_16 say the same to every reader.
    element: { ...optional, type: 'INT32', converted_type: bitWidth === 8 ? 'INT_8' : 'INT_16' },
    parse: int32Parser(name, type, min, max),
    fixedBytes: 4,
    bytes: 'refuse',
  });
  switch (type) {
    case 'tinyint':
      return integer(8, -128, 127);
    case 'smallint':
      return integer(16, -32768, 32767);
    case 'int':
    case 'integer':
      return { element: { ...optional, type: 'INT32' }, parse: int32Parser(name, type, -2147483648, 2147483647), fixedBytes: 4, bytes: 'refuse' };
    case 'bigint':
      return { element: { ...optional, type: 'INT64' }, parse: int64Parser(name, type), fixedBytes: 8, bytes: 'refuse' };
    case 'float':
      return { element: { ...optional, type: 'FLOAT' }, parse: floatParser(name, type, true), fixedBytes: 4, bytes: 'refuse' };
    case 'double':
    case 'double precision':
      return { element: { ...optional, type: 'DOUBLE' }, parse: floatParser(name, type, false), fixedBytes: 8, bytes: 'refuse' };
    case 'boolean':
      return { element: { ...optional, type: 'BOOLEAN' }, parse: booleanParser(name, type), fixedBytes: 1, bytes: 'refuse' };
    case 'string':
      return stringPlan(name);
    case 'binary':
      return { element: { ...optional, type: 'BYTE_ARRAY' }, parse: (text) => Buffer.from(text, 'utf8'), fixedBytes: undefined, bytes: 'as-is' };
    case 'timestamp':
      return {
        // No converted_type: TIMESTAMP_MICROS would mean isAdjustedToUTC=true (an instant).
        element: { ...optional, type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' } },
        parse: timestampParser(name, type),
        fixedBytes: 8,
        bytes: 'refuse',
      };
    case 'date':
      return { element: { ...optional, type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } }, parse: dateParser(name, type), fixedBytes: 4, bytes: 'refuse' };
  }
  if (/^(varchar|char)\(\d+\)$/.test(type)) return stringPlan(name);
  const decimal = /^decimal(?:\((\d+)(?:,(\d+))?\))?$/.exec(type);
  if (decimal) {
    // Hive's bare DECIMAL is DECIMAL(10,0).
    const precision = Number(decimal[1] ?? 10);
    const scale = Number(decimal[2] ?? 0);
    if (precision < 1 || precision > 38 || scale > precision) {
      throw new SluiceError('SLUICE_SCHEMA_UNSUPPORTED', `column ${name} has type ${column.type}, which Hive does not allow (precision 1..38, scale <= precision)`, {
        context: { hiveColumn: name, hiveType: column.type },
      });
    }
    const typeLength = decimalByteLength(precision);
    return {
      element: {
        ...optional,
        type: 'FIXED_LEN_BYTE_ARRAY',
        type_length: typeLength,
        converted_type: 'DECIMAL',
        precision,
        scale,
        logical_type: { type: 'DECIMAL', precision, scale },
      },
      parse: decimalParser(name, type, precision, scale),
      fixedBytes: typeLength,
      bytes: 'refuse',
    };
  }
  throw new SluiceError('SLUICE_SCHEMA_UNSUPPORTED', `column ${name} has Hive type ${column.type}, which sluice does not write to Parquet`, {
    context: { hiveColumn: name, hiveType: column.type },
  });
}

function stringPlan(name: string): ColumnPlan {
  return {
    element: { name, repetition_type: 'OPTIONAL', type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } },
    parse: (text) => text,
    fixedBytes: undefined,
    // A text column whose bytes are not valid UTF-8 in its charset arrives as bytes: kept byte for byte.
    bytes: 'as-is',
  };
}

/** A DECIMAL column's element as hyparquet-writer encodes it: the fixed-length bytes, no annotation. */
function withoutDecimal(element: SchemaElement): SchemaElement {
  return { name: element.name, repetition_type: element.repetition_type, type: element.type, type_length: element.type_length };
}

/**
 * The Writer hyparquet-writer encodes into: a growing byte buffer whose content flush() hands to the
 * FileWriter. `offset` counts every byte of the file (the footer's offsets), `index` the bytes in
 * the buffer. A large run of bytes (a compressed page, which for one huge value is as large as the
 * value) is not copied into the buffer, which would double it and copy it again at flush: it waits
 * as it is, after what the buffer held before it, and flush() writes both in that order.
 */
class FileSinkWriter extends ByteWriter {
  private readonly waiting: Uint8Array[] = [];
  private waitingBytes = 0;

  constructor(private readonly file: FileWriter) {
    super(64 * 1024);
  }

  /** Bytes encoded and not yet handed to the FileWriter. */
  get unflushed(): number {
    return this.waitingBytes + this.index;
  }

  override appendBytes(value: Uint8Array): void {
    if (value.length < KEEP_BUFFER_BYTES) return super.appendBytes(value);
    if (this.index > 0) this.waitBehind(this.takeBuffer());
    // hyparquet-writer hands over a fresh array per page and never writes to it again.
    this.waitBehind(value);
    this.offset += value.length;
  }

  private waitBehind(bytes: Uint8Array): void {
    this.waiting.push(bytes);
    this.waitingBytes += bytes.length;
  }

  /** The buffered bytes as a chunk the FileWriter may keep; the buffer starts anew. */
  private takeBuffer(): Buffer {
    let chunk: Buffer;
    if (this.buffer.byteLength > KEEP_BUFFER_BYTES) {
      // Let the large buffer go with the chunk instead of copying out of it.
      chunk = Buffer.from(this.buffer, 0, this.index);
      this.buffer = new ArrayBuffer(64 * 1024);
      this.view = new DataView(this.buffer);
    } else {
      // A copy: the FileWriter may hold on to the chunk while this buffer is reused.
      chunk = Buffer.from(this.buffer.slice(0, this.index));
    }
    this.index = 0;
    return chunk;
  }

  async flush(): Promise<void> {
    if (this.index > 0) this.waitBehind(this.takeBuffer());
    while (this.waiting.length > 0) {
      const bytes = this.waiting.shift()!;
      this.waitingBytes -= bytes.length;
      await this.file.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    }
  }

  override finish(): Promise<void> {
    return this.flush();
  }
}

class ParquetRowFileWriter implements RowFileWriter {
  private readonly plans: ColumnPlan[];
  private readonly sink: FileSinkWriter;
  private readonly parquet: ParquetWriter;
  /** The buffered rows, column by column (parquet-columns.ts), reused from group to group. */
  private readonly columns: ColumnBuffer[];
  /** One row's parsed values, reused from row to row. */
  private readonly scratch: (ParsedValue | null)[];
  private rows = 0;
  /** Estimated plain-encoded bytes of the buffered rows. */
  private pendingBytes = 0;
  /** Encoded bytes per estimated byte, from the row groups written so far (compression, dictionaries). */
  private ratio = 1;
  private estimatedFlushed = 0;
  private reported = 0;
  private state: 'open' | 'closed' | 'failed' = 'open';
  private readonly rowGroupRows: number;
  private readonly rowGroupBytes: number;
  /** The schema the footer declares; row groups are encoded with DECIMAL unannotated (see the constructor). */
  private readonly fileSchema: SchemaElement[];

  constructor(
    private readonly file: FileWriter,
    private readonly hiveColumns: readonly HiveColumn[],
    options: ParquetFormatOptions,
  ) {
    this.plans = hiveColumns.map(planColumn);
    this.rowGroupRows = options.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS;
    this.rowGroupBytes = options.rowGroupBytes ?? DEFAULT_ROW_GROUP_BYTES;
    this.columns = this.plans.map((plan) => createColumnBuffer(columnKind(plan.element), plan.element.type_length));
    this.scratch = new Array<ParsedValue | null>(this.plans.length);
    this.sink = new FileSinkWriter(file);
    const root: SchemaElement = { name: 'hive_schema', num_children: this.plans.length };
    this.fileSchema = [root, ...this.plans.map((plan) => plan.element)];
    this.parquet = new ParquetWriter({
      writer: this.sink,
      // Row groups are encoded with DECIMAL columns as plain fixed-length byte arrays, whose bytes
      // their column buffer made (parquet-columns.ts); the footer is written with the file's schema.
      schema: [root, ...this.plans.map((plan) => (columnKind(plan.element) === 'decimal' ? withoutDecimal(plan.element) : plan.element))],
      codec: options.codec ?? 'SNAPPY',
      // Google's snappy through napi-rs, without the JavaScript compressor's garbage (snappy-compress.ts).
      compressors: { SNAPPY: snappyCompress },
      createdBy: CREATED_BY,
    });
  }

  /**
   * Bytes handed to the FileWriter, plus the buffered rows at the compression ratio seen so far.
   * Never decreases (the sink counts the differences into a Prometheus counter), so after a row
   * group that compressed better than estimated it stays level until the file catches up.
   */
  get bytesWritten(): number {
    const estimate = this.file.bytesWritten + this.sink.unflushed + Math.round(this.pendingBytes * this.ratio);
    if (estimate > this.reported) this.reported = estimate;
    return this.reported;
  }

  write(values: readonly CellValue[]): Promise<void> {
    // Not async: the common row only goes into the column buffers, and needs no promise of its own
    // nor an await in the sink (core/settled.ts).
    try {
      if (!this.buffer(values)) return SETTLED;
    } catch (error) {
      return Promise.reject(error);
    }
    return this.writeRowGroup();
  }

  /** Parses one row into the column buffers; true when the row group is full. */
  private buffer(values: readonly CellValue[]): boolean {
    if (this.state !== 'open') {
      throw new SluiceError('SLUICE_FILESYSTEM', `write to ${this.file.path}, which is ${this.state === 'closed' ? 'closed' : 'unusable after an earlier error'}`, {
        context: { file: this.file.path },
      });
    }
    const plans = this.plans;
    if (values.length !== plans.length) {
      throw new SluiceError('SLUICE_SCHEMA_UNSUPPORTED', `a row of ${values.length} values does not fit a table of ${plans.length} columns`, {
        context: { file: this.file.path },
      });
    }
    // Parse the whole row before buffering any of it, so that a bad value leaves no half row behind.
    const parsed = this.scratch;
    let bytes = 0;
    for (let index = 0; index < plans.length; index++) {
      const value = values[index];
      const plan = plans[index]!;
      if (value === null || value === undefined) {
        parsed[index] = null;
        continue;
      }
      if (typeof value === 'string') {
        const physical = plan.parse(value);
        parsed[index] = physical;
        bytes += plan.fixedBytes ?? 4 + (typeof physical === 'string' ? physical.length : (physical as Uint8Array).byteLength);
      } else if (plan.bytes === 'as-is') {
        // A binlog value is a view into the packet it came in (64 KiB or more); its column buffer
        // copies the bytes, so the group does not hold the packets its rows came from.
        parsed[index] = value;
        bytes += 4 + value.byteLength;
      } else {
        throw valueError(this.hiveColumns[index]!.name, this.hiveColumns[index]!.type, `0x${value.subarray(0, 40).toString('hex')}`, 'bytes arrived where text was expected');
      }
    }
    for (let index = 0; index < plans.length; index++) {
      this.columns[index]!.push(parsed[index]!);
      // The column has its own copy: a view into a packet must not stay here until the next row.
      parsed[index] = null;
    }
    this.rows++;
    this.pendingBytes += bytes;
    // The first row group is kept small: until one is encoded, the compression ratio (so the size
    // estimate the sink rolls by) is a guess, and bytesWritten cannot take back an overestimate.
    const groupBytes = this.estimatedFlushed === 0 ? Math.min(this.rowGroupBytes, FIRST_ROW_GROUP_BYTES) : this.rowGroupBytes;
    return this.rows >= this.rowGroupRows || this.pendingBytes >= groupBytes;
  }

  /** Encodes the buffered rows as one row group and hands its bytes to the FileWriter. */
  private async writeRowGroup(): Promise<void> {
    if (this.rows === 0) return;
    const rows = this.rows;
    const columns = this.columns;
    const columnData: ColumnSource[] = this.plans.map((plan, index) => ({ name: plan.element.name, data: lazyColumn(rows, () => columns[index]!.values(rows)) }));
    const estimated = this.pendingBytes;
    this.rows = 0;
    this.pendingBytes = 0;
    try {
      // write() encodes the whole group before it returns; only the flush to the file is awaited.
      const flushed = this.parquet.write({ columnData, rowGroupSize: rows, pageSize: PAGE_BYTES });
      this.signedStatistics(columns);
      this.detachStatistics();
      for (const column of columns) column.reset();
      await flushed;
    } catch (error) {
      this.state = 'failed';
      throw this.encodeError(error);
    }
    this.estimatedFlushed += estimated;
    // offset - 4: the file's leading magic is not row data.
    if (this.estimatedFlushed > 0) this.ratio = Math.max(0.05, (this.sink.offset - 4) / this.estimatedFlushed);
  }

  /** A DECIMAL column's minimum and maximum are its values, not its bytes compared unsigned. */
  private signedStatistics(columns: readonly ColumnBuffer[]): void {
    const chunks = this.parquet.row_groups.at(-1)?.columns ?? [];
    for (const [index, column] of columns.entries()) {
      const statistics = column.minMax === undefined ? undefined : chunks[index]?.meta_data?.statistics;
      if (statistics === undefined) continue;
      const minMax = column.minMax!();
      statistics.min_value = minMax?.min;
      statistics.max_value = minMax?.max;
    }
  }

  /**
   * The group's byte-array minimum and maximum are views into the column buffers, which the next
   * group overwrites, and they are written in the footer at close: each gets its own copy.
   */
  private detachStatistics(): void {
    for (const chunk of this.parquet.row_groups.at(-1)?.columns ?? []) {
      const statistics = chunk.meta_data?.statistics;
      if (statistics === undefined) continue;
      // new Uint8Array(view) copies; a Buffer's slice() would not.
      if (statistics.min_value instanceof Uint8Array) statistics.min_value = new Uint8Array(statistics.min_value);
      if (statistics.max_value instanceof Uint8Array) statistics.max_value = new Uint8Array(statistics.max_value);
    }
  }

  private encodeError(error: unknown): unknown {
    if (error instanceof SluiceError) return error;
    return new SluiceError('SLUICE_FILESYSTEM', `cannot encode a Parquet row group for ${this.file.path}: ${(error as Error).message}`, {
      cause: error,
      context: { file: this.file.path },
    });
  }

  async close(): Promise<void> {
    if (this.state !== 'open') {
      throw new SluiceError('SLUICE_FILESYSTEM', `cannot close ${this.file.path}: it is ${this.state === 'closed' ? 'closed already' : 'unusable after an earlier error'}`, {
        context: { file: this.file.path },
      });
    }
    await this.writeRowGroup();
    try {
      // The footer: schema, row groups, column and offset indexes.
      this.parquet.schema = this.fileSchema;
      await this.parquet.finish();
    } catch (error) {
      this.state = 'failed';
      throw this.encodeError(error);
    }
    this.state = 'closed';
    await this.file.close();
  }

  async abort(): Promise<void> {
    this.state = 'failed';
    for (const column of this.columns) column.reset();
    await this.file.abort();
  }
}

/** A Parquet format with its own row group sizes and codec. */
export function createParquetFormat(options: ParquetFormatOptions = {}): RowFileFormat {
  if (options.rowGroupRows !== undefined && !(Number.isInteger(options.rowGroupRows) && options.rowGroupRows > 0)) {
    throw new SluiceError('SLUICE_CONFIG_INVALID', `Parquet rowGroupRows must be a positive integer, not ${options.rowGroupRows}`);
  }
  if (options.rowGroupBytes !== undefined && !(options.rowGroupBytes > 0)) {
    throw new SluiceError('SLUICE_CONFIG_INVALID', `Parquet rowGroupBytes must be positive, not ${options.rowGroupBytes}`);
  }
  return {
    name: 'parquet',
    extension: '.parquet',
    open(file, columns) {
      try {
        return new ParquetRowFileWriter(file, columns, options);
      } catch (error) {
        // A column Parquet cannot hold: the file the sink opened for it is dropped.
        void file.abort().catch(() => undefined);
        throw error;
      }
    },
  };
}

/** Parquet with the default row groups (1M rows or 2 MiB) and SNAPPY pages. */
export const parquetFormat: RowFileFormat = createParquetFormat();
