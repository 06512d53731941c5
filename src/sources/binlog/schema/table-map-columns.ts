// Gives zongji the column descriptions for a TableMap event without column names (binlog_row_metadata
// MINIMAL, or no optional metadata at all), from the schema history's columns at the event's position.
// Under MINIMAL the event itself still carries every type, length, precision, signedness and character
// set; from those zongji builds the same descriptions as under FULL (so a table's Hive types do not
// depend on the setting), and the history adds what is missing: names and ENUM/SET members. A server
// without optional metadata (MySQL 5.7, MariaDB before 10.5) gets the history's types as well.
// Before any of that, the event and the history must agree on the number of columns and, column by
// column, on the kind of type: a disagreement means the history does not describe these rows, and
// decoding them would put values into the wrong columns.
import { parseMysqlType, SPATIAL_TYPES } from '../../../catalog/type-mapping.ts';
import { SluiceError } from '../../../core/errors.ts';
import type { TableColumn, TableSchema } from './table-columns.ts';

/** What zongji's TableMap event has that matters here (lib/binlog_event.js). */
export interface TableMapEventLike {
  tableId: number;
  schemaName: string;
  tableName: string;
  columnCount: number;
  columnTypes: number[];
  columnsMetadata: ({ type?: number } & Record<string, unknown>)[];
  columnNames?: string[];
  signedness?: (boolean | undefined)[];
  geometryTypes?: unknown[];
  _columnCharsetIds?: (number | undefined)[];
  buildColumnSchemas(): ZongJiColumnSchema[];
}

/** The information_schema-shaped rows zongji decodes with. */
export interface ZongJiColumnSchema {
  COLUMN_NAME: string;
  COLLATION_NAME: string | null;
  CHARACTER_SET_NAME: string | null;
  COLUMN_COMMENT: string;
  COLUMN_TYPE: string;
  ENUM_VALUES?: string[];
  SET_VALUES?: string[];
  UNSIGNED?: boolean;
}

// MySQL's binlog type codes (include/mysql_com.h enum_field_types, and MariaDB's compressed ones),
// by the kind of type a column definition must have.
const KIND_OF_CODE: Record<number, string> = {
  0: 'decimal',
  246: 'decimal',
  1: 'tinyint',
  2: 'smallint',
  9: 'mediumint',
  3: 'int',
  8: 'bigint',
  4: 'float',
  5: 'double',
  13: 'year',
  10: 'date',
  14: 'date',
  11: 'time',
  19: 'time',
  12: 'datetime',
  18: 'datetime',
  7: 'timestamp',
  17: 'timestamp',
  16: 'bit',
  15: 'varchar',
  253: 'varchar',
  141: 'varchar',
  254: 'char',
  247: 'enum',
  248: 'set',
  249: 'blob',
  250: 'blob',
  251: 'blob',
  252: 'blob',
  140: 'blob',
  245: 'blob',
  255: 'geometry',
};

const KIND_OF_TYPE: Record<string, string> = {
  tinyint: 'tinyint',
  bool: 'tinyint',
  boolean: 'tinyint',
  smallint: 'smallint',
  mediumint: 'mediumint',
  int: 'int',
  integer: 'int',
  bigint: 'bigint',
  serial: 'bigint',
  decimal: 'decimal',
  numeric: 'decimal',
  dec: 'decimal',
  fixed: 'decimal',
  float: 'float',
  float4: 'float',
  double: 'double',
  'double precision': 'double',
  real: 'double',
  float8: 'double',
  year: 'year',
  date: 'date',
  time: 'time',
  datetime: 'datetime',
  timestamp: 'timestamp',
  bit: 'bit',
  varchar: 'varchar',
  varbinary: 'varchar',
  nvarchar: 'varchar',
  char: 'char',
  nchar: 'char',
  binary: 'char',
  uuid: 'char',
  inet4: 'char',
  inet6: 'char',
  enum: 'enum',
  set: 'set',
  tinytext: 'blob',
  text: 'blob',
  mediumtext: 'blob',
  longtext: 'blob',
  tinyblob: 'blob',
  blob: 'blob',
  mediumblob: 'blob',
  longblob: 'blob',
  json: 'blob',
  long: 'blob',
  'long varchar': 'blob',
  'long varbinary': 'blob',
  ...Object.fromEntries(SPATIAL_TYPES.map((name) => [name, 'geometry'])),
};

const CLASSIC_TEMPORAL_CODES = new Set([7, 11, 12]);

function effectiveType(event: TableMapEventLike, index: number): number {
  return event.columnsMetadata[index]?.type ?? event.columnTypes[index]!;
}

/** Whether the event carries MySQL 8 / MariaDB 10.5 optional metadata (signedness, character sets, geometry types). */
export function hasOptionalMetadata(event: TableMapEventLike): boolean {
  return event.signedness !== undefined || event.geometryTypes !== undefined || (event._columnCharsetIds ?? []).some((id) => id !== undefined);
}

/** Descriptions for a table sluice does not capture: its rows are only counted, so the event's own types with numbered names do. */
export function anonymousColumnSchemas(event: TableMapEventLike): ZongJiColumnSchema[] {
  return withNames(event, Array.from({ length: event.columnCount }, (_, index) => `@${index + 1}`));
}

function withNames(event: TableMapEventLike, names: string[]): ZongJiColumnSchema[] {
  event.columnNames = names;
  try {
    return event.buildColumnSchemas();
  } finally {
    delete event.columnNames;
  }
}

/** The descriptions for a captured table's rows; throws SLUICE_SCHEMA_HISTORY when the event and the history disagree. */
export function columnSchemasFor(event: TableMapEventLike, table: TableSchema, context: { table: string; position: string; source: string }): ZongJiColumnSchema[] {
  const { columns } = table;
  if (columns.length !== event.columnCount) {
    throw disagreement(
      context,
      `the binlog's TableMap has ${event.columnCount} columns, and sluice's columns for the table (from ${context.source}) are ${columns.length}: ${columns.map((column) => column.name).join(', ')}`,
    );
  }
  columns.forEach((column, index) => {
    const code = effectiveType(event, index);
    const binlogKind = KIND_OF_CODE[code];
    const historyKind = KIND_OF_TYPE[parseMysqlType(column.type).name];
    if (binlogKind === undefined || historyKind === undefined || binlogKind === historyKind) return;
    throw disagreement(
      context,
      `column ${index + 1} is a ${binlogKind} column in the binlog's TableMap, and sluice's columns for the table (from ${context.source}) have ${column.name} ${column.type} there`,
    );
  });
  if (!hasOptionalMetadata(event)) return columns.map(informationSchemaRow);
  const schemas = withNames(
    event,
    columns.map((column) => column.name),
  );
  return schemas.map((schema, index) => {
    const column = columns[index]!;
    const code = effectiveType(event, index);
    if (code === 247 || code === 248) return { ...schema, ...membersOf(column, code) };
    // MariaDB's pre-10.0 ("hires") temporal columns: only the definition has their precision.
    if (CLASSIC_TEMPORAL_CODES.has(code) && /mariadb-5\.3/.test(column.type)) return { ...schema, COLUMN_TYPE: column.type };
    return schema;
  });
}

function membersOf(column: TableColumn, code: number): Partial<ZongJiColumnSchema> {
  const members = column.members ?? [];
  const keyword = code === 247 ? 'enum' : 'set';
  // Spelled as zongji spells it under FULL metadata, so that a table's type text is the same either way.
  const type = `${keyword}(${members.map((member) => `'${member.replace(/'/g, "''")}'`).join(',')})`;
  return code === 247 ? { ENUM_VALUES: members, COLUMN_TYPE: type } : { SET_VALUES: members, COLUMN_TYPE: type };
}

function informationSchemaRow(column: TableColumn): ZongJiColumnSchema {
  const kind = parseMysqlType(column.type).name;
  return {
    COLUMN_NAME: column.name,
    COLLATION_NAME: null,
    CHARACTER_SET_NAME: column.charset,
    COLUMN_COMMENT: '',
    COLUMN_TYPE: column.type,
    ...(kind === 'enum' ? { ENUM_VALUES: column.members ?? [] } : kind === 'set' ? { SET_VALUES: column.members ?? [] } : {}),
  };
}

function disagreement(context: { table: string; position: string }, what: string): SluiceError {
  return new SluiceError(
    'SLUICE_SCHEMA_HISTORY',
    `table ${context.table} at binlog position ${context.position}: ${what}. The columns sluice holds do not describe these rows, ` +
      'and decoding them would put values into the wrong columns; nothing of the table after the last checkpoint has been written. ' +
      'Start from a later position (`sluice checkpoint set`), or exclude the table (routing.exclude).',
    { context: { table: context.table, position: context.position } },
  );
}
