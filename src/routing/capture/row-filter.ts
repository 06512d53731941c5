// Evaluates a row filter (config/row-filter-syntax.ts) on a row image, with SQL's three-valued
// logic: a comparison with NULL is unknown, and a row passes only when the filter is true.
// Values are sluice's exact text (or bytes): a number literal compares numerically with the
// column's text read as a number; a quoted literal compares as text, exactly (case matters, as under
// a binary collation), which also orders 'YYYY-MM-DD hh:mm:ss' times correctly.
import type { CellValue } from '../../core/change-event.ts';
import { filterColumns, type CompareOp, type FilterLiteral, type FilterNode, type FilterOperand, type RowFilterExpression } from '../../config/row-filter-syntax.ts';

/** true, false, or unknown (null). */
type Truth = boolean | null;

export type RowPredicate = (image: readonly CellValue[]) => boolean;

/**
 * The filter bound to one column list: each column it names resolved to its index. `missing` lists
 * the columns the filter names that the list lacks (a later ALTER TABLE dropped them): the caller
 * stops the table rather than guess.
 */
export function bindRowFilter(expression: RowFilterExpression, columns: readonly { name: string }[]): { predicate: RowPredicate } | { missing: string[] } {
  const indexOf = new Map(columns.map((column, index) => [column.name.toLowerCase(), index]));
  const missing = filterColumns(expression.root).filter((name) => !indexOf.has(name.toLowerCase()));
  if (missing.length > 0) return { missing };
  const evaluate = compile(expression.root, (name) => indexOf.get(name.toLowerCase())!);
  return { predicate: (image) => evaluate(image) === true };
}

type Compiled = (image: readonly CellValue[]) => Truth;
type Value = (image: readonly CellValue[]) => CellValue;

function compile(node: FilterNode, indexOf: (name: string) => number): Compiled {
  const value = (operand: FilterOperand): Value => {
    if (operand.kind === 'literal') {
      const text = operand.text;
      return () => text;
    }
    const index = indexOf(operand.name);
    return (image) => image[index] ?? null;
  };
  switch (node.kind) {
    case 'and': {
      const [left, right] = [compile(node.left, indexOf), compile(node.right, indexOf)];
      return (image) => and(left(image), right(image));
    }
    case 'or': {
      const [left, right] = [compile(node.left, indexOf), compile(node.right, indexOf)];
      return (image) => not(and(not(left(image)), not(right(image))));
    }
    case 'not': {
      const operand = compile(node.operand, indexOf);
      return (image) => not(operand(image));
    }
    case 'null': {
      const operand = value(node.operand);
      return (image) => (operand(image) === null) !== node.negated;
    }
    case 'compare': {
      const [left, right] = [value(node.left), value(node.right)];
      const numeric = isNumeric(node.left) || isNumeric(node.right);
      return (image) => holds(node.op, compareValues(left(image), right(image), numeric));
    }
    case 'in': {
      const operand = value(node.operand);
      const numeric = isNumeric(node.operand) || node.values.some((literal) => literal.numeric);
      return (image) => {
        const found = operand(image);
        // x IN (a, b) is x = a OR x = b: unknown when no member is equal and one comparison is unknown.
        let result: Truth = false;
        for (const literal of node.values) result = not(and(not(result), not(holds('=', compareValues(found, literal.text, numeric || literal.numeric)))));
        return node.negated ? not(result) : result;
      };
    }
    case 'like': {
      const operand = value(node.operand);
      const pattern = likeToRegExp(node.pattern);
      return (image) => {
        const found = operand(image);
        if (found === null) return null;
        return pattern.test(typeof found === 'string' ? found : found.toString('latin1')) !== node.negated;
      };
    }
    case 'between': {
      const operand = value(node.operand);
      const numeric = isNumeric(node.operand) || node.low.numeric || node.high.numeric;
      return (image) => {
        const found = operand(image);
        const inside = and(holds('>=', compareValues(found, node.low.text, numeric)), holds('<=', compareValues(found, node.high.text, numeric)));
        return node.negated ? not(inside) : inside;
      };
    }
  }
}

function isNumeric(operand: FilterOperand | FilterLiteral): boolean {
  return operand.kind === 'literal' && operand.numeric;
}

function and(left: Truth, right: Truth): Truth {
  if (left === false || right === false) return false;
  return left === null || right === null ? null : true;
}

function not(value: Truth): Truth {
  return value === null ? null : !value;
}

function holds(op: CompareOp, order: number | null): Truth {
  if (order === null) return null;
  switch (op) {
    case '=':
      return order === 0;
    case '!=':
      return order !== 0;
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '>':
      return order > 0;
    case '>=':
      return order >= 0;
  }
}

/** -1, 0 or 1; null when either side is NULL, or a side of a numeric comparison is no number. */
export function compareValues(left: CellValue, right: CellValue, numeric: boolean): number | null {
  if (left === null || right === null) return null;
  if (numeric) {
    const [a, b] = [asText(left).trim(), asText(right).trim()];
    if (!NUMBER.test(a) || !NUMBER.test(b)) return null;
    return compareNumbers(a, b);
  }
  const order = Buffer.compare(Buffer.from(left), Buffer.from(right));
  return order;
}

function asText(value: string | Buffer): string {
  return typeof value === 'string' ? value : value.toString('latin1');
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const PLAIN_DECIMAL = /^([+-]?)0*(\d*)(?:\.(\d*?)0*)?$/;

/**
 * Exact for plain decimals of any length (DECIMAL(65,30), BIGINT UNSIGNED), which a double would
 * round; numbers in exponent form (FLOAT and DOUBLE text) are doubles already.
 */
function compareNumbers(a: string, b: string): number {
  const left = PLAIN_DECIMAL.exec(a);
  const right = PLAIN_DECIMAL.exec(b);
  if (!left || !right) return Math.sign(Number(a) - Number(b));
  const sign = (match: RegExpExecArray): number => (match[2] === '' && (match[3] ?? '') === '' ? 0 : match[1] === '-' ? -1 : 1);
  const [signA, signB] = [sign(left), sign(right)];
  if (signA !== signB) return Math.sign(signA - signB);
  if (signA === 0) return 0;
  const [intA, intB] = [left[2]!, right[2]!];
  let order = intA.length !== intB.length ? Math.sign(intA.length - intB.length) : 0;
  if (order === 0) {
    const width = Math.max((left[3] ?? '').length, (right[3] ?? '').length);
    const digitsA = intA + (left[3] ?? '').padEnd(width, '0');
    const digitsB = intB + (right[3] ?? '').padEnd(width, '0');
    order = digitsA < digitsB ? -1 : digitsA > digitsB ? 1 : 0;
  }
  return order * signA;
}

/** LIKE's % (any run) and _ (one character); a backslash takes the next character as it is. */
function likeToRegExp(pattern: string): RegExp {
  let body = '';
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index]!;
    if (char === '\\' && index + 1 < pattern.length) body += escapeRegExp(pattern[++index]!);
    else if (char === '%') body += '.*';
    else if (char === '_') body += '.';
    else body += escapeRegExp(char);
  }
  return new RegExp(`^${body}$`, 's');
}

function escapeRegExp(char: string): string {
  return char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
