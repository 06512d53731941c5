import { pino, type Logger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * One JSON line per event of note, on stdout (journald and docker collect it from there). Commands
 * that print a result on stdout log to stderr (fd 2) instead, so their output stays parseable.
 */
export function createLogger(level: LogLevel, fd: 1 | 2 = 1): Logger {
  return fd === 1 ? pino({ level, base: { service: 'sluice' } }) : pino({ level, base: { service: 'sluice' } }, pino.destination(2));
}
