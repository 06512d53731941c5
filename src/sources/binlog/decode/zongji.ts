// The one place sluice builds a zongji replica connection (the stream and the short peeks of
// position/binlog-peek.ts both come here), so that every reader decodes with the same options and
// the same TableMap fixes (table-map-patches.ts, loaded with this module) and row readers
// (rows-event-patches.ts), reads MySQL's compressed
// transactions (transaction-payload.ts, likewise), and stops the same way.
import ZongJi from '@vlasky/zongji';
import type { MysqlServerOptions } from '../../../core/mysql-connect.ts';
import { readGreeting } from '../../../core/mysql-greeting.ts';
import { DEFAULT_TLS, mysql2Tls } from '../../../core/mysql-tls.ts';
import './table-map-patches.ts';
import './transaction-payload.ts';
import { readRowsAsArrays } from './rows-event-patches.ts';

/** zongji as sluice uses it: the fields and hooks its typings leave out. */
export type ZongJiInstance = InstanceType<typeof ZongJi> & {
  options: { filename?: string; position?: number };
  gtidSet?: string;
  stopped: boolean;
  /** Whether the dump's events end in a 4-byte checksum (binlog_checksum=CRC32). */
  useChecksum: boolean;
  /** The mysql2 options zongji builds its two connections (queries, binlog dump) from, at start(). */
  _dsn: Record<string, unknown>;
  /** mysql2's connection; `_command` is zongji's Binlog command while the dump runs (lib/sequence/binlog.js). */
  connection?: { pause(): void; resume(): void; _command?: { binlogData?(packet: object, connection: object): unknown } | null } | null;
  /** zongji's cache of column descriptions by table id, filled by _fetchTableInfo. */
  tableMap: Record<number, { columnSchemas: unknown[]; parentSchema: string; tableName: string } | undefined>;
  /** Called, with the replication socket paused, for a TableMap without column names; calls `next` once tableMap holds the table. */
  _fetchTableInfo(event: ZongJiTableMapEvent, next: () => void): void;
};

/** The TableMap event zongji hands its lookup (lib/binlog_event.js; schema/table-map-columns.ts reads more of it). */
export interface ZongJiTableMapEvent {
  tableId: number;
  schemaName: string;
  tableName: string;
}

export function createZongJi(connection: MysqlServerOptions): ZongJiInstance {
  const options = {
    host: connection.host,
    port: connection.port,
    user: connection.user,
    password: connection.password,
    connectTimeout: connection.connectTimeoutMs,
    // Exact values: temporal types as text in UTC, 64-bit integers and DECIMAL as strings, JSON as text.
    dateStrings: true,
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: true,
    jsonStrings: true,
  };
  const zongji = new ZongJi(options as ConstructorParameters<typeof ZongJi>[0]) as ZongJiInstance;
  // Row images as arrays in column order: BinlogSource turns them into cells in place (stream/row-cells.ts).
  readRowsAsArrays(zongji);
  // source.tls for both of zongji's connections. mysql2 knows no 'preferred' (TLS or fail), and
  // zongji builds its connections from fixed options at start(), so the server's greeting is read
  // first. The certificate files are read then too, so a renewed one is used by the next start.
  const start = zongji.start.bind(zongji);
  zongji.start = (startOptions?: Parameters<typeof start>[0]) => {
    const tls = connection.tls ?? DEFAULT_TLS;
    const offered =
      tls.mode === 'preferred' ? readGreeting(connection.host, connection.port, connection.connectTimeoutMs).then((greeting) => greeting?.offersTls ?? false) : Promise.resolve(true);
    void offered
      .then((offers) => {
        // stop() before the greeting came: starting now would open connections nobody stops.
        if (zongji.stopped) return;
        zongji._dsn = { ...options, ...mysql2Tls(tls, connection, 'source', offers) };
        start(startOptions);
      })
      .catch((error: unknown) => zongji.emit('error', error));
  };
  return zongji;
}

export interface StoppableZongji {
  once(event: 'stopped', listener: () => void): unknown;
  stop(): void;
}

const STOP_WAIT_MS = 2000;

/**
 * Stops a zongji instance and waits for it to say so, but not forever: a stream stuck on a dead
 * socket never emits 'stopped', and shutting down must not hang on it.
 */
export async function stopZongji(zongji: StoppableZongji): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, STOP_WAIT_MS);
    zongji.once('stopped', () => {
      clearTimeout(timer);
      resolve();
    });
    zongji.stop();
  });
}
