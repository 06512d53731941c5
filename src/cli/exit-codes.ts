// What the exit status of a failed command tells systemd (and a person): 78 when a restart cannot
// help, 1 when one may. The unit's RestartPreventExitStatus=78 stops the restarts on the first kind.
import { isSluiceError, type ErrorCode } from '../errors.ts';

/** EX_CONFIG of sysexits.h, "something was found in an unconfigured or misconfigured state". */
export const EXIT_SETUP = 78;
export const EXIT_FAILURE = 1;

// Each needs a person to change the config, the server, the grants or the disk: restarting every 5 s
// would only repeat the same error (and, for a purged position, the same work) for ever.
const SETUP_ERRORS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'SLUICE_CONFIG_INVALID',
  'SLUICE_CONFIG_UNREADABLE',
  'SLUICE_MYSQL_ACCESS_DENIED',
  'SLUICE_MYSQL_PRIVILEGE_MISSING',
  'SLUICE_BINLOG_SETTING',
  'SLUICE_BINLOG_POSITION_PURGED',
  'SLUICE_NOT_MYSQL',
  'SLUICE_SERVER_ID_IN_USE',
  'SLUICE_DIR_UNWRITABLE',
  'SLUICE_CHECKPOINT_CORRUPT',
  'SLUICE_COMMIT_LOST',
  // The same event or statement comes again after a restart.
  'SLUICE_BINLOG_EVENT_TOO_LARGE',
  'SLUICE_STATEMENT_UNREADABLE',
  'SLUICE_BINLOG_STATEMENT_DML',
  'SLUICE_BINLOG_ROW_IMAGE',
  'SLUICE_BINLOG_UNSUPPORTED_EVENT',
  'SLUICE_BINLOG_ROWS_MOVED',
  'SLUICE_BINLOG_DATABASE_DROPPED',
]);

export function exitCodeOf(error: unknown): number {
  return isSluiceError(error) && !error.retriable && SETUP_ERRORS.has(error.code) ? EXIT_SETUP : EXIT_FAILURE;
}
