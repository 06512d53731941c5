// Reads one chunk of a table for the snapshot: the rows after the last key done, in key order, in a
// short transaction of its own, and then the binlog position that covers every change the read saw
// (the high watermark). No lock is taken and no transaction outlives one chunk.
//
// The table is read up to its last key as the first chunk's transaction sees it (`until`), never
// further: a row with a key past it was not there then, so its INSERT comes after the window's
// opening and the stream carries it. Without that bound a table that grows at its end (an
// AUTO_INCREMENT key) faster than the chunks read it would never be done.
//
// On MariaDB the transaction is started WITH CONSISTENT SNAPSHOT, which MariaDB makes consistent
// with its binlog: every transaction the binlog holds before the snapshot is visible to it. So a
// change the stream has already handed on is never missing from the rows read. MySQL makes no such
// promise (a transaction is in the binlog a moment before its rows are visible): there the read
// first waits until the server has committed the stream's GTID set at the window's opening
// (gtid-wait.ts), then starts its transaction.
import type mysql from 'mysql2/promise';
import type { CellValue, SourceColumn } from '../../core/change-event.ts';
import { SluiceError } from '../../core/errors.ts';
import { quoteTable } from '../../core/mysql-connect.ts';
import type { BinlogPosition } from '../binlog/position/binlog-position.ts';
import { readBinlogHead } from '../binlog/server/binlog-head.ts';
import { canonicalValue, exactTypeCast, selectExpression } from '../table/row-values.ts';
import { readTableShape } from '../table/table-shape.ts';
import { afterKeySql, atOrBeforeKeySql, keyTupleFromValues, orderBySql, readLastKey, type KeyTuple, type TableKey } from '../table/table-key.ts';
import { waitUntilVisible, type GtidWait } from './gtid-wait.ts';
import { keyPositions, rowKey } from './row-key.ts';

export interface Chunk {
  /** Source 'db.table'. */
  table: string;
  columns: SourceColumn[];
  rows: CellValue[][];
  /** Each row's key, as rowKey gives it (what the stream's changes are matched by). */
  keys: string[];
  /** The key of the last row: where the next chunk starts. */
  last: KeyTuple | undefined;
  /** The last key the table is read up to (undefined: it was empty). */
  until: KeyTuple | undefined;
  /** Fewer rows than asked for, or the rows reach `until`: nothing after this chunk. */
  end: boolean;
  /** What the rows take in memory, roughly: their values' lengths. */
  bytes: number;
  /** A binlog position at or after every change the rows show. */
  high: BinlogPosition;
}

/** Where a chunk starts and how far the table is read: both undefined for its first chunk. */
export interface ChunkRange {
  /** The key of the last row handed on. */
  after: KeyTuple | undefined;
  /** The last key to read up to; undefined: read it now, in the chunk's transaction. */
  until: KeyTuple | undefined;
}

/** `visible` (MySQL): the GTID set the rows read must show, waited for before the read. */
export async function readChunk(
  connection: mysql.Connection,
  isMariaDb: boolean,
  table: string,
  key: TableKey,
  range: ChunkRange,
  limit: number,
  visible?: GtidWait,
): Promise<Chunk> {
  if (visible) await waitUntilVisible(connection, visible);
  const shape = await readTableShape(connection, table);
  const nothing = async (until: KeyTuple | undefined): Promise<Chunk> => ({ table, columns: [], rows: [], keys: [], last: undefined, until, end: true, bytes: 0, high: await readHigh(connection, isMariaDb) });
  // Dropped since (its DROP TABLE comes through the stream as a truncate marker): nothing left to read.
  if (shape.tableType === undefined) return nothing(range.until);
  const columns = shape.columns;
  const positions = keyPositions(columns, key);
  const select = (until: KeyTuple): string =>
    `SELECT ${columns.map(selectExpression).join(', ')} FROM ${quoteTable(table)}` +
    ` WHERE ${range.after ? `(${afterKeySql(key, range.after)}) AND ` : ''}(${atOrBeforeKeySql(key, until)}) ORDER BY ${orderBySql(key)} LIMIT ${limit}`;
  let sql = '';
  let until = range.until;
  let raw: CellValue[][];
  try {
    await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
    // In the same transaction as the rows: every row past it is inserted after the window opened.
    until ??= await readLastKey(connection, table, key);
    if (until === undefined) raw = [];
    else {
      sql = select(until);
      const [result] = await connection.query<mysql.RowDataPacket[][]>({ sql, rowsAsArray: true, typeCast: exactTypeCast });
      raw = result as unknown as CellValue[][];
    }
    await connection.query('COMMIT');
  } catch (error) {
    await connection.query('ROLLBACK').catch(() => undefined);
    throw new SluiceError('SLUICE_SNAPSHOT', `the snapshot cannot read ${table}: ${(error as Error).message}${sql ? ` (in: ${sql})` : ''}`, { cause: error, retriable: true, context: { table } });
  }
  if (until === undefined) return nothing(undefined);
  const high = await readHigh(connection, isMariaDb);
  let bytes = 0;
  const rows = raw.map((row) =>
    columns.map((column, index) => {
      const value = canonicalValue(column, row[index] ?? null);
      bytes += value === null ? 1 : value.length;
      return value;
    }),
  );
  const lastRow = rows[rows.length - 1];
  const last = lastRow ? keyTupleFromValues(key, positions.map((index) => lastRow[index]!)) : undefined;
  return {
    table,
    columns: columns.map(({ name, mysqlType, charset }, index) => ({
      name,
      mysqlType,
      charset,
      ...(key.index === 'PRIMARY' && positions.includes(index) ? { primaryKey: true as const } : {}),
    })),
    rows,
    keys: rows.map((row) => rowKey(row, positions)),
    last,
    until,
    // A last row equal to `until` ends the table one chunk early; otherwise the next chunk is empty.
    end: rows.length < limit || (last !== undefined && last.every((value, index) => value === until[index])),
    bytes,
    high,
  };
}

/** The binlog's end now: file and offset, and the GTID position, each read after the rows. */
async function readHigh(connection: mysql.Connection, isMariaDb: boolean): Promise<BinlogPosition> {
  const head = await readBinlogHead(connection);
  if (!head) throw new SluiceError('SLUICE_SNAPSHOT', 'the server reports no binlog position (SHOW BINARY LOG STATUS): the snapshot needs log_bin on');
  const [rows] = await connection.query<mysql.RowDataPacket[]>(isMariaDb ? 'SELECT @@gtid_binlog_pos AS gtid' : 'SELECT @@gtid_executed AS gtid');
  const gtid = rows[0]?.gtid;
  return { file: head.file, offset: head.offset, ...(typeof gtid === 'string' && gtid !== '' ? { gtidSet: gtid.replace(/\s+/g, '') } : {}) };
}

