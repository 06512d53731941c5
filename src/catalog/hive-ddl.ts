// HiveQL statements the HiveServer2 catalog sends, built in one place so that every name is quoted and
// every string literal escaped the same way. Nothing here talks to a server.
import { SluiceError } from '../core/errors.ts';
import type { HiveColumn, StorageFormat, TableDefinition } from './catalog.ts';
import { TEXT_STORAGE_DDL } from './hive-text-table.ts';
import { METADATA_NAMES_PROPERTY, metadataNamesProperty } from './metadata-names.ts';

/** `name` as a Hive identifier: in backticks, a backtick inside doubled (HiveLexer's Identifier rule). */
export function quoteIdentifier(name: string): string {
  if (name === '') throw new SluiceError('SLUICE_CATALOG', 'an empty name cannot be a Hive identifier');
  return '`' + name.replaceAll('`', '``') + '`';
}

export function qualifiedName(database: string, table: string): string {
  return `${quoteIdentifier(database)}.${quoteIdentifier(table)}`;
}

/**
 * `value` as a HiveQL string literal. Hive's lexer ends a literal at an unescaped quote and its
 * unescapeSQLString reads `\` sequences (`\n`, `\001`, `\u0001`, ...), so a backslash and a quote are
 * escaped; CR and LF too, so that a statement stays on one line in Hive's logs.
 */
export function stringLiteral(value: string): string {
  const escaped = value.replace(/[\\'\n\r\0]/g, (char) => {
    switch (char) {
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\0':
        return '\\0';
      default:
        return '\\' + char;
    }
  });
  return `'${escaped}'`;
}

// The primitive types sluice writes (see type-mapping.ts and changelog-layout.ts) and the few more a
// hand-made table may use. A type is spliced into DDL as it is, so anything else is refused here.
const HIVE_TYPE = /^(tinyint|smallint|int|integer|bigint|float|double|double precision|boolean|string|binary|timestamp|date|decimal\(\d{1,2},\d{1,2}\)|varchar\(\d+\)|char\(\d+\))$/;

/** A Hive type as DESCRIBE spells it: lower case, no spaces inside parentheses. */
export function normalizeHiveType(type: string): string {
  return type.trim().toLowerCase().replace(/\s*([(),])\s*/g, '$1');
}

function columnType(column: HiveColumn): string {
  const type = normalizeHiveType(column.type);
  if (!HIVE_TYPE.test(type)) {
    throw new SluiceError('SLUICE_CATALOG', `column ${column.name} has type '${column.type}', which sluice does not create in Hive`, {
      context: { hiveColumn: column.name },
    });
  }
  return type;
}

export function columnList(columns: readonly HiveColumn[]): string {
  return columns.map((column) => `${quoteIdentifier(column.name)} ${columnType(column)}`).join(', ');
}

/** `(dt='2026-11-25', hr='03')`, in the order the record holds them. */
export function partitionClause(values: Record<string, string>): string {
  const entries = Object.entries(values);
  if (entries.length === 0) throw new SluiceError('SLUICE_CATALOG', 'a partition needs at least one partition value');
  return `(${entries.map(([key, value]) => `${quoteIdentifier(key)}=${stringLiteral(value)}`).join(', ')})`;
}

function storageClause(format: StorageFormat): string {
  return format === 'text' ? TEXT_STORAGE_DDL : 'STORED AS PARQUET';
}

export function createDatabaseStatement(database: string, locationUri?: string): string {
  return `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(database)}` + (locationUri ? ` LOCATION ${stringLiteral(locationUri)}` : '');
}

/**
 * EXTERNAL: Hive owns the metadata, sluice owns the files. A managed table would let a `DROP TABLE`
 * or `TRUNCATE` delete committed files behind sluice's back (and Hive 4 turns a managed text table
 * into a transactional one that expects its own delta directories); an external table's files are
 * only ever touched by sluice.
 */
export function createTableStatement(definition: TableDefinition, locationUri: string): string {
  const partitioned = definition.partitionColumns.length > 0 ? ` PARTITIONED BY (${columnList(definition.partitionColumns)})` : '';
  return (
    `CREATE EXTERNAL TABLE IF NOT EXISTS ${qualifiedName(definition.database, definition.name)} (${columnList(definition.columns)})` +
    `${partitioned} ${storageClause(definition.format)} LOCATION ${stringLiteral(locationUri)}` +
    tableProperties(definition)
  );
}

function tableProperties(definition: TableDefinition): string {
  const properties = [
    ...(definition.primaryKey ? [primaryKeyProperty(definition.primaryKey)] : []),
    ...(definition.metadataNames ? [`${stringLiteral(METADATA_NAMES_PROPERTY)}=${stringLiteral(metadataNamesProperty(definition.metadataNames))}`] : []),
  ];
  return properties.length > 0 ? ` TBLPROPERTIES (${properties.join(', ')})` : '';
}

/** The table property that records the source's primary key: column names, comma-separated. */
export const PRIMARY_KEY_PROPERTY = 'sluice.primary.key';

export function setPrimaryKeyStatement(database: string, table: string, key: readonly string[]): string {
  return `ALTER TABLE ${qualifiedName(database, table)} SET TBLPROPERTIES (${primaryKeyProperty(key)})`;
}

function primaryKeyProperty(key: readonly string[]): string {
  return `${stringLiteral(PRIMARY_KEY_PROPERTY)}=${stringLiteral(key.join(','))}`;
}

/** The key a table property records, if any (a column name with a comma in it is never recorded: see the sink). */
export function primaryKeyFromProperty(value: string | undefined): string[] | undefined {
  const key = (value ?? '')
    .split(',')
    .map((column) => column.trim().toLowerCase())
    .filter((column) => column.length > 0);
  return key.length > 0 ? key : undefined;
}

/**
 * CASCADE: every partition of a Hive table keeps its own copy of the column list, which readers use
 * for that partition's files (Hive itself, and Trino, Spark, Impala). Without CASCADE, a file written
 * after the change into a partition that existed before it is read through the old list: measured on
 * Hive 4.1, a bigint value written after `CHANGE COLUMN i i bigint` reads as NULL through the old
 * `int`. (Hive 4.1's own fetch task happened to read an ADD COLUMNS column right; other engines don't
 * promise it.)
 */
export function addColumnsStatement(database: string, table: string, columns: readonly HiveColumn[], partitioned = true): string {
  return `ALTER TABLE ${qualifiedName(database, table)} ADD COLUMNS (${columnList(columns)})${cascade(partitioned)}`;
}

export function changeColumnTypeStatement(database: string, table: string, column: string, type: string, partitioned = true): string {
  const name = quoteIdentifier(column);
  return `ALTER TABLE ${qualifiedName(database, table)} CHANGE COLUMN ${name} ${name} ${columnType({ name: column, type })}${cascade(partitioned)}`;
}

/** CASCADE is for the partitions' copies of the columns; Hive refuses it on a table without partitions (a materialized snapshot). */
function cascade(partitioned: boolean): string {
  return partitioned ? ' CASCADE' : '';
}

export function addPartitionStatement(database: string, table: string, values: Record<string, string>, locationUri: string): string {
  return `ALTER TABLE ${qualifiedName(database, table)} ADD IF NOT EXISTS PARTITION ${partitionClause(values)} LOCATION ${stringLiteral(locationUri)}`;
}

export function describeFormattedStatement(database: string, table: string): string {
  return `DESCRIBE FORMATTED ${qualifiedName(database, table)}`;
}

export function showPartitionsStatement(database: string, table: string): string {
  return `SHOW PARTITIONS ${qualifiedName(database, table)}`;
}

export function showTablesStatement(database: string): string {
  return `SHOW TABLES IN ${quoteIdentifier(database)}`;
}

export const SHOW_DATABASES = 'SHOW DATABASES';
