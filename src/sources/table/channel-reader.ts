// One channel of a batch copy: reads its share of the table in key order, a page at a time, from just
// after the last key it copied. Memory is one page.
import type mysql from 'mysql2/promise';
import type { CellValue } from '../../core/change-event.ts';
import { SluiceError } from '../../core/errors.ts';
import { channelPredicate, keyLiteral, type ChannelSplit } from './key-split.ts';
import { quoteIdentifier, quoteTable } from '../../core/mysql-connect.ts';
import { canonicalValue, exactTypeCast, selectExpression } from './row-values.ts';
import type { KeyColumn, TableShape } from './table-shape.ts';

export interface ChannelReaderOptions {
  table: string;
  shape: TableShape;
  key: KeyColumn;
  /** The copied columns, in output order. */
  columns: TableShape['columns'];
  split: ChannelSplit;
  channel: number;
  where: string | undefined;
  pageRows: number;
}

export interface Page {
  rows: CellValue[][];
  /** The key of the page's last row: the channel's offset once these rows are written. */
  lastKey: string;
}

export class ChannelReader {
  private readonly selectList: string;
  private readonly filter: string;
  private readonly keySql: string;

  constructor(
    private readonly connection: mysql.Connection,
    private readonly options: ChannelReaderOptions,
  ) {
    this.keySql = quoteIdentifier(options.key.name);
    // The key rides along as the last field, whether it is copied or not: it is the offset.
    this.selectList = [...options.columns.map(selectExpression), `${this.keySql}`].join(', ');
    const conditions = [channelPredicate(options.split, this.keySql, options.key, options.channel)];
    if (options.where !== undefined) conditions.push(`(${options.where})`);
    this.filter = conditions.join(' AND ');
  }

  /** The next page after `offset` (undefined: from the start), or undefined when the channel is done. */
  async nextPage(offset: string | undefined): Promise<Page | undefined> {
    const after = offset === undefined ? '' : ` AND ${this.keySql} > ${keyLiteral(this.options.key, offset)}`;
    const rows = await this.select(`WHERE ${this.filter}${after} ORDER BY ${this.keySql} LIMIT ${this.options.pageRows}`);
    if (rows.length === 0) return undefined;
    let lastKey = rows[rows.length - 1]!.key;
    if (rows.length === this.options.pageRows && !this.options.key.unique) {
      // Rows that share the last key may go on past the LIMIT; resuming with `key > lastKey` would
      // skip them. So the page ends with the whole group of its last key, read on its own.
      while (rows.length > 0 && rows[rows.length - 1]!.key === lastKey) rows.pop();
      const group = await this.select(`WHERE ${this.filter} AND ${this.keySql} = ${keyLiteral(this.options.key, lastKey)}`);
      rows.push(...group);
      lastKey = rows[rows.length - 1]!.key;
    }
    return { rows: rows.map((row) => row.values), lastKey };
  }

  private async select(tail: string): Promise<{ values: CellValue[]; key: string }[]> {
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
      const key = row[columns.length];
      return { values, key: typeof key === 'string' ? key : String(key) };
    });
  }
}
