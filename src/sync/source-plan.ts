// Everything about the source that is settled before a row moves: the preconditions (a key that
// orders the table by an index, a filter the server accepts, columns that exist and map to Hive), the
// split of the table into channels, and how many rows each channel has to copy.
import type mysql from 'mysql2/promise';
import { hiveTypeFor } from '../catalog/type-mapping.ts';
import { requestedKey, type SyncSourceConfig } from '../config/sync-job-schema.ts';
import { SluiceError } from '../core/errors.ts';
import { channelPredicate, type ChannelSplit } from '../sources/table/key-split.ts';
import { quoteIdentifier, quoteTable } from '../core/mysql-connect.ts';
import { readKeyBoundaries, readTableKey, type TableKey } from '../sources/table/table-key.ts';
import { readTableShape, type TableShape } from '../sources/table/table-shape.ts';

export interface SourcePlan {
  shape: TableShape;
  key: TableKey;
  columns: TableShape['columns'];
  hiveTypes: string[];
}

function refuse(message: string, configKey: string, table: string): SluiceError {
  return new SluiceError('SLUICE_SYNC_PRECONDITION', message, { context: { configKey, table } });
}

export async function planSource(connection: mysql.Connection, source: SyncSourceConfig): Promise<SourcePlan> {
  const table = source.table;
  const shape = await readTableShape(connection, table);
  if (shape.tableType === undefined) throw refuse(`source.table: ${table} does not exist on ${source.host}:${source.port} (or user '${source.user}' cannot see it)`, 'source.table', table);
  let key: TableKey;
  try {
    key = await readTableKey(connection, table, requestedKey(source), { configKey: 'source.key' });
  } catch (error) {
    // A batch copy that cannot start is a precondition of the job, whatever the key's reason.
    if (error instanceof SluiceError && error.code === 'SLUICE_TABLE_KEY') throw refuse(error.message, 'source.key', table);
    throw error;
  }
  for (const column of key.columns.filter((candidate) => candidate.nullable)) {
    const [rows] = await connection.query<mysql.RowDataPacket[]>(`SELECT 1 FROM ${quoteTable(table)} WHERE ${quoteIdentifier(column.name)} IS NULL LIMIT 1`);
    if (rows.length > 0) {
      throw refuse(`source.key: ${table}.${column.name} holds NULLs, which no 'key > offset' condition reads: those rows would be lost; choose a NOT NULL key`, 'source.key', table);
    }
  }
  let columns = shape.columns;
  if (source.columns) {
    columns = source.columns.map((name) => {
      const column = shape.columns.find((candidate) => candidate.name.toLowerCase() === name.toLowerCase());
      if (!column) throw refuse(`source.columns: ${table} has no column '${name}'`, 'source.columns', table);
      return column;
    });
  }
  const hiveTypes = columns.map((column) => {
    try {
      return hiveTypeFor(column.mysqlType);
    } catch (error) {
      throw refuse(`source.columns: ${table}.${column.name}: ${(error as Error).message}`, 'source.columns', table);
    }
  });
  if (source.where !== undefined) {
    try {
      await connection.query(`SELECT 1 FROM ${quoteTable(table)} WHERE (${source.where}) LIMIT 0`);
    } catch (error) {
      throw refuse(`source.where: the server cannot filter ${table} by (${source.where}): ${(error as Error).message}`, 'source.where', table);
    }
  }
  return { shape, key, columns, hiveTypes };
}

/**
 * Fixes how the table divides into `channels`: N key ranges of nearly equal row counts now (one count
 * and one walk of the key's index), whatever the key's kind.
 */
export async function planSplit(connection: mysql.Connection, source: SyncSourceConfig, key: TableKey, channels: number): Promise<ChannelSplit> {
  return { kind: 'keys', channels, boundaries: await readKeyBoundaries(connection, source.table, key, source.where, channels) };
}

/** Rows each channel has in all (for progress and the ETA): one scan of the key's index. */
export async function countRows(connection: mysql.Connection, source: SyncSourceConfig, key: TableKey, split: ChannelSplit): Promise<number[]> {
  const cases = Array.from({ length: split.channels }, (_, channel) => `WHEN ${channelPredicate(split, key, channel)} THEN ${channel}`).join(' ');
  const [rows] = await connection.query<mysql.RowDataPacket[]>(
    `SELECT CASE ${cases} END AS channel, COUNT(*) AS n FROM ${quoteTable(source.table)}${source.where !== undefined ? ` WHERE (${source.where})` : ''} GROUP BY 1`,
  );
  const counts = new Array<number>(split.channels).fill(0);
  for (const row of rows) if (row.channel !== null) counts[Number(row.channel)] = Number(row.n);
  return counts;
}
