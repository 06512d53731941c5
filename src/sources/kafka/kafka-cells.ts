// A decoded row's JSON values as exact cells of typed columns. The column types come from the
// message (Debezium's schema, canal's mysqlType) or the topic's `columns` in the config; a value
// that does not fit its column is an error naming the table, the column and the value, never a NULL
// that the source did not send.
import { parseMysqlType } from '../../catalog/type-mapping.ts';
import type { CellValue, SourceColumn } from '../../core/change-event.ts';
import { SluiceError } from '../../core/errors.ts';
import { exactJsonText, JsonNumber, type JsonObject, type JsonValue } from '../../core/exact-json.ts';
import type { KafkaRow } from './formats/kafka-row.ts';

/** Integer ranges by MySQL type name: [signed min, signed max, unsigned max]. */
const INTEGER_RANGES: Record<string, [bigint, bigint, bigint]> = {
  tinyint: [-128n, 127n, 255n],
  smallint: [-32768n, 32767n, 65535n],
  mediumint: [-8388608n, 8388607n, 16777215n],
  int: [-2147483648n, 2147483647n, 4294967295n],
  integer: [-2147483648n, 2147483647n, 4294967295n],
  bigint: [-(2n ** 63n), 2n ** 63n - 1n, 2n ** 64n - 1n],
  year: [0n, 2155n, 2155n],
};
const NUMERIC_TEXT = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?$/;
const TIME = /^-?\d{2,3}:\d{2}:\d{2}(?:\.\d{1,6})?$/;
const BINARY_TYPES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob', 'bit', 'geometry', 'vector']);

export class CellMisfit extends Error {}

// A loader sees the same few column types in every message: each is parsed once (5.6% of a loader's
// CPU profile went to parsing them anew per cell). Bounded, as the types come from the messages.
const parsedTypes = new Map<string, ReturnType<typeof parseMysqlType>>();
function parsedType(mysqlType: string): ReturnType<typeof parseMysqlType> {
  let type = parsedTypes.get(mysqlType);
  if (!type) {
    if (parsedTypes.size >= 4096) parsedTypes.clear();
    type = parseMysqlType(mysqlType);
    parsedTypes.set(mysqlType, type);
  }
  return type;
}

/** One column's JSON value as the cell of its MySQL type. */
export function cellOf(value: JsonValue, mysqlType: string, bytes: 'base64' | 'latin1'): CellValue {
  if (value === null) return null;
  const type = parsedType(mysqlType);
  const number = value instanceof JsonNumber ? value.text : typeof value === 'string' ? value.trim() : undefined;
  const misfit = (expected: string): never => {
    throw new CellMisfit(`${describeValue(value)} does not fit ${mysqlType} (expected ${expected})`);
  };
  if (type.name === 'tinyint' && type.args[0] === 1 && typeof value === 'boolean') return value ? '1' : '0';
  const range = INTEGER_RANGES[type.name];
  if (range) {
    if (typeof value === 'boolean' && type.name === 'tinyint') return value ? '1' : '0';
    if (number === undefined || !/^-?\d+$/.test(number)) return misfit('an integer');
    const n = BigInt(number);
    if (n < (type.unsigned ? 0n : range[0]) || n > (type.unsigned ? range[2] : range[1])) return misfit(`an integer in the ${type.text} range`);
    return n.toString();
  }
  if (type.name === 'decimal' || type.name === 'numeric') {
    const [precision = 10, scale = 0] = type.args;
    const match = number === undefined ? null : /^(-?)(\d*)(?:\.(\d*))?$/.exec(number);
    if (!match || (match[2] === '' && !match[3])) return misfit(`a decimal(${precision},${scale})`);
    const whole = match[2]!.replace(/^0+(?=\d)/, '') || '0';
    const fraction = (match[3] ?? '').replace(/0+$/, '');
    if (fraction.length > scale || (whole === '0' ? 0 : whole.length) > precision - scale) return misfit(`at most ${precision - scale} digits before the point and ${scale} after`);
    return `${match[1]}${whole}${scale > 0 ? `.${fraction.padEnd(scale, '0')}` : ''}`;
  }
  if (type.name === 'float' || type.name === 'double' || type.name === 'real' || type.name === 'double precision') {
    if (number === undefined || !NUMERIC_TEXT.test(number)) return misfit('a number');
    return number;
  }
  if (BINARY_TYPES.has(type.name)) {
    if (typeof value !== 'string') return misfit(bytes === 'base64' ? 'base64 text' : 'ISO-8859-1 text');
    if (bytes === 'base64' && !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return misfit('base64 text');
    return Buffer.from(value, bytes);
  }
  if (type.name === 'json') return typeof value === 'string' ? value : exactJsonText(value);
  if (typeof value !== 'string') {
    // Text columns take a number's or a boolean's text as it came; an object is no text.
    if (value instanceof JsonNumber || typeof value === 'boolean') {
      if (type.name === 'date' || type.name === 'datetime' || type.name === 'timestamp' || type.name === 'time') return misfit('text');
      return value instanceof JsonNumber ? value.text : String(value);
    }
    return misfit('text');
  }
  if (type.name === 'date' && !DATE.test(value)) return misfit("'YYYY-MM-DD'");
  if ((type.name === 'datetime' || type.name === 'timestamp') && !DATETIME.test(value)) return misfit("'YYYY-MM-DD HH:MM:SS[.ffffff]'");
  if (type.name === 'time' && !TIME.test(value)) return misfit("'HH:MM:SS[.ffffff]'");
  return value;
}

function describeValue(value: JsonValue): string {
  const text = value instanceof JsonNumber ? value.text : typeof value === 'object' ? exactJsonText(value) : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Column lists by their types, shared so that the sink's per-column-list caches hit. */
export class ColumnLists {
  private readonly lists = new Map<string, readonly SourceColumn[]>();

  /** `primaryKey` marks its columns, matched without regard to case; a key naming a column `types` lacks marks none. */
  of(types: ReadonlyMap<string, string>, primaryKey?: readonly string[]): readonly SourceColumn[] {
    const listKey = [...types].map(([name, type]) => `${name}\u0000${type}`).join('\u0001') + (primaryKey ? `\u0002${primaryKey.join('\u0001')}` : '');
    let list = this.lists.get(listKey);
    if (!list) {
      const names = lowerCaseNames(types);
      const key = primaryKey && primaryKey.every((name) => names.has(name.toLowerCase())) ? new Set(primaryKey.map((name) => name.toLowerCase())) : undefined;
      list = Object.freeze([...types].map(([name, mysqlType]) => ({ name, mysqlType, charset: null, ...(key?.has(name.toLowerCase()) ? { primaryKey: true as const } : {}) })));
      this.lists.set(listKey, list);
    }
    return list;
  }
}

const namesOfTypes = new WeakMap<ReadonlyMap<string, string>, ReadonlySet<string>>();
function lowerCaseNames(types: ReadonlyMap<string, string>): ReadonlySet<string> {
  let names = namesOfTypes.get(types);
  if (!names) {
    names = new Set([...types.keys()].map((name) => name.toLowerCase()));
    namesOfTypes.set(types, names);
  }
  return names;
}

/**
 * A row's images as cells aligned with `types`. A column the row has and `types` lacks is an error
 * (its type is unknown); a column `types` has and an image lacks is NULL in that image (a
 * GoldenGate before image without full supplemental logging holds only the key and changed columns).
 */
export function rowCells(row: KafkaRow, types: ReadonlyMap<string, string>, bytes: 'base64' | 'latin1', where: string): { before: CellValue[] | null; after: CellValue[] | null } {
  const image = (values: JsonObject | null): CellValue[] | null => {
    if (!values) return null;
    // By name without regard to case: a table's columns are lower case in Hive, Oracle's upper case in GoldenGate.
    const byName = new Map(Object.entries(values).map(([name, value]) => [name.toLowerCase(), value]));
    const known = lowerCaseNames(types);
    for (const name of Object.keys(values)) {
      if (!known.has(name.toLowerCase())) {
        throw new SluiceError(
          'SLUICE_KAFKA_COLUMNS_UNKNOWN',
          `${where}: column ${name} of ${row.schema}.${row.table} has no known type: the message states none and the topic's columns list lacks it. ` +
            `Add it under the topic's columns.${row.schema}.${row.table} in the config (a MySQL type such as 'bigint' or 'varchar(64)').`,
          { context: { table: `${row.schema}.${row.table}`, columnName: name, position: where } },
        );
      }
    }
    return [...types].map(([name, mysqlType]) => {
      try {
        return cellOf(byName.get(name.toLowerCase()) ?? null, mysqlType, bytes);
      } catch (error) {
        if (!(error instanceof CellMisfit)) throw error;
        throw new SluiceError('SLUICE_KAFKA_VALUE', `${where}: column ${name} of ${row.schema}.${row.table}: ${error.message}. Nothing of the table after this message is written.`, {
          context: { table: `${row.schema}.${row.table}`, columnName: name, position: where },
        });
      }
    });
  };
  return { before: image(row.before), after: image(row.after) };
}
