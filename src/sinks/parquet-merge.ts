// Merges Parquet files of one table partition into one file without decoding a value: each input's
// row groups are copied byte for byte, and one footer lists them all, with their offsets moved to
// where they now stand. It is what Hive's own CONCATENATE does for ORC stripes. Row groups stay
// the size they were written at; the win is the file count (NameNode memory, a split per file).
//
// The footer is thrift. It is read into its raw fields (field_1, field_2, ...) and written back by
// the same compact-protocol code sluice writes its files with, so statistics, encodings and every
// field this module does not know travel exactly as they were. Before an input is used, its footer
// is written back unchanged and compared with the original bytes: a footer that would not come
// back the same (a field type the serializer would widen, a writer other than sluice's) is refused
// rather than merged into something a reader might take differently.
import { deserializeTCompactProtocol } from 'hyparquet/src/thrift.js';
import { ByteWriter } from 'hyparquet-writer';
import { serializeTCompactProtocol } from 'hyparquet-writer/src/thrift.js';
import { SluiceError } from '../core/errors.ts';
import type { FileStatus, FileSystem, FileWriter } from '../filesystem/filesystem.ts';

const MAGIC = Buffer.from('PAR1');

type Thrift = Record<string, unknown>;

interface Footer {
  raw: Thrift;
  /** The schema's own bytes (field_2), to tell files of different layouts apart. */
  schemaKey: string;
}

/** A file compaction will not merge; its table's partitions keep their files. */
export class ParquetMergeRefused extends SluiceError {}

/** One merged file being written: the row groups so far and where the next one goes. */
class MergedFile {
  private readonly rowGroups: Thrift[] = [];
  private rows = 0n;
  private first: Thrift | undefined;
  inputs = 0;

  constructor(
    private readonly writer: FileWriter,
    readonly schemaKey: string,
  ) {}

  static async open(fs: FileSystem, path: string, schemaKey: string): Promise<MergedFile> {
    const writer = await fs.create(path);
    await writer.write(MAGIC);
    return new MergedFile(writer, schemaKey);
  }

  get bytesWritten(): number {
    return this.writer.bytesWritten;
  }

  async append(content: Buffer, footer: Footer, footerStart: number): Promise<void> {
    // The input's data lies between its magic and its footer; here it starts at bytesWritten.
    const shift = BigInt(this.writer.bytesWritten - MAGIC.length);
    await this.writer.write(content.subarray(MAGIC.length, footerStart));
    this.first ??= footer.raw;
    for (const group of (footer.raw.field_4 as Thrift[] | undefined) ?? []) this.rowGroups.push(shiftRowGroup(group, shift));
    this.rows += footer.raw.field_3 as bigint;
    this.inputs++;
  }

  async close(): Promise<void> {
    const footer: Thrift = { ...this.first!, field_3: this.rows, field_4: this.rowGroups };
    const bytes = new ByteWriter();
    serializeTCompactProtocol(bytes, footer);
    const encoded = Buffer.from(bytes.getBuffer());
    const length = Buffer.alloc(4);
    length.writeUInt32LE(encoded.length);
    await this.writer.write(Buffer.concat([encoded, length, MAGIC]));
    await this.writer.close();
  }

  async abort(): Promise<void> {
    await this.writer.abort();
  }
}

/**
 * Merges `inputs`, in order, into files named by `nextTarget()`: one per run of inputs with the same
 * schema (files written before and after a column was added differ). Returns the files written and
 * their total size. One input is in memory at a time.
 */
export async function mergeParquetFiles(
  fs: FileSystem,
  inputs: readonly FileStatus[],
  nextTarget: () => string,
): Promise<{ targets: string[]; bytes: number }> {
  const targets: string[] = [];
  let bytes = 0;
  let current: MergedFile | undefined;
  try {
    for (const input of inputs) {
      const content = await fs.readFile(input.path);
      const { footer, footerStart } = readFooter(content, input.path);
      if (current && current.schemaKey !== footer.schemaKey) {
        bytes += await finish(current);
        current = undefined;
      }
      if (!current) {
        const target = nextTarget();
        targets.push(target);
        current = await MergedFile.open(fs, target, footer.schemaKey);
      }
      await current.append(content, footer, footerStart);
    }
    if (current) bytes += await finish(current);
    current = undefined;
  } catch (error) {
    await current?.abort();
    throw error;
  }
  return { targets, bytes };
}

async function finish(file: MergedFile): Promise<number> {
  await file.close();
  return file.bytesWritten;
}

function readFooter(content: Buffer, path: string): { footer: Footer; footerStart: number } {
  const refuse = (why: string): never => {
    throw new ParquetMergeRefused('SLUICE_FILESYSTEM', `cannot merge Parquet file ${path}: ${why}; compaction leaves its table's files as they are`, { context: { file: path } });
  };
  if (content.length < 12 || !content.subarray(0, 4).equals(MAGIC) || !content.subarray(-4).equals(MAGIC)) refuse('it does not begin and end with PAR1');
  const footerLength = content.readUInt32LE(content.length - 8);
  const footerStart = content.length - 8 - footerLength;
  if (footerStart < MAGIC.length) refuse(`its footer length ${footerLength} is larger than the file`);
  const footerBytes = content.subarray(footerStart, content.length - 8);
  const view = new DataView(footerBytes.buffer, footerBytes.byteOffset, footerBytes.byteLength);
  const raw = deserializeTCompactProtocol({ view, offset: 0 }) as Thrift;
  const again = new ByteWriter();
  serializeTCompactProtocol(again, raw);
  if (!Buffer.from(again.getBuffer()).equals(footerBytes)) refuse('its footer does not read back to the same bytes (not written by sluice?)');
  const schemaWriter = new ByteWriter();
  serializeTCompactProtocol(schemaWriter, { field_2: raw.field_2 });
  return { footer: { raw, schemaKey: Buffer.from(schemaWriter.getBuffer()).toString('base64') }, footerStart };
}

/** A row group (and its column chunks) with every file offset moved by `shift`. */
function shiftRowGroup(group: Thrift, shift: bigint): Thrift {
  const moved = { ...group };
  if (typeof moved.field_5 === 'bigint') moved.field_5 += shift; // file_offset
  moved.field_1 = ((group.field_1 as Thrift[] | undefined) ?? []).map((chunk) => {
    const column: Thrift = { ...chunk };
    // file_offset, offset_index_offset, column_index_offset
    for (const field of ['field_2', 'field_4', 'field_6']) if (typeof column[field] === 'bigint') column[field] = (column[field] as bigint) + shift;
    if (column.field_3) {
      const meta: Thrift = { ...(column.field_3 as Thrift) };
      // data_page_offset, index_page_offset, dictionary_page_offset, bloom_filter_offset
      for (const field of ['field_9', 'field_10', 'field_11', 'field_14']) if (typeof meta[field] === 'bigint') meta[field] = (meta[field] as bigint) + shift;
      column.field_3 = meta;
    }
    return column;
  });
  return moved;
}
