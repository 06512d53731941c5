// A binlog event too large to pass. Two limits can stop one, and neither is lifted by a restart, so
// both stop the daemon with a code and the setting to change instead of being retried for ever:
// - the server's: a dump thread refuses to send an event past its max_allowed_packet, with error 1236
//   "log event entry exceeded max_allowed_packet; Increase max_allowed_packet on master". MariaDB
//   10.11's dump thread raises its own limit to 1 GiB, the most max_allowed_packet can be (measured:
//   a 128 MiB rows event reaches a replica with the global at 1 MiB), so there only an event past
//   1 GiB meets it; servers that keep the global value for the dump meet it sooner.
// - the client's: mysql2 joins the 16 MiB protocol packets of an event into one Buffer with no limit
//   of its own, but Node.js cannot hold a string past 536,870,888 UTF-16 units (~512 MiB), so zongji
//   fails to decode a longer TEXT value; an event past 4 GiB cannot even be a Buffer.
import { constants } from 'node:buffer';
import { SluiceError } from '../../../core/errors.ts';

/** The error to stop with when `error` says an event was too large; undefined for any other error. */
export function eventTooLargeError(error: Error, server: string, at: string): SluiceError | undefined {
  const errno = (error as { errno?: number }).errno;
  if (errno === 1236 && /max_allowed_packet/i.test(error.message)) {
    return new SluiceError(
      'SLUICE_BINLOG_EVENT_TOO_LARGE',
      `${server} refused to send the binlog event after ${at}: it is larger than the server's max_allowed_packet (${error.message}). ` +
        'Raise max_allowed_packet on the server (SET GLOBAL max_allowed_packet = 1073741824, and in my.cnf so it survives a restart) and start sluice again; ' +
        'an event past 1 GiB, the most max_allowed_packet can be, cannot be sent to any replica: move past it with `sluice checkpoint set`, knowing its changes are lost.',
      { cause: error, context: { server, position: at, setting: 'max_allowed_packet' } },
    );
  }
  const code = (error as { code?: string }).code;
  if (code === 'ERR_STRING_TOO_LONG' || code === 'ERR_BUFFER_TOO_LARGE' || /Cannot create a string longer than|Array buffer allocation failed/.test(error.message)) {
    return new SluiceError(
      'SLUICE_BINLOG_EVENT_TOO_LARGE',
      `the binlog event after ${at} from ${server} holds a value too large for Node.js to decode (${error.message}): ` +
        `a text value past ${constants.MAX_STRING_LENGTH.toLocaleString('en')} UTF-16 units (about 512 MiB), or an event past ${Math.floor(constants.MAX_LENGTH / 2 ** 30)} GiB. ` +
        "Exclude the table (routing.exclude) or move past the event with `sluice checkpoint set`, knowing its changes are lost; keep such values below 512 MiB (the server's max_allowed_packet bounds what a client may write).",
      { cause: error, context: { server, position: at, limit: 'Node.js string length' } },
    );
  }
  return undefined;
}
