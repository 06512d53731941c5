// What a batch copy needs to know of its source table before any row moves, read from
// information_schema: the columns (as the binlog path describes them) and the split key.
import type mysql from 'mysql2/promise';
import type { SourceColumn } from '../../core/change-event.ts';

export type KeyKind = 'integer' | 'temporal';

export interface KeyColumn {
  name: string;
  kind: KeyKind | 'unsupported';
  /** information_schema DATA_TYPE: 'bigint', 'datetime', ... */
  dataType: string;
  mysqlType: string;
  unsigned: boolean;
  nullable: boolean;
  /** The key leads some index, so `key > offset ORDER BY key LIMIT n` is a range scan, not a sort of the table. */
  indexed: boolean;
  /** A unique index (or the primary key) is exactly this column: a page boundary never splits equal keys. */
  unique: boolean;
}

export interface TableShape {
  schema: string;
  table: string;
  /** 'BASE TABLE', 'VIEW', ...; undefined when the table does not exist. */
  tableType: string | undefined;
  engine: string | null;
  columns: (SourceColumn & { dataType: string; nullable: boolean })[];
  key: KeyColumn | undefined;
}

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);
const TEMPORAL_TYPES = new Set(['date', 'datetime', 'timestamp']);

export async function readTableShape(connection: mysql.Connection, qualified: string, keyName: string | undefined): Promise<TableShape> {
  const dot = qualified.indexOf('.');
  const schema = qualified.slice(0, dot);
  const table = qualified.slice(dot + 1);
  const [tables] = await connection.query<mysql.RowDataPacket[]>(
    'SELECT TABLE_TYPE AS tableType, ENGINE AS engine FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [schema, table],
  );
  const [columnRows] = await connection.query<mysql.RowDataPacket[]>(
    `SELECT COLUMN_NAME AS name, LOWER(COLUMN_TYPE) AS mysqlType, LOWER(DATA_TYPE) AS dataType,
            CHARACTER_SET_NAME AS charset, IS_NULLABLE = 'YES' AS nullable
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [schema, table],
  );
  const columns = columnRows.map((row) => ({
    name: String(row.name),
    mysqlType: String(row.mysqlType),
    dataType: String(row.dataType),
    charset: row.charset === null ? null : String(row.charset),
    nullable: Number(row.nullable) === 1,
  }));
  let key: KeyColumn | undefined;
  const keyColumn = keyName === undefined ? undefined : columns.find((column) => column.name.toLowerCase() === keyName.toLowerCase());
  if (keyColumn) {
    const [indexes] = await connection.query<mysql.RowDataPacket[]>(
      `SELECT INDEX_NAME AS indexName, NON_UNIQUE AS nonUnique, SEQ_IN_INDEX AS seq, COLUMN_NAME AS columnName
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
      [schema, table],
    );
    const byIndex = new Map<string, { unique: boolean; columns: string[] }>();
    for (const row of indexes) {
      const entry = byIndex.get(String(row.indexName)) ?? { unique: Number(row.nonUnique) === 0, columns: [] };
      entry.columns[Number(row.seq) - 1] = String(row.columnName).toLowerCase();
      byIndex.set(String(row.indexName), entry);
    }
    const name = keyColumn.name.toLowerCase();
    const leading = [...byIndex.values()].filter((index) => index.columns[0] === name);
    key = {
      name: keyColumn.name,
      kind: INTEGER_TYPES.has(keyColumn.dataType) ? 'integer' : TEMPORAL_TYPES.has(keyColumn.dataType) ? 'temporal' : 'unsupported',
      dataType: keyColumn.dataType,
      mysqlType: keyColumn.mysqlType,
      unsigned: /\bunsigned\b/.test(keyColumn.mysqlType),
      nullable: keyColumn.nullable,
      indexed: leading.length > 0,
      unique: leading.some((index) => index.unique && index.columns.length === 1),
    };
  }
  const first = tables[0];
  return {
    schema,
    table,
    tableType: first ? String(first.tableType) : undefined,
    engine: first && first.engine !== null ? String(first.engine) : null,
    columns,
    key,
  };
}
