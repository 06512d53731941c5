import { isatty } from 'node:tty';
import { pino, type Logger } from 'pino';
import { prettyLine, type LogFormat } from './log-format.ts';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * One line per event of note, on stdout (journald and docker collect it from there). Commands
 * that print a result on stdout log to stderr (fd 2) instead, so their output stays parseable.
 * JSON with ISO 8601 UTC timestamps, unless a person reads it: `auto` writes the one-line pretty form
 * when the stream is a terminal, and JSON when it is a pipe, a file or the journal.
 */
export function createLogger(level: LogLevel, fd: 1 | 2 = 1, format: LogFormat = 'auto'): Logger {
  const options = { level, base: { service: 'sluice' }, timestamp: pino.stdTimeFunctions.isoTime };
  // Synchronous writes: the last lines before an exit (the fatal one above all) are never lost.
  const destination = pino.destination({ dest: fd, sync: true });
  const terminal = isatty(fd);
  if (format === 'json' || (format === 'auto' && !terminal)) return pino(options, destination);
  const colour = terminal && !process.env.NO_COLOR;
  return pino(options, { write: (line: string) => destination.write(prettyLine(line, { colour })) });
}

/**
 * An error as a warning shows it: its type, code, message and cause, without the stack. A retried
 * failure is expected weather (MySQL restarting, HDFS in safe mode); the stack goes to a debug line.
 * Log it under `error`, not `err`: pino's serializer would add the (empty) stack back under `err`.
 */
export function briefError(error: unknown): { type: string; code?: string; message: string; retriable?: boolean; cause?: string } {
  if (!(error instanceof Error)) return { type: typeof error, message: String(error) };
  const { code, retriable } = error as { code?: unknown; retriable?: unknown };
  const cause = error.cause instanceof Error ? error.cause.message : error.cause === undefined ? undefined : String(error.cause);
  return {
    type: error.constructor.name,
    ...(typeof code === 'string' || typeof code === 'number' ? { code: String(code) } : {}),
    message: error.message,
    // A SluiceError says whether it may pass by itself; a retry warning shows it was judged so.
    ...(typeof retriable === 'boolean' ? { retriable } : {}),
    ...(cause === undefined ? {} : { cause }),
  };
}
