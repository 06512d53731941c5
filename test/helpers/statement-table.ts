// The crash test's statement-format sessions (binlog_format=STATEMENT, whose DML reaches the binlog
// as SQL text, not rows). Now and then such a session writes a table sluice does not capture: that
// must stop nothing. At one chosen moment it writes a captured side table: from that statement on the
// table is stopped (SLUICE_BINLOG_STATEMENT_DML) and holds exactly its changes before it, across
// every kill and restart, while the other tables go on exact.
import type mysql from 'mysql2/promise';
import { prng } from './change-generator.ts';
import type { SourceServer } from './source-server.ts';
import type { StoppingTableChange } from './stopping-table.ts';

const STATEMENT_VERBS = ['INSERT', 'UPDATE', 'DELETE'] as const;

export class StatementTable {
  /**
   * The table's row-format changes before the statement, in order, each with the server's GTIDs up
   * to its transaction (the scenario writes one transaction at a time): its target holds those up
   * to the stopped entry's `since`.
   */
  readonly log: (StoppingTableChange & { head: string })[] = [];
  /** Row-format changes after the statement, which the stopped target must not hold. */
  changesAfter = 0;
  /** Statements on the uncaptured table. */
  uncapturedStatements = 0;
  /** The statement that stops the table, once written. */
  statement: string | undefined;
  private readonly random: () => number;
  private ids = 0;

  constructor(
    private readonly connection: mysql.Connection,
    /** Captured, routed to a target of its own. */
    readonly table: string,
    /** Matched by no include pattern. */
    readonly uncaptured: string,
    seed: number,
    private readonly source: Pick<SourceServer, 'head' | 'covers'>,
  ) {
    this.random = prng(seed + 11);
  }

  static async create(connection: mysql.Connection, table: string, uncaptured: string): Promise<void> {
    for (const name of [table, uncaptured]) {
      await connection.query(`CREATE DATABASE IF NOT EXISTS \`${name.split('.')[0]}\``);
      await connection.query(`CREATE TABLE ${name} (id INT PRIMARY KEY, d VARCHAR(40))`);
    }
  }

  /** One autocommitted insert or update of the captured table, in ROW format. */
  async change(): Promise<void> {
    const update = this.ids > 0 && this.random() < 0.4;
    const id = update ? 1 + Math.floor(this.random() * this.ids) : ++this.ids;
    const d = `v${Math.floor(this.random() * 1e9)}`;
    if (update) await this.connection.query(`UPDATE ${this.table} SET d = '${d}' WHERE id = ${id}`);
    else await this.connection.query(`INSERT INTO ${this.table} VALUES (${id}, '${d}')`);
    if (this.statement === undefined) this.log.push({ op: update ? 'update' : 'insert', id, d, head: await this.source.head() });
    else this.changesAfter++;
  }

  /** A statement-format INSERT, UPDATE or DELETE of the table sluice does not capture. */
  async uncapturedChange(): Promise<void> {
    const id = ++this.uncapturedStatements;
    const verb = STATEMENT_VERBS[id % STATEMENT_VERBS.length]!;
    await this.asStatement(
      verb === 'INSERT'
        ? `INSERT INTO ${this.uncaptured} VALUES (${id}, 'free')`
        : verb === 'UPDATE'
          ? `UPDATE ${this.uncaptured} SET d = 'freer' WHERE id = ${id - 1}`
          : `DELETE FROM ${this.uncaptured} WHERE id = ${id - 2}`,
    );
  }

  /** The statement-format change of the captured table: a random verb, on a row it holds. */
  async stop(): Promise<void> {
    const verb = STATEMENT_VERBS[Math.floor(this.random() * STATEMENT_VERBS.length)]!;
    const id = this.ids === 0 ? 1 : 1 + Math.floor(this.random() * this.ids);
    this.statement =
      verb === 'INSERT'
        ? `INSERT INTO ${this.table} VALUES (${++this.ids}, 'statement')`
        : verb === 'UPDATE'
          ? `UPDATE ${this.table} SET d = 'statement' WHERE id = ${id}`
          : `DELETE FROM ${this.table} WHERE id = ${id}`;
    await this.asStatement(this.statement);
  }

  /**
   * The changes a stopped table holds: those before the checkpoint it stopped at (`since`). The
   * changes between that checkpoint and the statement are read again on every restart, and given up
   * again at the statement: a table that stays stopped never takes them.
   */
  async changesBefore(since: { position: { gtidSet?: string } }): Promise<StoppingTableChange[]> {
    const held: StoppingTableChange[] = [];
    for (const change of this.log) if (await this.source.covers(since.position.gtidSet, change.head)) held.push(change);
    return held;
  }

  private async asStatement(statement: string): Promise<void> {
    await this.connection.query('SET SESSION binlog_format=STATEMENT');
    try {
      await this.connection.query(statement);
    } finally {
      await this.connection.query('SET SESSION binlog_format=ROW');
    }
  }
}
