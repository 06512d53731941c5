// What a DDL statement from the binlog does to the columns of tables: the part of MySQL's and
// MariaDB's CREATE / ALTER / RENAME / DROP TABLE grammar that decides column names, their order,
// ENUM/SET members and (for servers whose binlog carries no column metadata at all) types and
// character sets. Everything else a statement may say (indexes, engines, partitions, defaults,
// comments) leaves the columns as they were. A clause that could change columns in a way this
// module does not model makes the statement 'unknown' for its tables: the schema tracker then
// asks the server, or stops with the statement named, instead of guessing.
import { tokenize, type Token } from './sql-lexer.ts';
import { isTextType } from './table-columns.ts';

export interface TableRef {
  schema: string;
  table: string;
}

/** A column as a statement defines it. `charset` is null when the statement names none (a text column then takes the table's default). */
export interface ColumnDefinition {
  name: string;
  type: string;
  charset: string | null;
  members?: string[];
  text: boolean;
}

export type Placement = { first: true } | { after: string };

export type AlterAction =
  | { kind: 'add'; columns: ColumnDefinition[]; placement?: Placement; ifNotExists: boolean }
  | { kind: 'drop'; name: string; ifExists: boolean }
  /** CHANGE old new ..., and MODIFY (from = the column's own name). */
  | { kind: 'change'; from: string; column: ColumnDefinition; placement?: Placement; ifExists: boolean }
  | { kind: 'rename-column'; from: string; to: string; ifExists: boolean }
  | { kind: 'default-charset'; charset: string }
  | { kind: 'convert-charset'; charset: string };

export type DdlEffect =
  | { kind: 'none' }
  | { kind: 'create'; table: TableRef; columns: ColumnDefinition[]; defaultCharset?: string; ifNotExists: boolean }
  | { kind: 'create-like'; table: TableRef; like: TableRef; ifNotExists: boolean }
  /** `actions` is empty when the statement changes no column (ADD INDEX, ENGINE=...). */
  | { kind: 'alter'; table: TableRef; actions: AlterAction[]; renameTo?: TableRef }
  | { kind: 'rename'; pairs: { from: TableRef; to: TableRef }[] }
  | { kind: 'drop'; tables: TableRef[] }
  | { kind: 'drop-schema'; schema: string }
  /** The statement may change the columns of `tables` in a way sluice does not model. */
  | { kind: 'unknown'; tables: TableRef[]; reason: string };

class NotModelled extends Error {}

/** Reads one statement; `defaultSchema` is the session's database when the server logged it (the binlog event's schema). */
export function interpretDdl(statement: string, defaultSchema: string): DdlEffect {
  const parser = new DdlParser(tokenize(statement), defaultSchema);
  try {
    return parser.statement();
  } catch (error) {
    if (!(error instanceof NotModelled)) throw error;
    return { kind: 'unknown', tables: parser.mentioned, reason: error.message };
  }
}

/**
 * The table a `TRUNCATE [TABLE] t` statement empties, or undefined for any other statement.
 * TRUNCATE changes no column, so interpretDdl has no effect for it. Throws when the statement is a
 * TRUNCATE whose table name cannot be read.
 */
export function truncatedTable(statement: string, defaultSchema: string): TableRef | undefined {
  const parser = new DdlParser(tokenize(statement), defaultSchema);
  try {
    return parser.truncate();
  } catch (error) {
    if (!(error instanceof NotModelled)) throw error;
    throw new Error(`a TRUNCATE statement whose table cannot be read: ${error.message}`);
  }
}

/** The tables whose columns the effect may change (renames count both names). */
export function tablesChanged(effect: DdlEffect): TableRef[] {
  switch (effect.kind) {
    case 'none':
    case 'drop-schema':
      return [];
    case 'create':
    case 'create-like':
      return [effect.table];
    case 'alter':
      return effect.actions.length === 0 && !effect.renameTo ? [] : [effect.table, ...(effect.renameTo ? [effect.renameTo] : [])];
    case 'rename':
      return effect.pairs.flatMap((pair) => [pair.from, pair.to]);
    case 'drop':
    case 'unknown':
      return effect.tables;
  }
}

/** Whether the effect may change the columns of schema.table. */
export function changesTable(effect: DdlEffect, schema: string, table: string): boolean {
  const wanted = `${schema}.${table}`.toLowerCase();
  if (effect.kind === 'drop-schema') return effect.schema.toLowerCase() === schema.toLowerCase();
  return tablesChanged(effect).some((ref) => `${ref.schema}.${ref.table}`.toLowerCase() === wanted);
}

// Specifications of ALTER TABLE (and table options of CREATE TABLE) that leave every column as it is.
const NEUTRAL_ALTER_WORDS = new Set([
  'ENGINE', 'AUTO_INCREMENT', 'COMMENT', 'ROW_FORMAT', 'ALGORITHM', 'LOCK', 'FORCE', 'ORDER', 'ENABLE', 'DISABLE',
  'DISCARD', 'IMPORT', 'KEY_BLOCK_SIZE', 'STATS_AUTO_RECALC', 'STATS_PERSISTENT', 'STATS_SAMPLE_PAGES', 'PAGE_CHECKSUM',
  'PAGE_COMPRESSED', 'PAGE_COMPRESSION_LEVEL', 'CHECKSUM', 'TABLE_CHECKSUM', 'DELAY_KEY_WRITE', 'PACK_KEYS', 'MAX_ROWS',
  'MIN_ROWS', 'AVG_ROW_LENGTH', 'INSERT_METHOD', 'UNION', 'TRANSACTIONAL', 'ENCRYPTED', 'ENCRYPTION', 'ENCRYPTION_KEY_ID',
  'IETF_QUOTES', 'WITH', 'WITHOUT', 'PARTITION', 'REMOVE', 'COALESCE', 'REORGANIZE', 'EXCHANGE', 'ANALYZE', 'CHECK',
  'OPTIMIZE', 'REBUILD', 'REPAIR', 'TRUNCATE', 'DATA', 'INDEX', 'TABLESPACE', 'STORAGE', 'UPGRADE', 'COMPRESSION',
  'CONNECTION', 'PASSWORD', 'SECONDARY_ENGINE', 'AUTOEXTEND_SIZE', 'CONVERT_PARTITION', 'CONVERT',
]);
const KEY_WORDS = new Set(['INDEX', 'KEY', 'FULLTEXT', 'SPATIAL', 'PRIMARY', 'UNIQUE', 'FOREIGN', 'CONSTRAINT', 'CHECK', 'PARTITION', 'PERIOD']);

const TYPE_ALIASES: Record<string, string> = {
  INTEGER: 'int',
  INT1: 'tinyint',
  INT2: 'smallint',
  INT3: 'mediumint',
  MIDDLEINT: 'mediumint',
  INT4: 'int',
  INT8: 'bigint',
  DEC: 'decimal',
  NUMERIC: 'decimal',
  FIXED: 'decimal',
  REAL: 'double',
  FLOAT8: 'double',
  FLOAT4: 'float',
  CHARACTER: 'char',
  NCHAR: 'char',
  NVARCHAR: 'varchar',
};

class DdlParser {
  private position = 0;
  /** Tables named so far, for the 'unknown' answer when the rest cannot be modelled. */
  readonly mentioned: TableRef[] = [];

  constructor(
    private readonly tokens: Token[],
    private readonly defaultSchema: string,
  ) {
    while (this.tokens.length > 0 && isSymbol(this.tokens.at(-1), ';')) this.tokens.pop();
  }

  statement(): DdlEffect {
    if (this.acceptWord('CREATE')) return this.create();
    if (this.acceptWord('ALTER')) return this.alter();
    if (this.acceptWord('DROP')) return this.drop();
    if (this.acceptWord('RENAME')) return this.rename();
    return { kind: 'none' };
  }

  /** TRUNCATE [TABLE] t [WAIT n | NOWAIT]: the table, or undefined when the statement is no TRUNCATE. */
  truncate(): TableRef | undefined {
    if (!this.acceptWord('TRUNCATE')) return undefined;
    this.acceptWord('TABLE');
    return this.tableRef();
  }

  // ---- statements ------------------------------------------------------------------------------

  private create(): DdlEffect {
    this.acceptWords('OR', 'REPLACE');
    // Rows of temporary tables never reach a row-based binlog.
    if (this.acceptWord('TEMPORARY')) return { kind: 'none' };
    if (!this.acceptWord('TABLE')) return { kind: 'none' };
    const ifNotExists = this.acceptWords('IF', 'NOT', 'EXISTS');
    const table = this.tableRef();
    if (this.acceptWord('LIKE')) return { kind: 'create-like', table, like: this.tableRef(), ifNotExists };
    if (isSymbol(this.peek(), '(') && isWord(this.peek(1), 'LIKE')) {
      this.position += 2;
      const like = this.tableRef();
      return { kind: 'create-like', table, like, ifNotExists };
    }
    if (!this.acceptSymbol('(')) throw new NotModelled('CREATE TABLE without a column list (CREATE TABLE ... SELECT)');
    const columns = this.columnList();
    return { kind: 'create', table, columns, ifNotExists, ...this.tableOptions() };
  }

  /** The items of a column list after its '(' up to and with its ')': the columns, keys and constraints skipped. */
  private columnList(): ColumnDefinition[] {
    const columns: ColumnDefinition[] = [];
    for (;;) {
      if (this.atKeyWord()) this.skipItem();
      else columns.push(this.columnDefinition(false).column);
      if (this.acceptSymbol(',')) continue;
      this.expectSymbol(')');
      return columns;
    }
  }

  /** Whether the next item is an index, key, constraint, partition or period rather than a column. */
  private atKeyWord(): boolean {
    const next = this.peek();
    return next?.kind === 'word' && KEY_WORDS.has(next.upper);
  }

  /**
   * After ADD or DROP: SYSTEM VERSIONING is not modelled (it adds or removes hidden columns); an
   * index, key or constraint is skipped, and true says so; otherwise an optional COLUMN is read.
   */
  private skipsNonColumn(verb: 'ADD' | 'DROP'): boolean {
    if (this.acceptWords('SYSTEM', 'VERSIONING')) throw new NotModelled(`${verb} SYSTEM VERSIONING ${verb === 'ADD' ? 'adds' : 'removes'} hidden columns`);
    if (this.atKeyWord()) {
      this.skipItem();
      return true;
    }
    this.acceptWord('COLUMN');
    return false;
  }

  private tableOptions(): { defaultCharset?: string } {
    let defaultCharset: string | undefined;
    while (this.peek()) {
      const token = this.peek()!;
      if (token.kind === 'word') {
        if (token.upper === 'SELECT' || token.upper === 'AS' || token.upper === 'IGNORE' || (token.upper === 'REPLACE' && !isSymbol(this.peek(1), '='))) {
          throw new NotModelled('CREATE TABLE ... SELECT adds the columns of a query');
        }
        if (token.upper === 'WITH' && isWord(this.peek(1), 'SYSTEM')) throw new NotModelled('system versioning adds hidden columns');
        const charset = this.charsetClause();
        if (charset !== undefined) {
          defaultCharset = charset;
          continue;
        }
      }
      this.skipOne();
    }
    return defaultCharset === undefined ? {} : { defaultCharset };
  }

  private alter(): DdlEffect {
    this.acceptWord('ONLINE');
    this.acceptWord('IGNORE');
    if (!this.acceptWord('TABLE')) return { kind: 'none' };
    this.acceptWords('IF', 'EXISTS');
    const table = this.tableRef();
    if (this.acceptWord('WAIT')) this.skipOne();
    this.acceptWord('NOWAIT');
    const actions: AlterAction[] = [];
    let renameTo: TableRef | undefined;
    // Table options may follow one another without commas; each specification consumes at least
    // one token or throws, so the loop ends.
    while (this.peek()) {
      const renamed = this.alterSpecification(actions);
      if (renamed) renameTo = renamed;
      this.acceptSymbol(',');
    }
    return { kind: 'alter', table, actions, ...(renameTo ? { renameTo } : {}) };
  }

  /** One ALTER TABLE specification; returns the new name of a RENAME [TO] table. */
  private alterSpecification(actions: AlterAction[]): TableRef | undefined {
    const token = this.peek();
    if (token?.kind !== 'word') throw new NotModelled(`unexpected ${describeToken(token)} in ALTER TABLE`);
    switch (token.upper) {
      case 'ADD': {
        this.position++;
        if (this.skipsNonColumn('ADD')) return undefined;
        const ifNotExists = this.acceptWords('IF', 'NOT', 'EXISTS');
        if (this.acceptSymbol('(')) {
          actions.push({ kind: 'add', columns: this.columnList(), ifNotExists });
          return undefined;
        }
        const { column, placement } = this.columnDefinition(true);
        actions.push({ kind: 'add', columns: [column], ifNotExists, ...(placement ? { placement } : {}) });
        return undefined;
      }
      case 'CHANGE': {
        this.position++;
        this.acceptWord('COLUMN');
        const ifExists = this.acceptWords('IF', 'EXISTS');
        const from = this.identifier();
        const { column, placement } = this.columnDefinition(true);
        actions.push({ kind: 'change', from, column, ifExists, ...(placement ? { placement } : {}) });
        return undefined;
      }
      case 'MODIFY': {
        this.position++;
        this.acceptWord('COLUMN');
        const ifExists = this.acceptWords('IF', 'EXISTS');
        const { column, placement } = this.columnDefinition(true);
        actions.push({ kind: 'change', from: column.name, column, ifExists, ...(placement ? { placement } : {}) });
        return undefined;
      }
      case 'DROP': {
        this.position++;
        if (this.skipsNonColumn('DROP')) return undefined;
        const ifExists = this.acceptWords('IF', 'EXISTS');
        actions.push({ kind: 'drop', name: this.identifier(), ifExists });
        if (!this.acceptWord('RESTRICT')) this.acceptWord('CASCADE');
        return undefined;
      }
      case 'ALTER':
        // ALTER [COLUMN] c SET/DROP DEFAULT, SET [IN]VISIBLE; ALTER INDEX ...: no column changes.
        this.skipItem();
        return undefined;
      case 'RENAME': {
        this.position++;
        if (this.acceptWord('COLUMN')) {
          const ifExists = this.acceptWords('IF', 'EXISTS');
          const from = this.identifier();
          this.expectWord('TO');
          actions.push({ kind: 'rename-column', from, to: this.identifier(), ifExists });
          return undefined;
        }
        if (this.acceptWord('INDEX') || this.acceptWord('KEY')) {
          this.skipItem();
          return undefined;
        }
        if (!this.acceptWord('TO')) this.acceptWord('AS');
        return this.tableRef();
      }
      case 'DEFAULT':
      case 'CHARACTER':
      case 'CHARSET':
      case 'COLLATE': {
        const charset = this.charsetClause();
        if (charset === undefined) throw new NotModelled(`unexpected ${token.text} in ALTER TABLE`);
        actions.push({ kind: 'default-charset', charset });
        return undefined;
      }
      case 'CONVERT': {
        if (!isWord(this.peek(1), 'TO')) break;
        this.position += 2;
        const charset = this.charsetClause();
        if (charset === undefined) throw new NotModelled('CONVERT TO without a character set');
        if (this.acceptWord('COLLATE')) this.skipOne();
        actions.push({ kind: 'convert-charset', charset });
        return undefined;
      }
    }
    if (NEUTRAL_ALTER_WORDS.has(token.upper)) {
      this.skipItem();
      return undefined;
    }
    throw new NotModelled(`ALTER TABLE ${token.text} is not modelled`);
  }

  private drop(): DdlEffect {
    if (this.acceptWord('DATABASE') || this.acceptWord('SCHEMA')) {
      this.acceptWords('IF', 'EXISTS');
      return { kind: 'drop-schema', schema: this.identifier() };
    }
    if (this.acceptWord('TEMPORARY')) return { kind: 'none' };
    if (!this.acceptWord('TABLE') && !this.acceptWord('TABLES')) return { kind: 'none' };
    this.acceptWords('IF', 'EXISTS');
    const tables = [this.tableRef()];
    while (this.acceptSymbol(',')) tables.push(this.tableRef());
    return { kind: 'drop', tables };
  }

  private rename(): DdlEffect {
    if (!this.acceptWord('TABLE') && !this.acceptWord('TABLES')) return { kind: 'none' };
    if (this.acceptWord('WAIT')) this.skipOne();
    this.acceptWord('NOWAIT');
    this.acceptWords('IF', 'EXISTS');
    const pairs: { from: TableRef; to: TableRef }[] = [];
    do {
      this.acceptWords('IF', 'EXISTS');
      const from = this.tableRef();
      this.expectWord('TO');
      pairs.push({ from, to: this.tableRef() });
    } while (this.acceptSymbol(','));
    return { kind: 'rename', pairs };
  }

  // ---- columns ---------------------------------------------------------------------------------

  /** name type [options] [FIRST | AFTER c]; placement only where ALTER TABLE allows it. */
  private columnDefinition(placementAllowed: boolean): { column: ColumnDefinition; placement?: Placement } {
    const name = this.identifier();
    const type = this.dataType();
    let unsigned = type.unsigned;
    let zerofill = false;
    let charset = type.charset;
    let collation: string | undefined;
    let placement: Placement | undefined;
    while (this.peek() && !this.atItemEnd()) {
      const token = this.peek()!;
      if (token.kind === 'word') {
        if (placementAllowed && token.upper === 'FIRST') {
          this.position++;
          placement = { first: true };
          break;
        }
        if (placementAllowed && token.upper === 'AFTER') {
          this.position++;
          placement = { after: this.identifier() };
          break;
        }
        if (token.upper === 'UNSIGNED') unsigned = true;
        else if (token.upper === 'ZEROFILL') zerofill = true;
        else if (token.upper === 'COLLATE') {
          this.position++;
          this.acceptSymbol('=');
          collation = this.identifier().toLowerCase();
          continue;
        } else if (token.upper === 'ASCII') charset = 'latin1';
        else if (token.upper === 'UNICODE') charset = 'ucs2';
        else {
          const explicit = this.charsetClause();
          if (explicit !== undefined) {
            charset = explicit;
            continue;
          }
        }
      }
      this.skipOne();
    }
    if (charset === null && collation !== undefined && collation !== 'binary' && collation.includes('_')) charset = normalizeCharset(collation.slice(0, collation.indexOf('_')));
    const column: ColumnDefinition = {
      name,
      type: renderType(type.base, type.args, unsigned || zerofill, zerofill, type.members),
      charset: type.base === 'json' ? 'utf8mb4' : isTextType(type.base) ? charset : null,
      ...(type.members ? { members: type.members } : {}),
      text: isTextType(type.base),
    };
    return placement ? { column, placement } : { column };
  }

  private dataType(): { base: string; args: string[]; members?: string[]; unsigned: boolean; charset: string | null } {
    const token = this.peek();
    if (token?.kind !== 'word') throw new NotModelled(`expected a column type, found ${describeToken(token)}`);
    this.position++;
    let upper = token.upper;
    let charset: string | null = null;
    let unsigned = false;
    if (upper === 'NATIONAL') {
      charset = 'utf8mb3';
      upper = this.acceptWord('VARCHAR') ? 'VARCHAR' : (this.acceptWord('CHAR') || this.acceptWord('CHARACTER')) && this.acceptWord('VARYING') ? 'VARCHAR' : 'CHAR';
    } else if (upper === 'NCHAR' || upper === 'NVARCHAR') {
      charset = 'utf8mb3';
      if (upper === 'NCHAR' && (this.acceptWord('VARCHAR') || this.acceptWord('VARYING'))) upper = 'VARCHAR';
    } else if ((upper === 'CHAR' || upper === 'CHARACTER') && this.acceptWord('VARYING')) {
      upper = 'VARCHAR';
    } else if (upper === 'CHAR' && this.acceptWord('BYTE')) {
      upper = 'BINARY';
    } else if (upper === 'DOUBLE') {
      this.acceptWord('PRECISION');
    } else if (upper === 'LONG') {
      upper = this.acceptWord('VARBINARY') ? 'MEDIUMBLOB' : 'MEDIUMTEXT';
      if (upper === 'MEDIUMTEXT' && !this.acceptWord('VARCHAR') && this.acceptWord('CHARACTER')) this.acceptWord('VARYING');
    } else if (upper === 'SERIAL') {
      upper = 'BIGINT';
      unsigned = true;
    } else if (upper === 'BOOL' || upper === 'BOOLEAN') {
      return { base: 'tinyint', args: ['1'], unsigned: false, charset: null };
    }
    const base = TYPE_ALIASES[upper] ?? upper.toLowerCase();
    const args: string[] = [];
    let members: string[] | undefined;
    if (this.acceptSymbol('(')) {
      if (base === 'enum' || base === 'set') members = [];
      let depth = 1;
      while (depth > 0) {
        const inner = this.next();
        if (!inner) throw new NotModelled('unbalanced parentheses in a column type');
        if (isSymbol(inner, '(')) depth++;
        else if (isSymbol(inner, ')')) depth--;
        else if (members && inner.kind === 'string') members.push(inner.text);
        else if (!members && inner.kind === 'number') args.push(inner.text);
      }
    }
    return { base, args, ...(members ? { members } : {}), unsigned, charset };
  }

  /** [DEFAULT] CHARACTER SET | CHARSET | CHAR SET [=] name, or [DEFAULT] COLLATE [=] name (its character set). */
  private charsetClause(): string | undefined {
    const start = this.position;
    this.acceptWord('DEFAULT');
    if (this.acceptWords('CHARACTER', 'SET') || this.acceptWord('CHARSET') || this.acceptWords('CHAR', 'SET')) {
      this.acceptSymbol('=');
      return normalizeCharset(this.identifier().toLowerCase());
    }
    if (this.acceptWord('COLLATE')) {
      this.acceptSymbol('=');
      const collation = this.identifier().toLowerCase();
      return collation.includes('_') ? normalizeCharset(collation.slice(0, collation.indexOf('_'))) : collation;
    }
    this.position = start;
    return undefined;
  }

  // ---- tokens ----------------------------------------------------------------------------------

  private tableRef(): TableRef {
    const first = this.identifier();
    let ref: TableRef;
    if (isSymbol(this.peek(), '.')) {
      this.position++;
      ref = { schema: first, table: this.identifier() };
    } else {
      ref = { schema: this.defaultSchema, table: first };
    }
    this.mentioned.push(ref);
    return ref;
  }

  private identifier(): string {
    const token = this.next();
    if (token?.kind === 'word' || token?.kind === 'quoted') return token.text;
    // Some servers log a string literal where an identifier goes (e.g. ANSI_QUOTES sessions).
    if (token?.kind === 'string') return token.text;
    throw new NotModelled(`expected a name, found ${describeToken(token)}`);
  }

  private peek(offset = 0): Token | undefined {
    return this.tokens[this.position + offset];
  }

  private next(): Token | undefined {
    return this.tokens[this.position++];
  }

  private acceptWord(upper: string): boolean {
    if (!isWord(this.peek(), upper)) return false;
    this.position++;
    return true;
  }

  private acceptWords(...uppers: string[]): boolean {
    if (!uppers.every((upper, index) => isWord(this.peek(index), upper))) return false;
    this.position += uppers.length;
    return true;
  }

  private expectWord(upper: string): void {
    if (!this.acceptWord(upper)) throw new NotModelled(`expected ${upper}, found ${describeToken(this.peek())}`);
  }

  private acceptSymbol(symbol: string): boolean {
    if (!isSymbol(this.peek(), symbol)) return false;
    this.position++;
    return true;
  }

  private expectSymbol(symbol: string): void {
    if (!this.acceptSymbol(symbol)) throw new NotModelled(`expected '${symbol}', found ${describeToken(this.peek())}`);
  }

  private atItemEnd(): boolean {
    const token = this.peek();
    return token === undefined || isSymbol(token, ',') || isSymbol(token, ')');
  }

  /** One token, or a whole parenthesized group. */
  private skipOne(): void {
    if (!isSymbol(this.peek(), '(')) {
      this.position++;
      return;
    }
    let depth = 0;
    do {
      const token = this.next();
      if (!token) throw new NotModelled('unbalanced parentheses');
      if (isSymbol(token, '(')) depth++;
      else if (isSymbol(token, ')')) depth--;
    } while (depth > 0);
  }

  /** Up to the ',' or ')' that ends the current item. */
  private skipItem(): void {
    while (!this.atItemEnd()) this.skipOne();
  }
}

function isWord(token: Token | undefined, upper: string): boolean {
  return token?.kind === 'word' && token.upper === upper;
}

function isSymbol(token: Token | undefined, symbol: string): boolean {
  return token?.kind === 'symbol' && token.text === symbol;
}

function describeToken(token: Token | undefined): string {
  return token ? `'${token.text}'` : 'the end of the statement';
}

function normalizeCharset(charset: string): string {
  return charset === 'utf8' ? 'utf8mb3' : charset;
}

/** The type as information_schema would spell it, as far as the statement tells. */
function renderType(base: string, args: string[], unsigned: boolean, zerofill: boolean, members: string[] | undefined): string {
  if (members) return `${base}(${members.map((member) => `'${member.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`).join(',')})`;
  let name = base;
  let shown = args;
  if (base === 'decimal') shown = [args[0] ?? '10', args[1] ?? '0'];
  else if (base === 'float' && args.length === 1) {
    // FLOAT(p) is a FLOAT up to 24 bits of precision and a DOUBLE beyond.
    name = Number(args[0]) > 24 ? 'double' : 'float';
    shown = [];
  } else if ((base === 'char' || base === 'binary' || base === 'bit') && args.length === 0) shown = ['1'];
  const text = shown.length > 0 ? `${name}(${shown.join(',')})` : name;
  return `${text}${unsigned ? ' unsigned' : ''}${zerofill ? ' zerofill' : ''}`;
}
