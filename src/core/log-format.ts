// The log's form for a person at a terminal: one line per entry, local time, level, message, then the
// fields as key=value. pino writes JSON to this stream and it reformats each line, so every entry
// holds the same fields in either form; only the eyes differ. (pino-pretty does this too, with a
// dependency tree and a worker thread that a daemon's last fatal line would have to wait for.)

/** log.format: `json` for services (journald, docker, a log pipeline), `pretty` for a person, `auto` picks by the stream. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLOURS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
/** Written by pino on every line, or said by the line's layout already. */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service']);
const DEBUG = 20;

export interface PrettyOptions {
  /** ANSI colours for the level (a terminal that asks for none sets NO_COLOR). */
  colour: boolean;
}

/** One JSON log line as a person reads it; a line that is not JSON passes as it is. */
export function prettyLine(json: string, options: PrettyOptions): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const level = typeof entry.level === 'number' ? entry.level : 30;
  const name = (LEVEL_NAMES[level] ?? String(level)).padEnd(5);
  const fields = Object.entries(entry)
    .filter(([key]) => !HIDDEN.has(key))
    .map(([key, value]) => `${key}=${key === 'err' || key === 'error' ? errorText(value) : valueText(value)}`);
  const head = `${clock(entry.time)} ${options.colour ? `\x1b[${LEVEL_COLOURS[level] ?? '0'}m${name}\x1b[0m` : name} ${String(entry.msg ?? '')}`;
  // A stack is debug material (see briefError): shown under debug and trace lines only.
  const stack = level <= DEBUG ? stackOf(entry.err) : undefined;
  return `${[head, ...fields].join(' ')}\n${stack ? `${stack.replace(/^/gm, '    ')}\n` : ''}`;
}

/** HH:MM:SS.mmm in the local zone: a terminal shows what is happening now, on this machine's clock. */
function clock(time: unknown): string {
  const date = new Date(typeof time === 'string' || typeof time === 'number' ? time : Date.now());
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/** Plain words stay plain; anything a reader could misparse (spaces, quotes, '=') is JSON-quoted. */
function valueText(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/** An error as `Type [CODE]: message`, without its stack. */
function errorText(value: unknown): string {
  if (!value || typeof value !== 'object') return valueText(value);
  const { type, code, message } = value as { type?: string; code?: string; message?: string };
  return JSON.stringify(`${type ?? 'Error'}${code ? ` [${code}]` : ''}: ${message ?? ''}`);
}

function stackOf(value: unknown): string | undefined {
  return value && typeof value === 'object' && typeof (value as { stack?: unknown }).stack === 'string' ? (value as { stack: string }).stack : undefined;
}
