// Reads what HiveServer2 answers to DESCRIBE FORMATTED and SHOW PARTITIONS. The shape (measured on
// Hive 4.1, the same in 2.x/3.x): rows of (col_name, data_type, comment); the data columns first,
// then sections that start with a '# ...' row: '# Partition Information', '# Detailed Table
// Information' ('Key:' rows, padded with spaces), '# Storage Information' (SerDe, formats, and the
// 'Storage Desc Params:' that follow as ('', key, value) rows). Parameter values are shown Java-escaped
// (HiveStringUtils.escapeJava): the field delimiter \x01 reads '\u0001', one backslash reads '\\'.
import type { HiveColumn, StorageFormat } from './catalog.ts';
import { normalizeHiveType } from './hive-ddl.ts';

export type DescribeRow = Record<string, unknown>;

export interface DescribedTable {
  columns: HiveColumn[];
  partitionColumns: HiveColumn[];
  /** As the metastore stores it: a URI. */
  location: string;
  /** 'EXTERNAL_TABLE', 'MANAGED_TABLE', 'VIRTUAL_VIEW', ... */
  tableType: string;
  serde: string;
  inputFormat: string;
  outputFormat: string;
  /** SerDe ('Storage Desc Params') properties, unescaped. */
  storageParameters: Record<string, string>;
  tableParameters: Record<string, string>;
}

type Section = 'columns' | 'partition' | 'detail' | 'storage' | 'other';

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function parseDescribeFormatted(rows: readonly DescribeRow[]): DescribedTable {
  const described: DescribedTable = {
    columns: [],
    partitionColumns: [],
    location: '',
    tableType: '',
    serde: '',
    inputFormat: '',
    outputFormat: '',
    storageParameters: {},
    tableParameters: {},
  };
  let section: Section = 'columns';
  let parameters: Record<string, string> | undefined;
  for (const row of rows) {
    const name = (text(row.col_name) ?? '').trim();
    const type = text(row.data_type);
    const comment = text(row.comment);
    if (name.startsWith('#')) {
      parameters = undefined;
      if (name === '# col_name') continue;
      if (name === '# Partition Information') section = 'partition';
      else if (name === '# Detailed Table Information' || name === '# Detailed Partition Information') section = 'detail';
      else if (name === '# Storage Information') section = 'storage';
      else section = 'other';
      continue;
    }
    if (name === '' && type === undefined) continue; // a blank separator row
    if (section === 'columns' || section === 'partition') {
      if (name === '' || type === undefined) continue;
      const column = { name: name.toLowerCase(), type: normalizeHiveType(type) };
      (section === 'columns' ? described.columns : described.partitionColumns).push(column);
      continue;
    }
    if (section === 'other') continue;
    if (name === '') {
      // ('', key, value): a parameter of the 'Table Parameters:' / 'Storage Desc Params:' above.
      if (parameters && type !== undefined) parameters[type.trim()] = unescapeJava((comment ?? '').replace(/ +$/, ''));
      continue;
    }
    const key = name.replace(/:$/, '').trim();
    const value = (type ?? '').trim();
    parameters = undefined;
    switch (key) {
      case 'Location':
        described.location = value;
        break;
      case 'Table Type':
        described.tableType = value;
        break;
      case 'SerDe Library':
        described.serde = value;
        break;
      case 'InputFormat':
        described.inputFormat = value;
        break;
      case 'OutputFormat':
        described.outputFormat = value;
        break;
      case 'Table Parameters':
      case 'Partition Parameters':
        parameters = described.tableParameters;
        break;
      case 'Storage Desc Params':
        parameters = described.storageParameters;
        break;
    }
  }
  return described;
}

/** Undoes commons-lang's escapeJava, as DESCRIBE FORMATTED applies it to parameter values. */
export function unescapeJava(value: string): string {
  return value.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, escape: string) => {
    if (escape.length === 5) return String.fromCharCode(parseInt(escape.slice(1), 16));
    switch (escape) {
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      default:
        return escape;
    }
  });
}

export const LAZY_SIMPLE_SERDE = 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe';
export const TEXT_INPUT_FORMAT = 'org.apache.hadoop.mapred.TextInputFormat';
export const PARQUET_SERDE = 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe';
export const PARQUET_INPUT_FORMAT = 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat';

/** 'text' or 'parquet' when the table stores files sluice can write, else undefined. */
export function storageFormatOf(table: Pick<DescribedTable, 'serde' | 'inputFormat'>): StorageFormat | undefined {
  if (table.serde === LAZY_SIMPLE_SERDE && table.inputFormat === TEXT_INPUT_FORMAT) return 'text';
  if (table.serde === PARQUET_SERDE && table.inputFormat === PARQUET_INPUT_FORMAT) return 'parquet';
  return undefined;
}

/**
 * The LazySimpleSerDe settings in effect, defaults filled in as LazySerDeParameters does: field.delim
 * falls back to serialization.format, then \x01; no escape.delim means no escaping. A separator is a
 * byte: a number ('1') is that byte, anything else its first character (LazyUtils.getByte).
 */
export function effectiveTextSerdeProperties(parameters: Record<string, string>): Record<string, string | undefined> {
  return {
    'field.delim': separator(parameters['field.delim'] ?? parameters['serialization.format']) ?? '\u0001',
    'escape.delim': separator(parameters['escape.delim']),
    'serialization.null.format': parameters['serialization.null.format'] ?? '\\N',
    'serialization.escape.crlf': (parameters['serialization.escape.crlf'] ?? 'false').toLowerCase(),
  };
}

function separator(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^-?\d+$/.test(value)) return String.fromCharCode(Number(value) & 0xff);
  return value[0];
}

export interface ShownPartition {
  values: Record<string, string>;
  /** The partition's path below the table, escaped as Hive names the directory: 'dt=2026-11-25/hr=03'. */
  path: string;
}

/** One row of SHOW PARTITIONS: 'dt=2026-11-25/hr=03', each name and value path-escaped (%XX). */
export function parsePartitionName(name: string): ShownPartition {
  const values: Record<string, string> = {};
  for (const part of name.split('/')) {
    const equals = part.indexOf('=');
    if (equals < 0) continue;
    values[unescapePathName(part.slice(0, equals))] = unescapePathName(part.slice(equals + 1));
  }
  return { values, path: name };
}

/** FileUtils.unescapePathName: '%2F' -> '/'. */
export function unescapePathName(name: string): string {
  return name.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
