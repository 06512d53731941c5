// A short look into the binlog as a replica sees it, for what SHOW BINLOG EVENTS does not tell: when
// each event was written. Only event headers, group markers and statements are decoded; row events
// are skipped unparsed, so no table metadata is looked up and a large file streams cheaply. A MySQL
// compressed transaction is one event here ('transactionpayload'): its inner events stay unread.
import type { BinlogEvent, QueryEvent, RotateEvent } from '@vlasky/zongji';
import { SluiceError } from '../../../core/errors.ts';
import type { MysqlServerOptions } from '../../../core/mysql-connect.ts';
import { createZongJi, stopZongji } from '../decode/zongji.ts';

export interface PeekedEvent {
  /** zongji's event name: 'format', 'mariadbgtid', 'gtid', 'query', 'xid', 'rotate', ... */
  name: string;
  /** Header time, whole Unix seconds (UTC). */
  timestamp: number;
  file: string;
  /** Where the event starts in `file`, and where the next one starts. */
  offset: number;
  end: number;
  /** The statement of a query event. */
  statement?: string;
  /** A MySQL GTID event's GTID ('uuid:7'), and a Previous_gtids event's set (everything before its file). */
  gtid?: string;
  gtidSet?: string;
}

export interface PeekTarget {
  connection: MysqlServerOptions;
  /**
   * The replica id to dump with. The server drops an older dump of the same id, so this must be
   * sluice's own (source.serverId), never a guess that could belong to a real replica.
   */
  serverId: number;
}

// Decoding rows would need each table's columns from information_schema; the search needs none.
const UNREAD_EVENTS = ['tablemap', 'writerows', 'updaterows', 'deleterows'];
const HEADER_BYTES = 19;
const CHECKSUM_BYTES = 4;

/**
 * Streams the events of the binlog from the start of `file` on (across the files after it) to `visit`
 * until it returns true. The dump is non-blocking, so at the end of the binlog the server hangs up,
 * which rejects: a caller stops at a position it knows exists (SHOW MASTER STATUS) before that.
 */
export async function peekBinlog(target: PeekTarget, file: string, visit: (event: PeekedEvent) => boolean): Promise<void> {
  const { connection } = target;
  const server = `${connection.host}:${connection.port}`;
  const zongji = createZongJi(connection);
  let currentFile = file;
  let settled = false;
  try {
    await new Promise<void>((resolve, reject) => {
      const finish = (error?: Error): void => {
        if (settled) return;
        settled = true;
        if (error) reject(error);
        else resolve();
      };
      zongji.on('error', (error: Error) => finish(peekError(error, server, currentFile)));
      zongji.on('binlog', (event: BinlogEvent) => {
        if (settled) return;
        try {
          const name = event.getEventName();
          const rotate = name === 'rotate' ? (event as RotateEvent) : undefined;
          // The dump opens each file with an artificial rotate (position 0) that only names the file.
          if (event.nextPosition > 0) {
            const length = event.size + HEADER_BYTES + (zongji.useChecksum ? CHECKSUM_BYTES : 0);
            const peeked: PeekedEvent = {
              name,
              timestamp: Math.floor(event.timestamp / 1000),
              file: currentFile,
              offset: event.nextPosition - length,
              end: event.nextPosition,
              ...(name === 'query' ? { statement: (event as QueryEvent).query } : {}),
              ...(name === 'gtid' ? { gtid: (event as unknown as { gtid: string }).gtid } : {}),
              ...(name === 'previousgtids' ? { gtidSet: (event as unknown as { gtidSet: string }).gtidSet } : {}),
            };
            if (visit(peeked)) return finish();
          }
          if (rotate) currentFile = rotate.binlogName;
        } catch (error) {
          finish(error as Error);
        }
      });
      zongji.start({ serverId: target.serverId, filename: file, position: 4, nonBlock: true, excludeEvents: UNREAD_EVENTS });
    });
  } finally {
    await stopZongji(zongji);
  }
}

function peekError(error: Error, server: string, file: string): SluiceError {
  if (error instanceof SluiceError) return error;
  if ((error as { errno?: number }).errno === 1236) {
    return new SluiceError('SLUICE_BINLOG_POSITION_PURGED', `${server} no longer has binlog file ${file}: ${error.message}`, {
      cause: error,
      context: { server, position: `${file}:4` },
    });
  }
  return new SluiceError('SLUICE_BINLOG_STREAM', `reading the binlog of ${server} from ${file} failed: ${error.message}`, {
    cause: error,
    retriable: true,
    context: { server, position: file },
  });
}
