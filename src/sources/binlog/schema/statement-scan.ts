// Lists the statements (Query events: DDL, mostly) the binlog holds between two positions, ahead of
// the stream, with SHOW BINLOG EVENTS (the grants sluice already needs: BINLOG MONITOR on MariaDB,
// REPLICATION SLAVE on MySQL). The schema tracker asks whether a table was changed between the point
// the stream is at and the moment it read information_schema. Row events are listed by the server
// but not kept; what was scanned once is not scanned again as the stream moves on.
import type mysql from 'mysql2/promise';
import { compareFilePositions, type FilePosition } from '../position/position-order.ts';

export interface LoggedStatement {
  statement: string;
  /** The session's database when the server logged it ('' for none). */
  defaultSchema: string;
  /** Where the event ends: the boundary after it. */
  end: FilePosition;
  /** 'file:offset (GTID d-s-n)', for messages. */
  describe: string;
}

interface EventRow {
  Log_name: string;
  Pos: number | string;
  Event_type: string;
  End_log_pos: number | string;
  Info: string;
}

const PAGE = 2000;
const USE_PREFIX = /^use `((?:``|[^`])*)`; ([\s\S]*)$/;
// MariaDB: 'BEGIN GTID 0-1-9' / 'GTID 0-1-9'; MySQL: "SET @@SESSION.GTID_NEXT= 'uuid:9'".
const GTID_INFO = /GTID_NEXT= '([^']+)'|GTID (\S+)/;
const TRANSACTION_CONTROL = /^(BEGIN|COMMIT|ROLLBACK|XA |SAVEPOINT)/i;

export class StatementScanner {
  /** Statements ending in (cachedFrom, cachedTo], in binlog order. */
  private cached: LoggedStatement[] = [];
  private cachedFrom: FilePosition | undefined;
  private cachedTo: FilePosition | undefined;

  constructor(private readonly connection: () => Promise<mysql.Connection>) {}

  /** Statements whose events start at or after `from` and before `to`. */
  async between(from: FilePosition, to: FilePosition): Promise<LoggedStatement[]> {
    const cachedFrom = this.cachedFrom;
    const cachedTo = this.cachedTo;
    if (!cachedFrom || !cachedTo || compareFilePositions(from, cachedFrom) < 0 || compareFilePositions(from, cachedTo) > 0) {
      this.cached = await this.scan(from, to);
      this.cachedFrom = from;
      this.cachedTo = to;
    } else if (compareFilePositions(to, cachedTo) > 0) {
      this.cached.push(...(await this.scan(cachedTo, to)));
      this.cachedTo = to;
    }
    return this.cached.filter((statement) => compareFilePositions(statement.end, from) > 0 && compareFilePositions(statement.end, to) <= 0);
  }

  private async scan(from: FilePosition, to: FilePosition): Promise<LoggedStatement[]> {
    const connection = await this.connection();
    const [logs] = await connection.query('SHOW BINARY LOGS');
    const files = (logs as { Log_name: string }[]).map((row) => row.Log_name).filter((file) => compareFilePositions({ file, offset: 0 }, { file: from.file, offset: 0 }) >= 0 && compareFilePositions({ file, offset: 0 }, { file: to.file, offset: 0 }) <= 0);
    const found: LoggedStatement[] = [];
    for (const file of files) {
      let offset = file === from.file ? from.offset : 4;
      let gtid = '';
      for (;;) {
        const [rows] = await connection.query(`SHOW BINLOG EVENTS IN ? FROM ${Number(offset)} LIMIT ${PAGE}`, [file]);
        const events = rows as EventRow[];
        let reachedEnd = false;
        for (const event of events) {
          const start = Number(event.Pos);
          if (file === to.file && start >= to.offset) {
            reachedEnd = true;
            break;
          }
          if (event.Event_type === 'Gtid') gtid = GTID_INFO.exec(event.Info)?.slice(1).find((part) => part !== undefined) ?? '';
          if (event.Event_type !== 'Query' && event.Event_type !== 'Query_compressed') continue;
          const use = USE_PREFIX.exec(event.Info);
          const statement = use ? use[2]! : event.Info;
          if (TRANSACTION_CONTROL.test(statement)) continue;
          const end = { file, offset: Number(event.End_log_pos) };
          found.push({
            statement,
            defaultSchema: use ? use[1]!.replace(/``/g, '`') : '',
            end,
            describe: `${file}:${end.offset}${gtid ? ` (GTID ${gtid})` : ''}`,
          });
        }
        if (reachedEnd || events.length < PAGE) break;
        offset = Number(events.at(-1)!.End_log_pos);
      }
      if (file === to.file) break;
    }
    return found;
  }
}
