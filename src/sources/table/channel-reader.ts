// One channel of a batch copy: reads its share of the table in key order, a page at a time, from just
// after the last key tuple it copied. Memory is one page.
import type mysql from 'mysql2/promise';
import type { CellValue } from '../../core/change-event.ts';
import { SluiceError } from '../../core/errors.ts';
import { channelPredicate, type ChannelSplit } from './key-split.ts';
import { quoteTable } from '../../core/mysql-connect.ts';
import { canonicalValue, exactTypeCast, selectExpression } from './row-values.ts';
import { afterKeySql, equalKeySql, keyColumnsSql, keyTupleFromValues, orderBySql, type KeyTuple, type TableKey } from './table-key.ts';
import type { TableShape } from './table-shape.ts';

export interface ChannelReaderOptions {
  table: string;
  key: TableKey;
  /** The copied columns, in output order. */
  columns: TableShape['columns'];
  split: ChannelSplit;
  channel: number;
  where: string | undefined;
  pageRows: number;
}

export interface Page {
  rows: CellValue[][];
  /** The key tuple of the page's last row: the channel's offset once these rows are written. */
  lastKey: KeyTuple;
}

export class ChannelReader {
  private readonly selectList: string;
  private readonly filter: string;
  private readonly orderBy: string;

  constructor(
    private readonly connection: mysql.Connection,
    private readonly options: ChannelReaderOptions,
  ) {
    // The key columns ride along as the last fields, whether they are copied or not: they are the offset.
    this.selectList = [...options.columns.map(selectExpression), keyColumnsSql(options.key)].join(', ');
    const conditions = [`(${channelPredicate(options.split, options.key, options.channel)})`];
    if (options.where !== undefined) conditions.push(`(${options.where})`);
    this.filter = conditions.join(' AND ');
    this.orderBy = orderBySql(options.key);
  }

  /** The next page after `offset` (undefined: from the start), or undefined when the channel is done. */
  async nextPage(offset: KeyTuple | undefined): Promise<Page | undefined> {
    const key = this.options.key;
    const after = offset === undefined ? '' : ` AND (${afterKeySql(key, offset)})`;
    const rows = await this.select(`WHERE ${this.filter}${after} ORDER BY ${this.orderBy} LIMIT ${this.options.pageRows}`);
    if (rows.length === 0) return undefined;
    let lastKey = rows[rows.length - 1]!.key;
    if (rows.length === this.options.pageRows && !key.unique) {
      // Rows that share the last key may go on past the LIMIT; resuming after it would skip them. So
      // the page ends with the whole group of its last key, read on its own. (Only a requested key
      // of a table without a primary key is not unique.)
      // Equal as the server compares ('a' and 'A ' under a _ci collation), which is how the group
      // is read: the page's rows equal to its last key are a suffix, and each is in the group.
      const group = await this.select(`WHERE ${this.filter} AND ${equalKeySql(key, lastKey)}`);
      const inGroup = new Set(group.map((row) => JSON.stringify(row.key)));
      while (rows.length > 0 && inGroup.has(JSON.stringify(rows[rows.length - 1]!.key))) rows.pop();
      rows.push(...group);
      lastKey = rows[rows.length - 1]!.key;
    }
    return { rows: rows.map((row) => row.values), lastKey };
  }

  private async select(tail: string): Promise<{ values: CellValue[]; key: KeyTuple }[]> {
    const sql = `SELECT ${this.selectList} FROM ${quoteTable(this.options.table)} ${tail}`;
    let raw: CellValue[][];
    try {
      const [result] = await this.connection.query<mysql.RowDataPacket[][]>({ sql, rowsAsArray: true, typeCast: exactTypeCast });
      raw = result as unknown as CellValue[][];
    } catch (error) {
      throw new SluiceError('SLUICE_SYNC_SOURCE', `channel ${this.options.channel} cannot read ${this.options.table}: ${(error as Error).message} (in: ${sql})`, {
        cause: error,
        retriable: true,
        context: { table: this.options.table, channel: this.options.channel },
      });
    }
    const columns = this.options.columns;
    return raw.map((row) => {
      const values = new Array<CellValue>(columns.length);
      for (let index = 0; index < columns.length; index++) values[index] = canonicalValue(columns[index]!, row[index] ?? null);
      return { values, key: keyTupleFromValues(this.options.key, row.slice(columns.length)) };
    });
  }
}
