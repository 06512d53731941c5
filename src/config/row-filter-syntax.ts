// The language of a row filter (capture.tables[].filter, routing.rules[].filter): a WHERE clause's
// small subset, parsed once when the config loads so that a mistake is a config error with its
// file, line and key, never a surprise at the first row. Evaluation is routing's
// (routing/capture/row-filter.ts); nothing here ever runs text as code.
//
//   expr      := or
//   or        := and ('OR' and)*
//   and       := not ('AND' not)*
//   not       := 'NOT' not | predicate
//   predicate := '(' expr ')'
//              | operand ( cmp operand | 'IS' ['NOT'] 'NULL' | ['NOT'] 'IN' '(' literal (',' literal)* ')'
//                        | ['NOT'] 'LIKE' string | ['NOT'] 'BETWEEN' literal 'AND' literal )
//   cmp       := '=' | '!=' | '<>' | '<' | '<=' | '>' | '>='
//   operand   := column | `quoted column` | literal
//   literal   := 'text' (a quote doubled or backslash-escaped) | number | NULL
//
// Why not a library: node-sql-parser parses all of MySQL (far more than a filter, a large dependency
// to keep in step); filtrex compiles to JavaScript through new Function (code generation from
// config); jsep and expr-eval read JavaScript's syntax, not SQL's (no IN, IS NULL, '...'), and
// expr-eval had prototype-pollution advisories. None is installed.

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type FilterOperand =
  | { kind: 'column'; name: string }
  /** `text` null is SQL NULL; `numeric`: written as a number, so compared as one. */
  | { kind: 'literal'; text: string | null; numeric: boolean };

export type FilterLiteral = Extract<FilterOperand, { kind: 'literal' }>;

export type FilterNode =
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; operand: FilterNode }
  | { kind: 'compare'; op: CompareOp; left: FilterOperand; right: FilterOperand }
  | { kind: 'in'; operand: FilterOperand; values: FilterLiteral[]; negated: boolean }
  | { kind: 'null'; operand: FilterOperand; negated: boolean }
  | { kind: 'like'; operand: FilterOperand; pattern: string; negated: boolean }
  | { kind: 'between'; operand: FilterOperand; low: FilterLiteral; high: FilterLiteral; negated: boolean };

/** A filter as the config holds it: its text (for messages) and its parsed form. */
export interface RowFilterExpression {
  text: string;
  root: FilterNode;
}

export class FilterSyntaxError extends Error {
  constructor(
    message: string,
    /** 0-based character offset in the filter's text. */
    readonly offset: number,
  ) {
    super(message);
  }
}

type Token =
  | { kind: 'word'; text: string; at: number }
  | { kind: 'column'; text: string; at: number }
  | { kind: 'string'; text: string; at: number }
  | { kind: 'number'; text: string; at: number }
  | { kind: 'symbol'; text: string; at: number }
  | { kind: 'end'; text: ''; at: number };

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'IN', 'IS', 'NULL', 'LIKE', 'BETWEEN']);

export function parseRowFilter(text: string): RowFilterExpression {
  const parser = new Parser(tokenize(text));
  const root = parser.expression();
  parser.expectEnd();
  return { text, root };
}

/** Every column a filter reads, as written (matched without regard to case). */
export function filterColumns(node: FilterNode): string[] {
  const names = new Set<string>();
  const operand = (value: FilterOperand): void => {
    if (value.kind === 'column') names.add(value.name);
  };
  const visit = (current: FilterNode): void => {
    switch (current.kind) {
      case 'and':
      case 'or':
        visit(current.left);
        visit(current.right);
        return;
      case 'not':
        return visit(current.operand);
      case 'compare':
        operand(current.left);
        return operand(current.right);
      default:
        return operand(current.operand);
    }
  };
  visit(node);
  return [...names];
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < text.length) {
    const char = text[at]!;
    if (/\s/.test(char)) {
      at++;
      continue;
    }
    const start = at;
    if (/[A-Za-z_]/.test(char)) {
      const word = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(text.slice(at))![0];
      tokens.push({ kind: 'word', text: word, at: start });
      at += word.length;
    } else if (char === '`') {
      const end = text.indexOf('`', at + 1);
      if (end === -1) throw new FilterSyntaxError('a `quoted column` is not closed', start);
      if (end === at + 1) throw new FilterSyntaxError('an empty `quoted column`', start);
      tokens.push({ kind: 'column', text: text.slice(at + 1, end), at: start });
      at = end + 1;
    } else if (char === "'") {
      const [value, next] = readString(text, at);
      tokens.push({ kind: 'string', text: value, at: start });
      at = next;
    } else if (/[0-9.]/.test(char) || (char === '-' && /[0-9.]/.test(text[at + 1] ?? ''))) {
      const number = /^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(text.slice(at))?.[0];
      if (!number) throw new FilterSyntaxError(`'${char}' does not start a number`, start);
      tokens.push({ kind: 'number', text: number, at: start });
      at += number.length;
    } else {
      const symbol = ['<=', '>=', '<>', '!=', '==', '=', '<', '>', '(', ')', ','].find((candidate) => text.startsWith(candidate, at));
      if (!symbol) throw new FilterSyntaxError(`unexpected '${char}'`, start);
      tokens.push({ kind: 'symbol', text: symbol, at: start });
      at += symbol.length;
    }
  }
  tokens.push({ kind: 'end', text: '', at: text.length });
  return tokens;
}

/**
 * A 'quoted' string from `at` (its opening quote): '' and \' are a quote, \\ a backslash; any other
 * backslash stays, so that LIKE 'a\%' still reads its escaped %.
 */
function readString(text: string, at: number): [string, number] {
  let value = '';
  let index = at + 1;
  while (index < text.length) {
    const char = text[index]!;
    if (char === '\\' && (text[index + 1] === "'" || text[index + 1] === '\\')) {
      value += text[index + 1];
      index += 2;
    } else if (char === "'") {
      if (text[index + 1] !== "'") return [value, index + 1];
      value += "'";
      index += 2;
    } else {
      value += char;
      index++;
    }
  }
  throw new FilterSyntaxError("a 'quoted string' is not closed", at);
}

class Parser {
  private index = 0;

  constructor(private readonly tokens: Token[]) {}

  expression(): FilterNode {
    let left = this.conjunction();
    while (this.takeWord('OR')) left = { kind: 'or', left, right: this.conjunction() };
    return left;
  }

  expectEnd(): void {
    const token = this.peek();
    if (token.kind !== 'end') throw new FilterSyntaxError(`unexpected ${describe(token)} after a complete condition (missing AND or OR?)`, token.at);
  }

  private conjunction(): FilterNode {
    let left = this.negation();
    while (this.takeWord('AND')) left = { kind: 'and', left, right: this.negation() };
    return left;
  }

  private negation(): FilterNode {
    if (this.takeWord('NOT')) return { kind: 'not', operand: this.negation() };
    return this.predicate();
  }

  private predicate(): FilterNode {
    if (this.takeSymbol('(')) {
      const inner = this.expression();
      this.expectSymbol(')', 'to close the parenthesis');
      return inner;
    }
    const operand = this.operand('a column or a value');
    if (this.takeWord('IS')) {
      const negated = this.takeWord('NOT');
      this.expectWord('NULL', "after 'IS'");
      return { kind: 'null', operand, negated };
    }
    const negated = this.takeWord('NOT');
    if (this.takeWord('IN')) {
      this.expectSymbol('(', "after 'IN'");
      const values = [this.literal('a value in the IN list')];
      while (this.takeSymbol(',')) values.push(this.literal('a value after the comma'));
      this.expectSymbol(')', 'to close the IN list');
      return { kind: 'in', operand, values, negated };
    }
    if (this.takeWord('LIKE')) {
      const pattern = this.peek();
      if (pattern.kind !== 'string') throw new FilterSyntaxError(`expected a 'quoted pattern' after LIKE, found ${describe(pattern)}`, pattern.at);
      this.index++;
      return { kind: 'like', operand, pattern: pattern.text, negated };
    }
    if (this.takeWord('BETWEEN')) {
      const low = this.literal("a value after 'BETWEEN'");
      this.expectWord('AND', "between the two values of 'BETWEEN'");
      const high = this.literal("a value after 'BETWEEN ... AND'");
      return { kind: 'between', operand, low, high, negated };
    }
    const token = this.peek();
    if (negated) throw new FilterSyntaxError(`expected IN, LIKE or BETWEEN after NOT, found ${describe(token)}`, token.at);
    if (token.kind !== 'symbol' || !['=', '==', '!=', '<>', '<', '<=', '>', '>='].includes(token.text)) {
      throw new FilterSyntaxError(`expected a comparison (=, !=, <, <=, >, >=), IS NULL, IN, LIKE or BETWEEN, found ${describe(token)}`, token.at);
    }
    this.index++;
    const op: CompareOp = token.text === '==' ? '=' : token.text === '<>' ? '!=' : (token.text as CompareOp);
    const right = this.operand(`a column or a value after '${token.text}'`);
    if (operand.kind === 'literal' && right.kind === 'literal') throw new FilterSyntaxError('a comparison of two values says nothing about the row: name a column', token.at);
    return { kind: 'compare', op, left: operand, right };
  }

  private operand(what: string): FilterOperand {
    const token = this.peek();
    if (token.kind === 'column' || (token.kind === 'word' && !KEYWORDS.has(token.text.toUpperCase()))) {
      this.index++;
      return { kind: 'column', name: token.text };
    }
    return this.literal(what);
  }

  private literal(what: string): FilterLiteral {
    const token = this.peek();
    if (token.kind === 'string' || token.kind === 'number') {
      this.index++;
      return { kind: 'literal', text: token.text, numeric: token.kind === 'number' };
    }
    if (token.kind === 'word' && token.text.toUpperCase() === 'NULL') {
      this.index++;
      return { kind: 'literal', text: null, numeric: false };
    }
    throw new FilterSyntaxError(`expected ${what}, found ${describe(token)}`, token.at);
  }

  private peek(): Token {
    return this.tokens[this.index]!;
  }

  private takeWord(word: string): boolean {
    const token = this.peek();
    if (token.kind !== 'word' || token.text.toUpperCase() !== word) return false;
    this.index++;
    return true;
  }

  private takeSymbol(symbol: string): boolean {
    const token = this.peek();
    if (token.kind !== 'symbol' || token.text !== symbol) return false;
    this.index++;
    return true;
  }

  private expectWord(word: string, where: string): void {
    const token = this.peek();
    if (!this.takeWord(word)) throw new FilterSyntaxError(`expected ${word} ${where}, found ${describe(token)}`, token.at);
  }

  private expectSymbol(symbol: string, why: string): void {
    const token = this.peek();
    if (!this.takeSymbol(symbol)) throw new FilterSyntaxError(`expected '${symbol}' ${why}, found ${describe(token)}`, token.at);
  }
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'end':
      return 'the end of the filter';
    case 'string':
      return 'a quoted string';
    case 'column':
      return `\`${token.text}\``;
    default:
      return `'${token.text}'`;
  }
}
