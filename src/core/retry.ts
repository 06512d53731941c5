// The one place that retries. By default it honours `retriable` and never retries a programming or
// config error; a connection that reconnects once at once (Hive, FTP) says what it retries instead.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isSluiceError } from './errors.ts';
import { briefError } from './logger.ts';

export interface RetryOptions {
  initialDelayMs: number;
  maxDelayMs: number;
  /** Give up after this many consecutive failures; Infinity for a daemon that should outlive an outage. */
  maxAttempts: number;
  /** Which failures to retry; SluiceErrors marked retriable unless told otherwise. */
  retryOn?: (error: unknown) => boolean;
  /** Errors waited out however long they last (a full disk: a person frees space, then it goes on). */
  outlasts?: (error: unknown) => boolean;
  /** Where each retry is reported; a silent reconnect has none. */
  logger?: Logger;
  /** Stops retrying (e.g. SIGTERM arrived while waiting). */
  shouldStop?: () => boolean;
  /** Ends a wait between attempts at once (a stop asked for while waiting need not wait up to a minute). */
  wake?: AbortSignal;
}

export function isRetriable(error: unknown): boolean {
  return isSluiceError(error) && error.retriable;
}

/** Runs `attempt` until it resolves, waiting with exponential backoff and jitter between retriable failures. */
export async function withRetry<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  let failures = 0;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      failures++;
      if (!(options.retryOn ?? isRetriable)(error) || (failures >= options.maxAttempts && !options.outlasts?.(error)) || options.shouldStop?.()) throw error;
      const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** (failures - 1));
      const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
      // The warning says what failed and when the next try comes; the stack is for debugging only.
      options.logger?.warn({ error: briefError(error), attempt: failures, retryInMs: delay }, 'retriable failure, retrying');
      options.logger?.debug({ err: error, attempt: failures }, 'the retried failure, with its stack');
      await sleep(delay, undefined, options.wake ? { signal: options.wake } : undefined).catch(() => undefined);
      if (options.shouldStop?.()) throw error;
    }
  }
}
