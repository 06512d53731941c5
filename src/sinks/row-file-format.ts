// How rows become the bytes of one data file. The sink is the same for every format; a format only
// turns rows into bytes on a FileWriter. A file has one column layout: when the table's layout
// changes (ADD COLUMNS, a widened type), the sink closes the file and starts another.
import type { HiveColumn, StorageFormat } from '../catalog/catalog.ts';
import type { CellValue } from '../core/change-event.ts';
import { SETTLED } from '../core/settled.ts';
import type { FileWriter, WriteBuffer } from '../filesystem/filesystem.ts';
import { binaryColumns, encodeRowLine, encodeRowPieces, isLargeRow } from './hive-text-codec.ts';
import { encodeRowInto, RepeatedColumns } from './hive-text-into.ts';

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
  /**
   * `repeating`: the indexes of columns whose value is mostly the same row after row (the changelog's
   * metadata columns), which a format may keep encoded.
   */
  open(file: FileWriter, columns: readonly HiveColumn[], repeating?: readonly number[]): RowFileWriter;
}

/** Hive's default delimited text (LazySimpleSerDe with escaping). */
export const textFormat: RowFileFormat = {
  name: 'text',
  extension: '',
  open(file, columns, repeating) {
    const types = columns.map((column) => column.type);
    const binary = binaryColumns(types);
    const buffer = file.writeBuffer;
    if (buffer) return new TextRowWriter(file, buffer, types, binary, repeating ? new RepeatedColumns(repeating) : undefined);
    return {
      write: (values) => writeTextRow(file, values, types, binary),
      get bytesWritten() {
        return file.bytesWritten;
      },
      close: () => file.close(),
      abort: () => file.abort(),
    };
  },
};

/**
 * Rows encoded straight into the file's buffer (hive-text-into.ts); a row that does not fit what is
 * left of it after a flush (a large row) goes through writeTextRow.
 */
class TextRowWriter implements RowFileWriter {
  constructor(
    private readonly file: FileWriter,
    private readonly buffer: WriteBuffer,
    private readonly types: readonly string[],
    private readonly binary: readonly boolean[],
    private readonly repeated: RepeatedColumns | undefined,
  ) {}

  get bytesWritten(): number {
    return this.file.bytesWritten;
  }

  /** Not async: the common row costs no promise (see core/settled.ts). */
  write(values: readonly CellValue[]): Promise<void> {
    try {
      if (this.encode(values)) return SETTLED;
    } catch (error) {
      return Promise.reject(error);
    }
    return this.writeFlushing(values);
  }

  private encode(values: readonly CellValue[]): boolean {
    const { buffer } = this;
    const bytes = buffer.bytes;
    const end = encodeRowInto(values, this.binary, bytes, buffer.at, bytes.length, this.repeated);
    if (end < 0) return false;
    buffer.advance(end);
    return true;
  }

  private async writeFlushing(values: readonly CellValue[]): Promise<void> {
    await this.buffer.makeRoom();
    if (!this.encode(values)) await writeTextRow(this.file, values, this.types, this.binary);
  }

  close(): Promise<void> {
    return this.file.close();
  }

  abort(): Promise<void> {
    return this.file.abort();
  }
}

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

async function writeLargeRow(file: Pick<FileWriter, 'write'>, values: readonly CellValue[], hiveTypes: readonly string[]): Promise<void> {
  for (const piece of encodeRowPieces(values, hiveTypes)) await file.write(piece);
}
