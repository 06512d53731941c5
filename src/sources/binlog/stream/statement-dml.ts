// What a Query event of the binlog is, for the stream: a transaction's start or end, a DDL statement
// (followed by the schema tracker), or a change of rows written as a statement. A session with
// binlog_format=STATEMENT (or MIXED, whose plain INSERT, UPDATE and DELETE MariaDB logs as statements)
// puts its DML in Query events: sluice cannot turn a statement into rows, so the stream must know
// which tables such a statement writes, to stop them rather than step over their changes.
// Only the part of the grammar that names the written tables is read; anything else that writes rows
// in a way this module cannot tell (a stored function called from SELECT or DO, a CALL, a statement
// it cannot read) is 'dml-unknown', and the stream stops instead of guessing.
import type { TableRef } from '../schema/ddl-statement.ts';
import { tokenize, type Token } from '../schema/sql-lexer.ts';

export type StatementKind =
  /** BEGIN, COMMIT, ROLLBACK, SAVEPOINT, XA ...: no rows, no columns. */
  | { kind: 'transaction-control' }
  /**
   * CREATE, ALTER, DROP, RENAME, TRUNCATE: handled as DDL (schema tracking). `rowsInto`: a CREATE
   * TABLE ... SELECT logged as it was typed (binlog_format=STATEMENT); under ROW the server logs the
   * bare CREATE TABLE, then the rows.
   */
  | { kind: 'ddl'; rowsInto?: TableRef }
  /** Rows of these tables (and of no other) may be changed by the statement. */
  | { kind: 'dml'; verb: string; tables: TableRef[] }
  /** The statement may change rows, and which tables cannot be told. */
  | { kind: 'dml-unknown'; verb: string; reason: string }
  /** Anything else (SET, GRANT, FLUSH, ANALYZE ...): no rows. */
  | { kind: 'other' };

const TRANSACTION_CONTROL = new Set(['BEGIN', 'COMMIT', 'ROLLBACK', 'SAVEPOINT', 'RELEASE', 'XA', 'START']);
const DDL = new Set(['CREATE', 'ALTER', 'DROP', 'RENAME', 'TRUNCATE']);
// A SELECT or DO is logged only when a stored function it calls changed data; CALL and EXECUTE are
// logged as the statements they ran, but are refused here should a server log them as they are.
const ROUTINE_CALLS = new Set(['SELECT', 'DO', 'CALL', 'EXECUTE', 'WITH', 'VALUES', 'TABLE']);
const JOIN_WORDS = new Set(['JOIN', 'STRAIGHT_JOIN']);
/** Words that end a table reference list (UPDATE ... SET, DELETE ... WHERE). */
const REFERENCE_LIST_END = new Set(['SET', 'WHERE', 'ORDER', 'LIMIT', 'RETURNING']);

class Unreadable extends Error {}

/** Reads one statement of a Query event; `defaultSchema` is the event's default database. */
export function classifyStatement(statement: string, defaultSchema: string): StatementKind {
  const tokens = tokenize(statement);
  while (tokens.length > 0 && isSymbol(tokens.at(-1), ';')) tokens.pop();
  const first = tokens[0];
  if (!first) return { kind: 'other' };
  if (first.kind !== 'word') return { kind: 'dml-unknown', verb: first.text, reason: 'the statement does not start with a keyword' };
  const verb = first.upper;
  if (TRANSACTION_CONTROL.has(verb)) return { kind: 'transaction-control' };
  if (DDL.has(verb)) {
    if (verb !== 'CREATE') return { kind: 'ddl' };
    try {
      const rowsInto = new TableReader(tokens, defaultSchema).createdWithRows();
      return rowsInto ? { kind: 'ddl', rowsInto } : { kind: 'ddl' };
    } catch (error) {
      if (!(error instanceof Unreadable)) throw error;
      return { kind: 'ddl' };
    }
  }
  if (ROUTINE_CALLS.has(verb)) return { kind: 'dml-unknown', verb, reason: `a ${verb} in the binlog runs a stored routine whose writes are not in the statement` };
  if (verb !== 'INSERT' && verb !== 'REPLACE' && verb !== 'UPDATE' && verb !== 'DELETE' && verb !== 'LOAD') return { kind: 'other' };
  const reader = new TableReader(tokens, defaultSchema);
  try {
    const tables = reader.written(verb);
    if (tables === undefined) return { kind: 'other' };
    return { kind: 'dml', verb, tables: unique(tables) };
  } catch (error) {
    if (!(error instanceof Unreadable)) throw error;
    return { kind: 'dml-unknown', verb, reason: error.message };
  }
}

class TableReader {
  private position = 1;

  constructor(
    private readonly tokens: Token[],
    private readonly defaultSchema: string,
  ) {}

  /** The tables the statement writes; undefined when it writes none (LOAD INDEX INTO CACHE). */
  written(verb: string): TableRef[] | undefined {
    switch (verb) {
      case 'INSERT':
      case 'REPLACE':
        this.skipWords('LOW_PRIORITY', 'DELAYED', 'HIGH_PRIORITY', 'IGNORE');
        this.acceptWord('INTO');
        return [this.tableRef()];
      case 'LOAD': {
        if (!this.acceptWord('DATA') && !this.acceptWord('XML')) return undefined;
        // LOAD DATA ... INFILE 'file' [REPLACE | IGNORE] INTO TABLE t
        while (this.peek() && !(isWord(this.peek(), 'INTO') && isWord(this.peek(1), 'TABLE'))) this.position++;
        if (!this.peek()) throw new Unreadable('LOAD DATA without INTO TABLE');
        this.position += 2;
        return [this.tableRef()];
      }
      case 'UPDATE':
        this.skipWords('LOW_PRIORITY', 'IGNORE');
        // Every table of the reference list: a multi-table UPDATE may set columns of any of them.
        return this.referenceList();
      case 'DELETE': {
        this.skipWords('LOW_PRIORITY', 'QUICK', 'IGNORE');
        const fromFirst = this.acceptWord('FROM');
        const named = this.nameList();
        // DELETE [FROM] t1[.*], t2 FROM|USING refs: the named tables may be aliases of the
        // references, so every table of the references counts.
        if (this.acceptWord('FROM') || this.acceptWord('USING')) return this.referenceList();
        if (!fromFirst || named.length !== 1) throw new Unreadable('a DELETE without FROM or with several tables and no USING');
        return named;
      }
    }
    return undefined;
  }

  /** CREATE [OR REPLACE] TABLE [IF NOT EXISTS] t ... SELECT ...: t; undefined for any other CREATE. */
  createdWithRows(): TableRef | undefined {
    this.skipWords('OR', 'REPLACE');
    // Rows of temporary tables never reach the binlog as rows either.
    if (!this.acceptWord('TABLE')) return undefined;
    if (this.acceptWord('IF')) this.skipWords('NOT', 'EXISTS');
    const table = this.tableRef();
    return this.tokens.slice(this.position).some((token) => isWord(token, 'SELECT')) ? table : undefined;
  }

  /** t1 [AS] a1 {, | JOIN} t2 ... ON (...) ... up to SET/WHERE/...; derived tables are read for their own references too. */
  private referenceList(): TableRef[] {
    const tables: TableRef[] = [];
    let expectTable = true;
    for (;;) {
      const token = this.peek();
      if (!token) return tables;
      if (token.kind === 'word' && REFERENCE_LIST_END.has(token.upper) && !expectTable) return tables;
      if (expectTable) {
        if (isSymbol(token, '(')) {
          // A derived table is read, never written; a parenthesized join is not read here.
          if (!isWord(this.peek(1), 'SELECT') && !isWord(this.peek(1), 'WITH')) throw new Unreadable('a parenthesized join in the table references');
          this.skipGroup();
        } else {
          tables.push(this.tableRef());
        }
        expectTable = false;
        continue;
      }
      if (isSymbol(token, ',') || (token.kind === 'word' && JOIN_WORDS.has(token.upper))) {
        this.position++;
        expectTable = true;
        continue;
      }
      if (isWord(token, 'ON') || (isWord(token, 'USING') && isSymbol(this.peek(1), '('))) {
        this.position++;
        this.skipCondition();
        continue;
      }
      this.skipOne();
    }
  }

  /** ON <expression>: up to the next join, comma or end of the reference list at this depth. */
  private skipCondition(): void {
    for (;;) {
      const token = this.peek();
      if (!token || isSymbol(token, ',')) return;
      if (token.kind === 'word' && (JOIN_WORDS.has(token.upper) || REFERENCE_LIST_END.has(token.upper) || ['LEFT', 'RIGHT', 'INNER', 'CROSS', 'NATURAL', 'OUTER'].includes(token.upper))) return;
      this.skipOne();
    }
  }

  /** t1[.*], t2[.*] */
  private nameList(): TableRef[] {
    const names = [this.tableRef()];
    this.acceptWildcard();
    while (this.acceptSymbol(',')) {
      names.push(this.tableRef());
      this.acceptWildcard();
    }
    return names;
  }

  private acceptWildcard(): void {
    if (isSymbol(this.peek(), '.') && isSymbol(this.peek(1), '*')) this.position += 2;
  }

  private tableRef(): TableRef {
    const first = this.identifier();
    if (isSymbol(this.peek(), '.') && !isSymbol(this.peek(1), '*')) {
      this.position++;
      return { schema: first, table: this.identifier() };
    }
    if (this.defaultSchema === '') throw new Unreadable(`table ${first} is named without a database and the statement has no default database`);
    return { schema: this.defaultSchema, table: first };
  }

  private identifier(): string {
    const token = this.tokens[this.position++];
    if (token?.kind === 'word' || token?.kind === 'quoted') return token.text;
    throw new Unreadable(`expected a table name, found ${token ? `'${token.text}'` : 'the end of the statement'}`);
  }

  private peek(offset = 0): Token | undefined {
    return this.tokens[this.position + offset];
  }

  private acceptWord(upper: string): boolean {
    if (!isWord(this.peek(), upper)) return false;
    this.position++;
    return true;
  }

  private skipWords(...uppers: string[]): void {
    while (uppers.some((upper) => this.acceptWord(upper)));
  }

  private acceptSymbol(symbol: string): boolean {
    if (!isSymbol(this.peek(), symbol)) return false;
    this.position++;
    return true;
  }

  /** One token, or a whole parenthesized group. */
  private skipOne(): void {
    if (isSymbol(this.peek(), '(')) this.skipGroup();
    else this.position++;
  }

  private skipGroup(): void {
    let depth = 0;
    do {
      const token = this.tokens[this.position++];
      if (!token) throw new Unreadable('unbalanced parentheses');
      if (isSymbol(token, '(')) depth++;
      else if (isSymbol(token, ')')) depth--;
    } while (depth > 0);
  }
}

function unique(tables: TableRef[]): TableRef[] {
  const seen = new Map<string, TableRef>();
  for (const table of tables) seen.set(`${table.schema}.${table.table}`.toLowerCase(), table);
  return [...seen.values()];
}

function isWord(token: Token | undefined, upper: string): boolean {
  return token?.kind === 'word' && token.upper === upper;
}

function isSymbol(token: Token | undefined, symbol: string): boolean {
  return token?.kind === 'symbol' && token.text === symbol;
}
