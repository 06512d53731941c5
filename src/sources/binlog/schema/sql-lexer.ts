// Splits the text of a DDL statement, as the binlog carries it, into tokens. Only as much of
// MySQL's lexical rules as DDL needs: identifiers (plain and `quoted`), string literals with their
// escapes, numbers, symbols. Comments are dropped, except the executable ones (/*!50100 ... */,
// MariaDB's /*M!100301 ... */), whose content the server did execute and which mysqldump uses for
// column options.

export type Token =
  /** An unquoted identifier or keyword; `upper` for keyword comparisons. */
  | { kind: 'word'; text: string; upper: string }
  /** A `back-quoted` identifier, unescaped. */
  | { kind: 'quoted'; text: string }
  /** A '...' or "..." literal, unescaped. */
  | { kind: 'string'; text: string }
  | { kind: 'number'; text: string }
  | { kind: 'symbol'; text: string };

const ESCAPES: Record<string, string> = { '0': '\0', b: '\b', n: '\n', r: '\r', t: '\t', Z: '\x1a' };

function isWordChar(char: string): boolean {
  return /[A-Za-z0-9_$]/.test(char) || char.charCodeAt(0) >= 0x80;
}

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  let inExecutableComment = false;
  while (index < sql.length) {
    const char = sql[index]!;
    const next = sql[index + 1] ?? '';
    if (/\s/.test(char)) {
      index++;
    } else if (char === '#' || (char === '-' && next === '-' && /[\s]|^$/.test(sql[index + 2] ?? ''))) {
      const end = sql.indexOf('\n', index);
      index = end < 0 ? sql.length : end + 1;
    } else if (char === '/' && next === '*') {
      const executable = /^\/\*M?!\d*/.exec(sql.slice(index, index + 12));
      if (executable) {
        inExecutableComment = true;
        index += executable[0].length;
      } else {
        const end = sql.indexOf('*/', index + 2);
        index = end < 0 ? sql.length : end + 2;
      }
    } else if (char === '*' && next === '/' && inExecutableComment) {
      inExecutableComment = false;
      index += 2;
    } else if (char === '`') {
      let text = '';
      index++;
      while (index < sql.length) {
        if (sql[index] === '`') {
          if (sql[index + 1] === '`') {
            text += '`';
            index += 2;
            continue;
          }
          index++;
          break;
        }
        text += sql[index++];
      }
      tokens.push({ kind: 'quoted', text });
    } else if (char === "'" || char === '"') {
      let text = '';
      index++;
      while (index < sql.length) {
        const current = sql[index]!;
        if (current === '\\' && index + 1 < sql.length) {
          const escaped = sql[index + 1]!;
          // \% and \_ keep their backslash (they only mean something in LIKE patterns).
          text += escaped === '%' || escaped === '_' ? '\\' + escaped : (ESCAPES[escaped] ?? escaped);
          index += 2;
        } else if (current === char) {
          if (sql[index + 1] === char) {
            text += char;
            index += 2;
            continue;
          }
          index++;
          break;
        } else {
          text += current;
          index++;
        }
      }
      tokens.push({ kind: 'string', text });
    } else if (isWordChar(char)) {
      let end = index;
      while (end < sql.length && isWordChar(sql[end]!)) end++;
      // A decimal number with a fraction or an exponent: 1.5, 2e3.
      const number = /^\d+(\.\d*)?([eE][-+]?\d+)?(?![A-Za-z0-9_$])/.exec(sql.slice(index));
      if (number) {
        tokens.push({ kind: 'number', text: number[0] });
        index += number[0].length;
      } else {
        const text = sql.slice(index, end);
        tokens.push({ kind: 'word', text, upper: text.toUpperCase() });
        index = end;
      }
    } else {
      tokens.push({ kind: 'symbol', text: char });
      index++;
    }
  }
  return tokens;
}
