// JSON.parse with every number kept as its text: a Debezium BIGINT or a canal DECIMAL past 2^53 would
// otherwise come out rounded, and a rounded key is a wrong row, not an error. (Node 20's JSON.parse has
// no access to a number's source text; this is the small recursive-descent parser that does.) In core/:
// the Kafka source parses messages with it, and the Kafka sink writes cells with it.

/** A JSON number exactly as the message spelt it. */
export class JsonNumber {
  constructor(readonly text: string) {}
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WHOLE_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const WHITESPACE = /[ \t\n\r]*/y;
// JSON strings may not hold these raw; JSON.parse names the error.
const CONTROL = /[\u0000-\u001f]/;

/** Parses `text`; throws a plain Error with the offset when it is not JSON. */
export function parseExactJson(text: string): JsonValue {
  let at = 0;
  const fail = (what: string): never => {
    throw new Error(`${what} at offset ${at}`);
  };
  const skip = (): void => {
    // Compact JSON (what producers send) has no whitespace: the regex only where some is.
    const code = text.charCodeAt(at);
    if (code !== 0x20 && code !== 0x0a && code !== 0x0d && code !== 0x09) return;
    WHITESPACE.lastIndex = at;
    WHITESPACE.exec(text);
    at = WHITESPACE.lastIndex;
  };
  const value = (): JsonValue => {
    skip();
    const c = text[at];
    if (c === '{') {
      at++;
      const object: JsonObject = {};
      skip();
      if (text[at] === '}') return at++, object;
      for (;;) {
        skip();
        if (text[at] !== '"') fail('expected a property name');
        const key = string();
        skip();
        if (text[at++] !== ':') fail("expected ':'");
        object[key] = value();
        skip();
        const next = text[at++];
        if (next === '}') return object;
        if (next !== ',') fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      at++;
      const array: JsonValue[] = [];
      skip();
      if (text[at] === ']') return at++, array;
      for (;;) {
        array.push(value());
        skip();
        const next = text[at++];
        if (next === ']') return array;
        if (next !== ',') fail("expected ',' or ']'");
      }
    }
    if (c === '"') return string();
    if (c === 't' && text.startsWith('true', at)) return (at += 4), true;
    if (c === 'f' && text.startsWith('false', at)) return (at += 5), false;
    if (c === 'n' && text.startsWith('null', at)) return (at += 4), null;
    NUMBER.lastIndex = at;
    const number = NUMBER.exec(text);
    if (!number) return fail('unexpected character');
    at = NUMBER.lastIndex;
    return new JsonNumber(number[0]);
  };
  const string = (): string => {
    // Find the closing quote past any escapes, then let JSON.parse decode the escapes. Most strings
    // have none: those are the text between the quotes, once it holds no control character.
    const start = at;
    let escaped = false;
    at++;
    for (;;) {
      const quote = text.indexOf('"', at);
      const backslash = text.indexOf('\\', at);
      if (quote < 0) fail('unterminated string');
      if (backslash < 0 || backslash > quote) {
        at = quote;
        break;
      }
      escaped = true;
      at = backslash + 2;
    }
    at++;
    if (!escaped) {
      const content = text.slice(start + 1, at - 1);
      if (!CONTROL.test(content)) return content;
    }
    try {
      return JSON.parse(text.slice(start, at)) as string;
    } catch {
      return fail('invalid string');
    }
  };
  const result = value();
  skip();
  if (at !== text.length) fail('unexpected text after the value');
  return result;
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !(value instanceof JsonNumber) && !Array.isArray(value);
}

/** JSON text of a value, numbers exactly as they came (for a json column). */
export function exactJsonText(value: JsonValue): string {
  if (value instanceof JsonNumber) return value.text;
  if (Array.isArray(value)) return `[${value.map(exactJsonText).join(',')}]`;
  if (isJsonObject(value)) return `{${Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}:${exactJsonText(item)}`).join(',')}}`;
  return JSON.stringify(value);
}

/** Whether `text` is a JSON number as it stands (MySQL's text of a number may not be: '.5', '1.', 'inf'). */
export function isJsonNumberText(text: string): boolean {
  return WHOLE_NUMBER.test(text);
}
