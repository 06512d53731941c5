// A source table's columns as the schema history keeps them: what the binlog's TableMap leaves out
// under binlog_row_metadata=MINIMAL (names, ENUM/SET members) and what it lacks on servers without
// optional metadata at all (types with UNSIGNED, character sets).

export interface TableColumn {
  name: string;
  /** The type as information_schema.COLUMNS.COLUMN_TYPE spells it, lower case ('int(10) unsigned', "enum('a','b')"), or as a DDL statement did when only the statement is known. */
  type: string;
  /** Character set of a text column; null for other columns, and where it is not known. */
  charset: string | null;
  /** ENUM or SET members, in order. */
  members?: string[];
  /** Part of the primary key (information_schema COLUMN_KEY 'PRI'); a column worked out from a DDL statement alone has no such mark. */
  primaryKey?: true;
}

export interface TableSchema {
  columns: TableColumn[];
  /** The table's default character set, for columns a later ADD COLUMN gives none. */
  defaultCharset?: string;
}

/** 'db.table' as the history keys it: lower case, since DDL may spell a name in another case than the TableMap where names are case-insensitive. */
export function tableKey(schema: string, table: string): string {
  return `${schema}.${table}`.toLowerCase();
}

export function sameColumnNames(left: readonly TableColumn[], right: readonly TableColumn[]): boolean {
  return left.length === right.length && left.every((column, index) => column.name.toLowerCase() === right[index]!.name.toLowerCase());
}

const TEXT_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'enum', 'set', 'json']);

/** Whether a column of this type (base name, as parseMysqlType gives it) holds text in a character set. */
export function isTextType(baseName: string): boolean {
  return TEXT_TYPES.has(baseName);
}
