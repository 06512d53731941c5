// The source server a scenario runs on, MariaDB or MySQL, with what differs between them for a test
// that waits for checkpoints: how the server's GTIDs up to its head read (MariaDB's position
// '0-1-42', MySQL's executed set 'uuid:1-77,...'), and whether a checkpoint's GTIDs hold them.
import type { BinlogHiveRecord as CheckpointRecord } from '../../src/pipeline/binlog-to-hive-record.ts';
import type { MariaDbServer } from '../servers/mariadb.ts';
import type { MySqlServer } from '../servers/mysql.ts';
import { gtidBinlogPos, gtidSeq, waitForCheckpoint, type DaemonWorkspace, type RunningDaemon } from './daemon.ts';
import { gtidExecuted, waitForMySqlCheckpoint } from './mysql-gtid.ts';

/** Where the server's binlog ends now. */
export interface BinlogHead {
  file: string;
  offset: number;
}

export interface SourceServer {
  /** 'MariaDB' or 'MySQL 9.7', for test names and messages. */
  name: string;
  server: MariaDbServer;
  /** The server's GTIDs up to its head, as `source.start: { gtid }` takes them. */
  head(): Promise<string>;
  /** The binlog's end now, by file and offset. */
  binlogHead(): Promise<BinlogHead>;
  /** Whether a checkpoint's GTIDs (`gtidSet`) hold everything up to `head` (an earlier head()). */
  covers(gtidSet: string | undefined, head: string): Promise<boolean>;
  /** Waits until a checkpoint covers `head`; fails when the daemon exits first. */
  waitForCheckpoint(workspace: DaemonWorkspace, head: string, timeoutMs: number, daemon?: RunningDaemon): Promise<CheckpointRecord>;
}

/** A MariaDB (testMariaDb()): one GTID domain in the tests, so a position is covered by its sequence number. */
export function mariadbSource(server: MariaDbServer): SourceServer {
  return {
    name: 'MariaDB',
    server,
    head: () => gtidBinlogPos(server),
    binlogHead: () => binlogHead(server, 'SHOW MASTER STATUS'),
    covers: async (gtidSet, head) => gtidSeq(gtidSet) >= gtidSeq(head),
    waitForCheckpoint: (workspace, head, timeoutMs, daemon) => waitForCheckpoint(workspace, head, timeoutMs, daemon),
  };
}

/** A MySQL 9.7 (testMysql()): MySQL itself says whether one GTID set contains another (GTID_SUBSET). */
export function mysqlSource(server: MySqlServer): SourceServer {
  return {
    name: 'MySQL 9.7',
    server,
    head: () => gtidExecuted(server),
    // MySQL 8.4 removed SHOW MASTER STATUS.
    binlogHead: () => binlogHead(server, 'SHOW BINARY LOG STATUS'),
    covers: async (gtidSet, head) => {
      if (gtidSet === undefined) return false;
      const connection = await server.rootConnection();
      try {
        const [rows] = await connection.query('SELECT GTID_SUBSET(?, ?) AS covered', [head, gtidSet]);
        return Number((rows as { covered: number | string }[])[0]!.covered) === 1;
      } finally {
        await connection.end();
      }
    },
    waitForCheckpoint: async (workspace, head, timeoutMs, daemon) => {
      if (!daemon) throw new Error('waiting for a MySQL checkpoint needs the running daemon');
      return waitForMySqlCheckpoint(server, workspace, head, daemon, timeoutMs);
    },
  };
}

async function binlogHead(server: MariaDbServer, statement: string): Promise<BinlogHead> {
  const connection = await server.rootConnection();
  try {
    const [rows] = await connection.query(statement);
    const row = (rows as { File: string; Position: number | string }[])[0]!;
    return { file: row.File, offset: Number(row.Position) };
  } finally {
    await connection.end();
  }
}
