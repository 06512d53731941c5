// How many rows a table holds, roughly, for the snapshot's ETA: information_schema.TABLES.TABLE_ROWS,
// which InnoDB only estimates (from index statistics; it may be off by tens of percent either way)
// and which costs no scan, unlike COUNT(*), whose time on a big table would delay the first chunk.
import type mysql from 'mysql2/promise';

/** The estimate for source 'db.table', or undefined when the server gives none (or the query fails: it only feeds the ETA). */
export async function estimateRows(connection: mysql.Connection, table: string): Promise<number | undefined> {
  const dot = table.indexOf('.');
  try {
    const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT TABLE_ROWS AS estimate FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [
      table.slice(0, dot),
      table.slice(dot + 1),
    ]);
    const estimate = rows[0]?.estimate;
    return estimate === null || estimate === undefined ? undefined : Number(estimate);
  } catch {
    return undefined;
  }
}
