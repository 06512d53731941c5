import { pino, type Logger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** One JSON line per event of note, on stdout (journald and docker collect it from there). */
export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { service: 'sluice' } });
}
