// Everything about the source that is settled before a row moves: the preconditions (a key that is
// indexed and ascending, a filter the server accepts, columns that exist and map to Hive), the split
// of the table into channels, and how many rows each channel has to copy.
import type mysql from 'mysql2/promise';
import { hiveTypeFor } from '../catalog/type-mapping.ts';
import type { SyncSourceConfig } from '../config/sync-job-schema.ts';
import { SluiceError } from '../core/errors.ts';
import { channelPredicate, temporalBoundaries, type ChannelSplit } from '../sources/table/key-split.ts';
import { quoteIdentifier, quoteTable } from '../core/mysql-connect.ts';
import { readTableShape, type KeyColumn, type TableShape } from '../sources/table/table-shape.ts';

export interface SourcePlan {
  shape: TableShape;
  key: KeyColumn;
  columns: TableShape['columns'];
  hiveTypes: string[];
}

function refuse(message: string, configKey: string, table: string): SluiceError {
  return new SluiceError('SLUICE_SYNC_PRECONDITION', message, { context: { configKey, table } });
}

export async function planSource(connection: mysql.Connection, source: SyncSourceConfig): Promise<SourcePlan> {
  const table = source.table;
  const shape = await readTableShape(connection, table, source.key);
  if (shape.tableType === undefined) throw refuse(`source.table: ${table} does not exist on ${source.host}:${source.port} (or user '${source.user}' cannot see it)`, 'source.table', table);
  const key = shape.key;
  if (!key) throw refuse(`source.key: ${table} has no column '${source.key}' (it has ${shape.columns.map((c) => c.name).join(', ')})`, 'source.key', table);
  if (key.kind === 'unsupported') {
    throw refuse(
      `source.key: ${table}.${key.name} is ${key.mysqlType}, which is not an ascending key sluice can split and resume on: use an integer column (split by key mod N) or a DATE, DATETIME or TIMESTAMP column (split into ranges)`,
      'source.key',
      table,
    );
  }
  if (!key.indexed && shape.tableType === 'BASE TABLE') {
    throw refuse(
      `source.key: ${table}.${key.name} leads no index, so every page would sort the whole table; add one (ALTER TABLE ${table} ADD INDEX (${key.name})) or choose an indexed key`,
      'source.key',
      table,
    );
  }
  if (key.nullable) {
    const [rows] = await connection.query<mysql.RowDataPacket[]>(`SELECT 1 FROM ${quoteTable(table)} WHERE ${quoteIdentifier(key.name)} IS NULL LIMIT 1`);
    if (rows.length > 0) {
      throw refuse(`source.key: ${table}.${key.name} holds NULLs, which no 'key > offset' condition reads: those rows would be lost; choose a NOT NULL key`, 'source.key', table);
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

/** Fixes how the table divides into `channels`; for a temporal key, from its min and max now. */
export async function planSplit(connection: mysql.Connection, source: SyncSourceConfig, key: KeyColumn, channels: number): Promise<ChannelSplit> {
  if (key.kind === 'integer' || channels === 1) return { kind: 'modulo', channels };
  const keySql = quoteIdentifier(key.name);
  const [rows] = await connection.query<mysql.RowDataPacket[]>({
    sql: `SELECT MIN(${keySql}) AS low, MAX(${keySql}) AS high FROM ${quoteTable(source.table)}${source.where !== undefined ? ` WHERE (${source.where})` : ''}`,
  });
  const low = rows[0]?.low as string | null | undefined;
  const high = rows[0]?.high as string | null | undefined;
  if (low == null || high == null) return { kind: 'range', channels, boundaries: new Array<string>(channels - 1).fill('1970-01-01 00:00:00.000000') };
  return { kind: 'range', channels, boundaries: temporalBoundaries(key, String(low), String(high), channels) };
}

/** Rows each channel has in all (for progress and the ETA): one scan of the key's index. */
export async function countRows(connection: mysql.Connection, source: SyncSourceConfig, key: KeyColumn, split: ChannelSplit): Promise<number[]> {
  const keySql = quoteIdentifier(key.name);
  const cases = Array.from({ length: split.channels }, (_, channel) => `WHEN ${channelPredicate(split, keySql, key, channel)} THEN ${channel}`).join(' ');
  const [rows] = await connection.query<mysql.RowDataPacket[]>(
    `SELECT CASE ${cases} END AS channel, COUNT(*) AS n FROM ${quoteTable(source.table)}${source.where !== undefined ? ` WHERE (${source.where})` : ''} GROUP BY 1`,
  );
  const counts = new Array<number>(split.channels).fill(0);
  for (const row of rows) if (row.channel !== null) counts[Number(row.channel)] = Number(row.n);
  return counts;
}
