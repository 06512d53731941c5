// MySQL/MariaDB column types to Hive types: the one table that decides it, from which both the code
// and the table of docs/type-mapping.md are made, so they cannot drift apart.
//
// The rule behind every row: a value must survive the trip without loss. Where Hive's own type
// cannot hold every value the MySQL type can (unsigned 64-bit integers, DECIMAL(65,30), the zero
// date '0000-00-00'), the row picks a wider type or exact text rather than a type that would turn
// some values into NULL.
import { SluiceError } from '../core/errors.ts';

/** A MySQL column type taken apart: 'int(10) unsigned zerofill' -> { name: 'int', args: ['10'], unsigned: true }. */
export interface ParsedMysqlType {
  /** The normalized spelling the type was parsed from. */
  text: string;
  /** The base type name, lower case: 'int', 'decimal', 'varchar', 'enum', 'double precision'. */
  name: string;
  /** Numbers inside the parentheses (empty for enum/set, whose lists are not needed). */
  args: number[];
  unsigned: boolean;
}

export interface TypeMappingRow {
  /** How docs/type-mapping.md spells the MySQL side. */
  mysql: string;
  /** How docs/type-mapping.md spells the Hive side. */
  hive: string;
  /** Why, where the choice is not obvious. */
  note: string;
  matches(type: ParsedMysqlType): boolean;
  hiveType(type: ParsedMysqlType): string;
}

const names =
  (...accepted: string[]) =>
  (type: ParsedMysqlType): boolean =>
    accepted.includes(type.name);
const signed =
  (...accepted: string[]) =>
  (type: ParsedMysqlType): boolean =>
    accepted.includes(type.name) && !type.unsigned;
const unsigned =
  (...accepted: string[]) =>
  (type: ParsedMysqlType): boolean =>
    accepted.includes(type.name) && type.unsigned;
const fixed = (hive: string) => (): string => hive;

// Hive's DECIMAL stops at 38 digits (HiveDecimal.MAX_PRECISION); MySQL's goes to 65.
const HIVE_MAX_DECIMAL_PRECISION = 38;
const DECIMALS = ['decimal', 'numeric', 'dec', 'fixed'];

function decimalArgs(type: ParsedMysqlType): { precision: number; scale: number } {
  // MySQL's defaults: DECIMAL = DECIMAL(10,0), DECIMAL(p) = DECIMAL(p,0).
  return { precision: type.args[0] ?? 10, scale: type.args[1] ?? 0 };
}

function bitWidth(type: ParsedMysqlType): number {
  return type.args[0] ?? 1;
}

/** MySQL's and MariaDB's spatial type names, each a column of WKB with an SRID in front. */
export const SPATIAL_TYPES: readonly string[] = [
  'geometry',
  'point',
  'linestring',
  'polygon',
  'multipoint',
  'multilinestring',
  'multipolygon',
  'geometrycollection',
  'geomcollection',
];

export const TYPE_MAPPING_ROWS: readonly TypeMappingRow[] = [
  {
    mysql: 'tinyint, bool, boolean',
    hive: 'tinyint',
    note: "BOOL is TINYINT(1) and may hold any value from -128 to 127, so it stays tinyint, not boolean",
    matches: signed('tinyint', 'bool', 'boolean'),
    hiveType: fixed('tinyint'),
  },
  {
    mysql: 'tinyint unsigned',
    hive: 'smallint',
    note: "0..255 does not fit Hive's signed tinyint",
    matches: unsigned('tinyint'),
    hiveType: fixed('smallint'),
  },
  { mysql: 'smallint', hive: 'smallint', note: '', matches: signed('smallint'), hiveType: fixed('smallint') },
  {
    mysql: 'smallint unsigned',
    hive: 'int',
    note: '0..65535 needs the next wider type',
    matches: unsigned('smallint'),
    hiveType: fixed('int'),
  },
  {
    mysql: 'mediumint, mediumint unsigned',
    hive: 'int',
    note: '24 bits, signed or not, fit in int',
    matches: names('mediumint'),
    hiveType: fixed('int'),
  },
  { mysql: 'int, integer', hive: 'int', note: '', matches: signed('int', 'integer'), hiveType: fixed('int') },
  {
    mysql: 'int unsigned',
    hive: 'bigint',
    note: '0..4294967295 needs the next wider type',
    matches: unsigned('int', 'integer'),
    hiveType: fixed('bigint'),
  },
  { mysql: 'bigint', hive: 'bigint', note: '', matches: signed('bigint'), hiveType: fixed('bigint') },
  {
    mysql: 'bigint unsigned, serial',
    hive: 'decimal(20,0)',
    note: 'up to 18446744073709551615, beyond any Hive integer type',
    matches: (type) => unsigned('bigint')(type) || type.name === 'serial',
    hiveType: fixed('decimal(20,0)'),
  },
  {
    mysql: `decimal(p,s), p <= ${HIVE_MAX_DECIMAL_PRECISION}`,
    hive: 'decimal(p,s)',
    note: 'exact; UNSIGNED only forbids negatives',
    matches: (type) => DECIMALS.includes(type.name) && decimalArgs(type).precision <= HIVE_MAX_DECIMAL_PRECISION,
    hiveType: (type) => {
      const { precision, scale } = decimalArgs(type);
      return `decimal(${precision},${scale})`;
    },
  },
  {
    mysql: `decimal(p,s), p > ${HIVE_MAX_DECIMAL_PRECISION}`,
    hive: 'string',
    note: `Hive decimals stop at ${HIVE_MAX_DECIMAL_PRECISION} digits; the exact decimal text is kept`,
    matches: (type) => DECIMALS.includes(type.name) && decimalArgs(type).precision > HIVE_MAX_DECIMAL_PRECISION,
    hiveType: fixed('string'),
  },
  {
    mysql: 'float',
    hive: 'float',
    note: 'written as the shortest decimal that reads back as the same 32-bit float',
    matches: names('float', 'float4'),
    hiveType: fixed('float'),
  },
  {
    mysql: 'double, real, double precision',
    hive: 'double',
    note: 'written as the shortest decimal that reads back as the same 64-bit double',
    matches: names('double', 'real', 'double precision', 'float8'),
    hiveType: fixed('double'),
  },
  {
    mysql: 'bit(n), n <= 63',
    hive: 'bigint',
    note: 'the bits as an unsigned integer (bit(1) is 0 or 1); lossless, and comparable in SQL unlike bytes',
    matches: (type) => type.name === 'bit' && bitWidth(type) <= 63,
    hiveType: fixed('bigint'),
  },
  {
    mysql: 'bit(64)',
    hive: 'decimal(20,0)',
    note: 'a 64-bit unsigned value does not fit bigint',
    matches: (type) => type.name === 'bit' && bitWidth(type) > 63,
    hiveType: fixed('decimal(20,0)'),
  },
  {
    mysql: 'year',
    hive: 'int',
    note: "four digits; the zero year is '0000' (read as 0)",
    matches: names('year'),
    hiveType: fixed('int'),
  },
  {
    mysql: 'date',
    hive: 'string',
    note: "'YYYY-MM-DD' text: MySQL allows '0000-00-00' and '2024-00-15', which a Hive date reads as NULL",
    matches: names('date'),
    hiveType: fixed('string'),
  },
  {
    mysql: 'datetime(n)',
    hive: 'string',
    note: "'YYYY-MM-DD hh:mm:ss[.ffffff]' text, exactly as MySQL shows it: zero datetimes survive, and no time zone is ever applied",
    matches: names('datetime'),
    hiveType: fixed('string'),
  },
  {
    mysql: 'timestamp(n)',
    hive: 'string',
    note: "UTC text 'YYYY-MM-DD hh:mm:ss[.ffffff]'; the zero timestamp '0000-00-00 00:00:00' survives",
    matches: names('timestamp'),
    hiveType: fixed('string'),
  },
  {
    mysql: 'time(n)',
    hive: 'string',
    note: "a duration from '-838:59:59' to '838:59:59', not a time of day; Hive has no such type",
    matches: names('time'),
    hiveType: fixed('string'),
  },
  {
    mysql: 'char, varchar, tinytext, text, mediumtext, longtext',
    hive: 'string',
    note: 'decoded from the column charset to UTF-8; char/varchar lengths are not enforced by Hive anyway',
    matches: names('char', 'varchar', 'nchar', 'nvarchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'long varchar', 'long'),
    hiveType: fixed('string'),
  },
  {
    mysql: 'binary, varbinary, tinyblob, blob, mediumblob, longblob',
    hive: 'binary',
    note: 'bytes as they are (base64 in text files, as Hive writes binary)',
    matches: names('binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob', 'long varbinary'),
    hiveType: fixed('binary'),
  },
  { mysql: 'enum(...)', hive: 'string', note: 'the member text', matches: names('enum'), hiveType: fixed('string') },
  {
    mysql: 'set(...)',
    hive: 'string',
    note: "members joined by ',' as MySQL shows them",
    matches: names('set'),
    hiveType: fixed('string'),
  },
  {
    mysql: 'json',
    hive: 'string',
    note: 'the JSON text (a LONGTEXT alias on MariaDB)',
    matches: names('json'),
    hiveType: fixed('string'),
  },
  {
    mysql: 'geometry, point, linestring, polygon, multi*, geometrycollection',
    hive: 'binary',
    note: 'OGC well-known binary (WKB), as ST_AsBinary() returns it',
    matches: names(...SPATIAL_TYPES),
    hiveType: fixed('binary'),
  },
  {
    mysql: 'uuid, inet4, inet6 (MariaDB)',
    hive: 'string',
    note: "the server's canonical text form, where the type is known from information_schema (MINIMAL metadata); under FULL the binlog does not tell them from binary(n), and they land as binary, their bytes (see Known limits)",
    matches: names('uuid', 'inet4', 'inet6'),
    hiveType: fixed('string'),
  },
  {
    mysql: 'vector(n) (MariaDB, MySQL 9)',
    hive: 'binary',
    note: 'little-endian float32s, as the server stores them; a binlog column type sluice does not know stops its table (`SLUICE_SCHEMA_UNSUPPORTED`, naming the column\'s number and type)',
    matches: names('vector'),
    hiveType: fixed('binary'),
  },
];

/**
 * Takes apart a type as information_schema.COLUMN_TYPE (or zongji's TableMap) spells it. Comments
 * such as MariaDB's '/*M!100301 COMPRESSED*\/' or '/* mariadb-5.3 *\/' say nothing about the values.
 */
export function parseMysqlType(mysqlType: string): ParsedMysqlType {
  const text = mysqlType
    .toLowerCase()
    .replace(/\/\*.*?\*\//g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const match = /^([a-z][a-z0-9_]*(?: precision| varchar| varbinary)?)\s*(\((.*)\))?\s*(.*)$/.exec(text);
  if (!match) return { text, name: text, args: [], unsigned: false };
  const name = match[1]!;
  const inside = match[3];
  // An enum/set list may hold anything, even ') unsigned'; only numeric types have modifiers.
  const listType = name === 'enum' || name === 'set';
  const args =
    inside === undefined || listType
      ? []
      : inside
          .split(',')
          .map((part) => part.trim())
          .filter((part) => /^\d+$/.test(part))
          .map(Number);
  const modifiers = listType ? [] : (match[4] ?? '').split(' ');
  return { text, name, args, unsigned: modifiers.includes('unsigned') };
}

export function mappingRowFor(mysqlType: string): TypeMappingRow | undefined {
  const parsed = parseMysqlType(mysqlType);
  return TYPE_MAPPING_ROWS.find((row) => row.matches(parsed));
}

/** The Hive type for a MySQL column type; a type the table does not know stops the table with an error that names it. */
export function hiveTypeFor(mysqlType: string): string {
  const parsed = parseMysqlType(mysqlType);
  const row = TYPE_MAPPING_ROWS.find((candidate) => candidate.matches(parsed));
  if (!row) {
    throw new SluiceError(
      'SLUICE_SCHEMA_UNSUPPORTED',
      `MySQL column type '${mysqlType}' has no Hive mapping in sluice; the table cannot be captured until one is added to src/catalog/type-mapping.ts`,
      { context: { mysqlType } },
    );
  }
  return row.hiveType(parsed);
}

/** The type table of docs/type-mapping.md, generated from TYPE_MAPPING_ROWS. */
export function markdownTypeTable(): string {
  const cell = (text: string): string => text.replace(/\|/g, '\\|');
  const lines = ['| MySQL / MariaDB | Hive | Why |', '|---|---|---|'];
  for (const row of TYPE_MAPPING_ROWS) lines.push(`| ${cell(row.mysql)} | ${cell(row.hive)} | ${cell(row.note)} |`);
  return lines.join('\n') + '\n';
}
