// The end of the server's binlog now (file and offset). MySQL 8.2 renamed SHOW MASTER STATUS to
// SHOW BINARY LOG STATUS and 8.4 removed the old name; MariaDB knows only the old one (and its
// own SHOW BINLOG STATUS). The new name is asked first, the old one on a syntax error.
import type mysql from 'mysql2/promise';

const ER_PARSE_ERROR = 1064;

export interface BinlogHead {
  file: string;
  offset: number;
}

/** undefined when the server reports no status (log_bin off). */
export async function readBinlogHead(connection: mysql.Connection): Promise<BinlogHead | undefined> {
  let rows: unknown;
  try {
    [rows] = await connection.query('SHOW BINARY LOG STATUS');
  } catch (error) {
    if ((error as { errno?: number }).errno !== ER_PARSE_ERROR) throw error;
    [rows] = await connection.query('SHOW MASTER STATUS');
  }
  const head = (rows as { File: string; Position: number | string }[])[0];
  return head ? { file: head.File, offset: Number(head.Position) } : undefined;
}
