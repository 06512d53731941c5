// Reads a table's columns from information_schema together with the binlog head just after the
// read. Why the head: a DDL statement holds its metadata lock until it is in the binlog, and the
// read waits for that lock, so the columns read are those after every DDL statement up to the head
// and before any after it. The schema tracker uses that to tell whether they hold at an older point.
import type mysql from 'mysql2/promise';
import { readBinlogHead } from '../server/binlog-head.ts';
import { tokenize } from './sql-lexer.ts';
import type { FilePosition } from '../position/position-order.ts';
import type { TableColumn, TableSchema } from './table-columns.ts';

export interface ServerTableRead {
  /** undefined when information_schema shows no such table (dropped, or not visible to the user). */
  schema: TableSchema | undefined;
  head: FilePosition;
}

interface ColumnRow {
  COLUMN_NAME: string;
  COLUMN_TYPE: string;
  CHARACTER_SET_NAME: string | null;
  COLUMN_KEY: string;
}

export async function readServerTable(connection: mysql.Connection, schema: string, table: string): Promise<ServerTableRead> {
  await showGeneratedInvisiblePrimaryKeys(connection);
  // information_schema compares names without regard to case; the binlog's names are exact.
  const [columnRows] = await connection.query(
    `SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, CHARACTER_SET_NAME, COLUMN_KEY FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [schema, table],
  );
  const [tableRows] = await connection.query('SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [
    schema,
    table,
  ]);
  const head = await readBinlogHead(connection);
  if (!head) throw new Error('SHOW BINARY LOG STATUS / SHOW MASTER STATUS is empty: is log_bin on?');
  const exact = (row: { TABLE_SCHEMA: string; TABLE_NAME: string }): boolean => row.TABLE_SCHEMA === schema && row.TABLE_NAME === table;
  const rows = (columnRows as (ColumnRow & { TABLE_SCHEMA: string; TABLE_NAME: string })[]).filter(exact);
  const collation = (tableRows as { TABLE_SCHEMA: string; TABLE_NAME: string; TABLE_COLLATION: string | null }[]).find(exact)?.TABLE_COLLATION;
  const defaultCharset = collation && collation.includes('_') ? collation.slice(0, collation.indexOf('_')) : undefined;
  return {
    schema: rows.length === 0 ? undefined : { columns: rows.map(toColumn), ...(defaultCharset ? { defaultCharset } : {}) },
    head,
  };
}

/**
 * MySQL 8.0.30+ adds an invisible primary key my_row_id to a table created without one when
 * sql_generate_invisible_primary_key is on, and the binlog carries it in every TableMap and row
 * image; but where show_gipk_in_create_table_and_information_schema is off (a DBA's choice, global
 * or per session), information_schema leaves it out, and the columns read would be one short of
 * the rows. This session always shows it. MariaDB and older MySQL have no such variable (error 1193).
 */
async function showGeneratedInvisiblePrimaryKeys(connection: mysql.Connection): Promise<void> {
  try {
    await connection.query('SET SESSION show_gipk_in_create_table_and_information_schema = ON');
  } catch (error) {
    if ((error as { errno?: number }).errno !== ER_UNKNOWN_SYSTEM_VARIABLE) throw error;
  }
}

const ER_UNKNOWN_SYSTEM_VARIABLE = 1193;

function toColumn(row: ColumnRow): TableColumn {
  // Kept as the server spells it: lower-case keywords, ENUM/SET members in their own case.
  const list = /^(enum|set)\s*\(/i.exec(row.COLUMN_TYPE);
  return {
    name: row.COLUMN_NAME,
    type: row.COLUMN_TYPE,
    charset: row.CHARACTER_SET_NAME,
    ...(row.COLUMN_KEY === 'PRI' ? { primaryKey: true as const } : {}),
    // information_schema spells members as SQL literals ('it''s', 'a\\b'): the SQL lexer reads them back.
    ...(list ? { members: tokenize(row.COLUMN_TYPE).filter((token) => token.kind === 'string').map((token) => token.text) } : {}),
  };
}
