// A binlog source that is never started: the test plays zongji, handing it events and errors of the
// shapes zongji produces, for paths the private MariaDB cannot produce or cannot produce on cue.
import pino from 'pino';
import { Router } from '../../src/routing/router.ts';
import { BinlogSource } from '../../src/sources/binlog/stream/binlog-source.ts';

export interface FedSource {
  source: BinlogSource;
  /** What the source reads of zongji: its resume position (zongji moves it to each event's end) and GTID set. */
  zongji: { options: { filename: string; position: number }; gtidSet: string; tableMap: Record<number, unknown> };
  /** Hands on an event as zongji's 'binlog' listener would; moves the position to its end first, as zongji does. */
  emit(event: { name: string; nextPosition: number; query?: string; schema?: string; gtid?: string }): void;
  /** An error as zongji's 'error' listener receives it. */
  report(error: Error): void;
}

export function fedSource(include: string[]): FedSource {
  const source = new BinlogSource({
    connection: { host: '127.0.0.1', port: 1, user: 'u', password: 'p', connectTimeoutMs: 1000 },
    serverId: 1,
    router: new Router({ include, exclude: [], rules: [] }),
    maxQueuedItems: 100,
    firstSequence: 0n,
    logger: pino({ level: 'silent' }),
  });
  const zongji = { options: { filename: 'mysql-bin.000007', position: 4 }, gtidSet: '0-1-40', tableMap: {} };
  const internals = source as unknown as { onBinlogEvent(z: object, e: object): void; onStreamError(z: object, e: Error): void };
  return {
    source,
    zongji,
    emit: ({ name, ...event }) => {
      zongji.options.position = event.nextPosition;
      internals.onBinlogEvent(zongji, { getEventName: () => name, timestamp: 0, ...event });
    },
    report: (error) => internals.onStreamError(zongji, error),
  };
}
