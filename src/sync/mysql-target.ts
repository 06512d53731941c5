// A batch job into a MySQL table, transactionally: each channel writes through its own connection in
// one open transaction, and a checkpoint commits that transaction together with the channel's offset
// in `sluice_sync_state` (in the target's database). A crash rolls back the uncommitted rows and the
// offset alike, so a restarted job neither loses nor repeats a row. The target must therefore be
// transactional (InnoDB); that is checked before any row moves.
import mysql from 'mysql2/promise';
import type { CellValue } from '../core/change-event.ts';
import { SluiceError } from '../core/errors.ts';
import { isTransient } from '../core/transient.ts';
import { connectMysql, EXACT_VALUES, quoteIdentifier, quoteTable, useUtcSession, type MysqlServerOptions } from '../core/mysql-connect.ts';
import type { TableShape } from '../sources/table/table-shape.ts';
import type { ChannelWriter, SyncTarget } from './sync-target.ts';
import { upgradeSyncState, type ChannelState, type SyncState } from './sync-state.ts';

export const STATE_TABLE = 'sluice_sync_state';

/**
 * Why the errors that pass (isTransient) happen, for the message. Each ends (or rolls back) the channel's transaction, so the copy goes on
 * from the last checkpoint rather than from the statement. A lock wait is what a restart after a
 * kill -9 meets: the killed run's open transactions hold the same keys until the server has rolled
 * them back, which for a large one takes a while.
 */
const PASSING_ERRORS = new Map<string, string>([
  ['ER_LOCK_WAIT_TIMEOUT', 'another transaction holds these rows, such as one of a killed earlier run that the server is still rolling back'],
  ['ER_LOCK_DEADLOCK', 'the server chose this transaction to end a deadlock'],
  ['ER_SERVER_SHUTDOWN', 'the server is shutting down'],
]);

const JOB_ROW = -1;
// One INSERT carries this many rows or bytes, whichever comes first: few round trips, small packets.
const BATCH_ROWS = 1000;
const BATCH_BYTES = 1 << 20;

export interface MysqlTargetOptions extends MysqlServerOptions {
  /** The job's name: its key in the state table. */
  job: string;
  table: string;
  mode: 'append' | 'overwrite';
}

// Strict, so a value that does not fit fails instead of being cut; without NO_ZERO_DATE, so zero
// dates copy; NO_AUTO_VALUE_ON_ZERO, so a key of 0 stays 0 instead of drawing an auto-increment value.
const SESSION_SQL_MODE = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO';

async function openSession(options: MysqlTargetOptions): Promise<mysql.Connection> {
  const connection = await connectMysql(options, 'writer', EXACT_VALUES);
  await useUtcSession(connection);
  await connection.query(`SET SESSION sql_mode = '${SESSION_SQL_MODE}'`);
  return connection;
}

class ChannelTransaction implements ChannelWriter {
  private batch: string[] = [];
  private batchBytes = 0;
  private open = false;
  /**
   * A statement of the open transaction failed. MySQL rolls back only that statement on a lock wait
   * timeout (innodb_rollback_on_timeout is off by default), so the transaction would go on without
   * its rows while the channel's offset is already past them: it must never commit.
   */
  private failed: unknown;

  constructor(
    private readonly target: MysqlTarget,
    private readonly connection: mysql.Connection,
    private readonly job: string,
    private readonly channel: number,
  ) {}

  async write(row: readonly CellValue[]): Promise<void> {
    if (this.failed !== undefined) throw this.failed;
    const tuple = this.target.tupleOf(row);
    this.batch.push(tuple);
    this.batchBytes += tuple.length;
    if (this.batch.length >= BATCH_ROWS || this.batchBytes >= BATCH_BYTES) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    if (!this.open) {
      await this.statement('START TRANSACTION');
      this.open = true;
    }
    const sql = this.target.insertPrefix + this.batch.join(',');
    this.batch = [];
    this.batchBytes = 0;
    await this.statement(sql);
  }

  private async statement(sql: string): Promise<void> {
    try {
      await this.target.run(this.connection, sql);
    } catch (error) {
      this.failed ??= error;
      throw error;
    }
  }

  /** The rows since the last commit and the channel's new offset, in one transaction. */
  async commitChannel(state: ChannelState): Promise<void> {
    if (this.failed !== undefined) throw this.failed;
    await this.flush();
    if (!this.open) await this.statement('START TRANSACTION');
    await this.statement(`UPDATE ${this.target.stateTable} SET state = ${mysql.escape(JSON.stringify(state))} WHERE job = ${mysql.escape(this.job)} AND channel = ${this.channel}`);
    await this.statement('COMMIT');
    this.open = false;
  }
}

export class MysqlTarget implements SyncTarget {
  readonly description: string;
  readonly stateTable: string;
  insertPrefix = '';
  private columns: TableShape['columns'] = [];
  private control: mysql.Connection | undefined;
  private readonly channels = new Map<number, ChannelTransaction>();
  private readonly sessions: mysql.Connection[] = [];

  constructor(private readonly options: MysqlTargetOptions) {
    this.description = `mysql://${options.host}:${options.port}/${options.table}`;
    const database = options.table.slice(0, options.table.indexOf('.'));
    this.stateTable = `${quoteIdentifier(database)}.${quoteIdentifier(STATE_TABLE)}`;
  }

  private async controlConnection(): Promise<mysql.Connection> {
    this.control ??= await openSession(this.options);
    return this.control;
  }

  async check(columns: TableShape['columns']): Promise<void> {
    const connection = await this.controlConnection();
    const [schema, table] = [this.options.table.slice(0, this.options.table.indexOf('.')), this.options.table.slice(this.options.table.indexOf('.') + 1)];
    const [tables] = await connection.query<mysql.RowDataPacket[]>(
      `SELECT t.ENGINE AS engine, e.TRANSACTIONS AS transactions FROM information_schema.TABLES t
         LEFT JOIN information_schema.ENGINES e ON e.ENGINE = t.ENGINE
        WHERE t.TABLE_SCHEMA = ? AND t.TABLE_NAME = ? AND t.TABLE_TYPE = 'BASE TABLE'`,
      [schema, table],
    );
    const found = tables[0];
    if (!found) {
      throw new SluiceError('SLUICE_SYNC_PRECONDITION', `writer.table: ${this.options.table} does not exist on ${this.options.host}:${this.options.port}; create it first (sluice does not guess its keys and indexes)`, {
        context: { configKey: 'writer.table', table: this.options.table },
      });
    }
    if (found.transactions !== 'YES') {
      throw new SluiceError(
        'SLUICE_SYNC_PRECONDITION',
        `writer.table: ${this.options.table} uses the ${String(found.engine)} engine, which has no transactions, so a crash could leave rows without their offset (duplicates on restart); convert it (ALTER TABLE ${this.options.table} ENGINE=InnoDB)`,
        { context: { configKey: 'writer.table', table: this.options.table } },
      );
    }
    const [targetColumns] = await connection.query<mysql.RowDataPacket[]>(
      'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
      [schema, table],
    );
    const names = new Set(targetColumns.map((row) => String(row.name).toLowerCase()));
    const missing = columns.filter((column) => !names.has(column.name.toLowerCase())).map((column) => column.name);
    if (missing.length > 0) {
      throw new SluiceError('SLUICE_SYNC_PRECONDITION', `writer.table: ${this.options.table} lacks the column${missing.length === 1 ? '' : 's'} ${missing.join(', ')} that the job copies`, {
        context: { configKey: 'writer.table', table: this.options.table },
      });
    }
    this.columns = columns;
    this.insertPrefix = `INSERT INTO ${quoteTable(this.options.table)} (${columns.map((column) => quoteIdentifier(column.name)).join(', ')}) VALUES `;
    try {
      await connection.query(
        `CREATE TABLE IF NOT EXISTS ${this.stateTable} (
           job VARCHAR(191) NOT NULL, channel INT NOT NULL, state LONGTEXT NOT NULL,
           PRIMARY KEY (job, channel)) ENGINE=InnoDB`,
      );
    } catch (error) {
      throw new SluiceError(
        'SLUICE_SYNC_PRECONDITION',
        `writer: cannot create the offsets table ${this.stateTable} beside ${this.options.table} on ${this.options.host}:${this.options.port}: ${(error as Error).message}. ` +
          `The writer's user needs CREATE, SELECT, INSERT, UPDATE and DELETE on that database (the offsets commit in the same transaction as the rows).`,
        { cause: error, context: { configKey: 'writer.user', table: this.options.table } },
      );
    }
  }

  async recover(): Promise<SyncState | undefined> {
    const connection = await this.controlConnection();
    const [rows] = await connection.query<mysql.RowDataPacket[]>(`SELECT channel, state FROM ${this.stateTable} WHERE job = ? ORDER BY channel`, [this.options.job]);
    const jobRow = rows.find((row) => Number(row.channel) === JOB_ROW);
    if (!jobRow) return undefined;
    const state = JSON.parse(String(jobRow.state)) as { channels: unknown[] };
    for (const row of rows) {
      const channel = Number(row.channel);
      if (channel !== JOB_ROW) state.channels[channel] = JSON.parse(String(row.state)) as unknown;
    }
    return upgradeSyncState(state, `${this.stateTable} (job '${this.options.job}')`);
  }

  async start(state: SyncState, fresh: boolean): Promise<void> {
    if (fresh) {
      const connection = await this.controlConnection();
      // The emptying and the new starting point commit together: a crash in between leaves the old run's state.
      await connection.query('START TRANSACTION');
      if (this.options.mode === 'overwrite') await this.run(connection, `DELETE FROM ${quoteTable(this.options.table)}`);
      await connection.query(`DELETE FROM ${this.stateTable} WHERE job = ?`, [state.job]);
      const values = [[state.job, JOB_ROW, JSON.stringify({ ...state, channels: [] })], ...state.channels.map((channel, index) => [state.job, index, JSON.stringify(channel)])];
      await connection.query(`INSERT INTO ${this.stateTable} (job, channel, state) VALUES ?`, [values]);
      await connection.query('COMMIT');
    }
  }

  writer(channel: number): ChannelWriter {
    const writer = this.channels.get(channel);
    if (!writer) throw new Error(`channel ${channel} has no session; call openChannels() first`);
    return writer;
  }

  /** One session per channel, opened before the channels start. */
  async openChannels(count: number): Promise<void> {
    for (let channel = 0; channel < count; channel++) {
      const session = await openSession(this.options);
      this.sessions.push(session);
      this.channels.set(channel, new ChannelTransaction(this, session, this.options.job, channel));
    }
  }

  async checkpoint(state: SyncState): Promise<void> {
    // The channels commit themselves at the barrier and when they finish; committing again costs one
    // UPDATE each and keeps a checkpoint whole on its own: the job's row must never run ahead of a channel's.
    await Promise.all([...this.channels].map(([channel, writer]) => writer.commitChannel(state.channels[channel]!)));
    const connection = await this.controlConnection();
    await connection.query(`UPDATE ${this.stateTable} SET state = ? WHERE job = ? AND channel = ?`, [JSON.stringify({ ...state, channels: [] }), state.job, JOB_ROW]);
  }

  async close(): Promise<void> {
    // Ending a session with its transaction open rolls it back: exactly what a crash would do.
    for (const session of this.sessions) await session.end().catch(() => undefined);
    await this.control?.end().catch(() => undefined);
  }

  tupleOf(row: readonly CellValue[]): string {
    let tuple = '(';
    for (let index = 0; index < row.length; index++) {
      if (index > 0) tuple += ',';
      const value = row[index];
      if (value === null || value === undefined) tuple += 'NULL';
      else if (typeof value !== 'string') tuple += `X'${value.toString('hex')}'`;
      // BIT comes as the integer its bits spell; quoted, MySQL would store the digits' bytes instead.
      else if (this.columns[index]!.dataType === 'bit') tuple += /^\d+$/.test(value) ? value : mysql.escape(value);
      else tuple += mysql.escape(value);
    }
    return tuple + ')';
  }

  async run(connection: mysql.Connection, sql: string): Promise<void> {
    try {
      await connection.query(sql);
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      const passing = PASSING_ERRORS.get(code);
      throw new SluiceError(
        'SLUICE_SYNC_TARGET',
        `writing ${this.options.table} on ${this.options.host}:${this.options.port} failed: ${(error as Error).message}` +
          (passing ? ` (${passing}; the copy restarts from its last checkpoint)` : ''),
        { cause: error, retriable: isTransient(error), context: { table: this.options.table, server: `${this.options.host}:${this.options.port}`, mysqlCode: code } },
      );
    }
  }

}
