// What the exit status of a failed command tells systemd (and a person): 78 when a restart cannot
// help, 1 when one may. The unit's RestartPreventExitStatus=78 stops the restarts on the first kind.
import { ERROR_CODES } from '../core/error-codes.ts';
import { isSluiceError, type ErrorCode } from '../core/errors.ts';

/** EX_CONFIG of sysexits.h, "something was found in an unconfigured or misconfigured state". */
export const EXIT_SETUP = 78;
export const EXIT_FAILURE = 1;

export function exitCodeOf(error: unknown): number {
  return isSluiceError(error) && !error.retriable ? exitCodeOfCode(error.code) : EXIT_FAILURE;
}

/**
 * The exit status for an error of `code` that is not retriable: 78 for those that need a person to
 * change the config, the server, the grants or the disk (ERROR_CODES[code].restartHelps is false),
 * since restarting every 5 s would only repeat the same error (and, for a purged position, the same
 * work) for ever.
 */
export function exitCodeOfCode(code: ErrorCode): number {
  return ERROR_CODES[code].restartHelps ? EXIT_FAILURE : EXIT_SETUP;
}
