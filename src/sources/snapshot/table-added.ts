// The key of a table the snapshot reads while streaming (added to the routing, rows moved in, asked
// for): read when its turn comes, on the snapshot's own connection.
import type mysql from 'mysql2/promise';
import { readTableKey, type TableKey } from '../table/table-key.ts';

/** The table's key; undefined when the table no longer exists (nothing to read). Throws SLUICE_TABLE_KEY for a table without one. */
export async function keyOrNothing(connection: mysql.Connection, table: string): Promise<TableKey | undefined> {
  const dot = table.indexOf('.');
  const [rows] = await connection.query<mysql.RowDataPacket[]>("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND TABLE_TYPE = 'BASE TABLE'", [
    table.slice(0, dot),
    table.slice(dot + 1),
  ]);
  return rows.length === 0 ? undefined : readTableKey(connection, table);
}
