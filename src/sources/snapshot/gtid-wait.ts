// On MySQL, makes the rows a chunk read sees cover every transaction the stream has handed on.
//
// MySQL writes and syncs a transaction to the binlog (where the stream may read it at once) before
// InnoDB commits it and its rows become visible to other sessions. A chunk read in that instant
// would miss a change the stream has already handed on, and its `read` row, numbered later, would
// put the older state after it. So before the read, the server is waited for until its
// gtid_executed holds the stream's GTID set at the window's opening (the low watermark).
//
// That wait is enough because MySQL adds a transaction's GTID to gtid_executed only after the engine
// commit: in sql/binlog.cc, MYSQL_BIN_LOG::process_commit_stage_queue first runs
// ::finish_transaction_in_engines (ha_commit_low, the InnoDB commit) for every transaction of the
// commit group, and only then gtid_state->update_commit_group(first), which adds their GTIDs to
// executed_gtids (mysql/mysql-server, e.g. 008e09c2834b98143a8c067d4d225c90953050cf,
// sql/binlog.cc around L10720-L10760). With binlog_order_commits=OFF each session commits its
// engine itself in MYSQL_BIN_LOG::finish_commit, also before gtid_state->update_on_commit. So
// once a GTID is in gtid_executed, a transaction started afterwards sees its rows.
//
// MariaDB needs none of this: its START TRANSACTION WITH CONSISTENT SNAPSHOT is consistent with its
// binlog (chunk-reader.ts).
import type mysql from 'mysql2/promise';
import { SluiceError } from '../../core/errors.ts';

export interface GtidWait {
  /** The stream's GTID set at the window's opening: everything it has handed on up to there. */
  gtidSet: string;
  /** host:port, for the error. */
  server: string;
  timeoutSeconds: number;
}

/** How long a chunk read waits for the server to make the stream's transactions visible. */
export const GTID_WAIT_SECONDS = 60;

/** Returns once every transaction of `wait.gtidSet` is committed in the engine (and so visible). */
export async function waitUntilVisible(connection: mysql.Connection, wait: GtidWait): Promise<void> {
  if (wait.gtidSet === '') return;
  const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?) AS timedOut', [wait.gtidSet, wait.timeoutSeconds]);
  // 0: the set is executed; 1: the timeout passed first.
  if (Number(rows[0]?.timedOut) === 0) return;
  throw new SluiceError(
    'SLUICE_SNAPSHOT',
    `the snapshot waited ${wait.timeoutSeconds} s for ${wait.server} to commit GTID set ${wait.gtidSet}, which the binlog stream has already read, and it is still not in gtid_executed; ` +
      'the chunk is read only once those transactions are visible (see docs/snapshot.md). sluice retries from its last checkpoint; if this repeats, look for a commit stuck on the server (SHOW PROCESSLIST)',
    { retriable: true, context: { server: wait.server, gtidSet: wait.gtidSet } },
  );
}
