// What a batch copy needs to know of its source table before any row moves, read from
// information_schema: the columns (as the binlog path describes them). Its key: table-key.ts.
import type mysql from 'mysql2/promise';
import type { SourceColumn } from '../../core/change-event.ts';

export interface TableShape {
  schema: string;
  table: string;
  /** 'BASE TABLE', 'VIEW', ...; undefined when the table does not exist. */
  tableType: string | undefined;
  engine: string | null;
  columns: (SourceColumn & { dataType: string; nullable: boolean })[];
}

export async function readTableShape(connection: mysql.Connection, qualified: string): Promise<TableShape> {
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
  const first = tables[0];
  return {
    schema,
    table,
    tableType: first ? String(first.tableType) : undefined,
    engine: first && first.engine !== null ? String(first.engine) : null,
    columns,
  };
}
