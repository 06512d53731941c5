// How rows become the bytes of one data file. The sink is the same for every format; a format only
// turns rows into bytes on a FileWriter. A file has one column layout: when the table's layout
// changes (ADD COLUMNS, a widened type), the sink closes the file and starts another.
import type { HiveColumn, StorageFormat } from '../catalog/catalog.ts';
import type { CellValue } from '../core/change-event.ts';
import { SETTLED } from '../core/settled.ts';
import type { FileWriter, WriteBuffer } from '../filesystem/filesystem.ts';
import { binaryColumns, encodeRowLine, encodeRowPieces, isLargeRow } from './hive-text-codec.ts';
import { encodeRowInto } from './hive-text-into.ts';

export interface RowFileWriter {
  write(values: readonly CellValue[]): Promise<void>;
  /** Bytes the file will hold once closed (an estimate for formats that buffer), for rolling. */
  readonly bytesWritten: number;
  /** Flushes what is buffered and closes the file durably. */
  close(): Promise<void>;
  abort(): Promise<void>;
}

export interface RowFileFormat {
  readonly name: StorageFormat;
  /** Appended to data file names ('' for Hive text, '.parquet'). */
  readonly extension: string;
  open(file: FileWriter, columns: readonly HiveColumn[]): RowFileWriter;
}

/** Hive's default delimited text (LazySimpleSerDe with escaping). */
export const textFormat: RowFileFormat = {
  name: 'text',
  extension: '',
  open(file, columns) {
    const types = columns.map((column) => column.type);
    const binary = binaryColumns(types);
    const buffer = file.writeBuffer;
    return {
      write: buffer ? (values) => writeTextRowInto(buffer, file, values, types, binary) : (values) => writeTextRow(file, values, types, binary),
      get bytesWritten() {
        return file.bytesWritten;
      },
      close: () => file.close(),
      abort: () => file.abort(),
    };
  },
};

/** One row in Hive's text format; a large one in pieces, so that it is never held as a whole line. */
export function writeTextRow(file: Pick<FileWriter, 'write'>, values: readonly CellValue[], hiveTypes: readonly string[], binary: readonly boolean[] = binaryColumns(hiveTypes)): Promise<void> {
  // Not async: this runs once per row, and the common row needs no promise beyond the file's.
  try {
    if (!isLargeRow(values)) return file.write(encodeRowLine(values, binary));
  } catch (error) {
    return Promise.reject(error);
  }
  return writeLargeRow(file, values, hiveTypes);
}

/**
 * One row in Hive's text format, encoded straight into the file's buffer (hive-text-into.ts); one
 * that does not fit what is left of it after a flush (a large row) goes through writeTextRow.
 */
function writeTextRowInto(buffer: WriteBuffer, file: Pick<FileWriter, 'write'>, values: readonly CellValue[], hiveTypes: readonly string[], binary: readonly boolean[]): Promise<void> {
  try {
    const end = encodeRowInto(values, binary, buffer.bytes, buffer.at, buffer.bytes.length);
    if (end < 0) return writeTextRowFlushing(buffer, file, values, hiveTypes, binary);
    buffer.advance(end);
    return SETTLED;
  } catch (error) {
    return Promise.reject(error);
  }
}

async function writeTextRowFlushing(buffer: WriteBuffer, file: Pick<FileWriter, 'write'>, values: readonly CellValue[], hiveTypes: readonly string[], binary: readonly boolean[]): Promise<void> {
  await buffer.flush();
  const end = encodeRowInto(values, binary, buffer.bytes, buffer.at, buffer.bytes.length);
  if (end >= 0) buffer.advance(end);
  else await writeTextRow(file, values, hiveTypes, binary);
}

async function writeLargeRow(file: Pick<FileWriter, 'write'>, values: readonly CellValue[], hiveTypes: readonly string[]): Promise<void> {
  for (const piece of encodeRowPieces(values, hiveTypes)) await file.write(piece);
}
