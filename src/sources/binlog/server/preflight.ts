// Checks, before any event is read, that the server can be a binlog source for sluice, and turns
// each way it cannot into an error that says what is wrong and how to fix it.
import mysql from 'mysql2/promise';
import { SluiceError } from '../../../core/errors.ts';
import { connectMysql, type MysqlServerOptions } from '../../../core/mysql-connect.ts';
import { readBinlogHead } from './binlog-head.ts';

export interface ServerFacts {
  version: string;
  isMariaDb: boolean;
  /** Whether the server numbers transactions with GTIDs sluice can resume from. */
  hasGtid: boolean;
  /** @@gtid_binlog_pos (MariaDB) or @@gtid_executed (MySQL), when hasGtid. */
  gtidPosition: string | undefined;
  binlogFiles: { name: string; size: number }[];
  /** SHOW BINARY LOG STATUS (SHOW MASTER STATUS before MySQL 8.2, and on MariaDB): the end of the binlog now. */
  head: { file: string; offset: number };
  /** @@binlog_row_metadata (FULL or MINIMAL); undefined on servers without it (MySQL 5.7, MariaDB before 10.5), whose TableMaps carry no column metadata. */
  rowMetadata: string | undefined;
  /** The TLS version and cipher of sluice's connection ('TLSv1.3 TLS_AES_256_GCM_SHA384'), undefined in the clear. */
  tls: string | undefined;
}

/** Reads what sluice needs to know of the server and fails on the first setting that does not fit. */
export async function preflight(options: MysqlServerOptions): Promise<ServerFacts> {
  const server = `${options.host}:${options.port}`;
  const connection = await connectMysql(options);
  try {
    const variables = await readVariables(connection);
    const version = variables.get('version') ?? '';
    const isMariaDb = /mariadb/i.test(version);
    requireSetting(server, variables, 'log_bin', ['ON', '1'], 'log_bin=mysql-bin (and a server_id) in the [mysqld] section of my.cnf, then restart the server');
    requireSetting(server, variables, 'binlog_format', ['ROW'], 'binlog_format=ROW in my.cnf and SET GLOBAL binlog_format=ROW');
    requireSetting(server, variables, 'binlog_row_image', ['FULL'], 'binlog_row_image=FULL in my.cnf and SET GLOBAL binlog_row_image=FULL');
    // FULL names the columns in every TableMap. MINIMAL leaves the names out but keeps types,
    // signedness and character sets: the names come from information_schema and the schema history.
    // NO_LOG leaves all of it out, and a server that has the setting can always give MINIMAL.
    const rowMetadata = variables.get('binlog_row_metadata')?.toUpperCase();
    if (rowMetadata !== undefined) {
      requireSetting(server, variables, 'binlog_row_metadata', ['FULL', 'MINIMAL'], 'binlog_row_metadata=FULL (or MINIMAL) in my.cnf and SET GLOBAL binlog_row_metadata=FULL');
    }
    // binlog_transaction_compression (MySQL 8.0.20+) may be ON: each transaction then comes as one
    // zstd-compressed TRANSACTION_PAYLOAD event, which decode/transaction-payload.ts reads.
    await requireGrants(connection, server, options.user, rowMetadata !== 'FULL');
    const hasGtid = isMariaDb || variables.get('gtid_mode') === 'ON';
    // MySQL breaks a set of several UUIDs over lines (',\n'); the set means the same without them.
    const gtidPosition = isMariaDb ? variables.get('gtid_binlog_pos') : hasGtid ? variables.get('gtid_executed')?.replace(/\s+/g, '') : undefined;
    const [logs] = await connection.query('SHOW BINARY LOGS');
    const binlogFiles = (logs as { Log_name: string; File_size: number }[]).map((row) => ({ name: row.Log_name, size: Number(row.File_size) }));
    const head = await readBinlogHead(connection);
    if (!head) throw new SluiceError('SLUICE_BINLOG_SETTING', `${server} reports no binlog status (SHOW BINARY LOG STATUS / SHOW MASTER STATUS is empty): is log_bin on?`, { context: { server } });
    return { version, isMariaDb, hasGtid, gtidPosition, binlogFiles, head, rowMetadata, tls: await readTls(connection) };
  } finally {
    await connection.end().catch(() => undefined);
  }
}

async function readVariables(connection: mysql.Connection): Promise<Map<string, string>> {
  const [rows] = await connection.query(
    `SHOW GLOBAL VARIABLES WHERE Variable_name IN
      ('version', 'log_bin', 'binlog_format', 'binlog_row_image', 'binlog_row_metadata', 'gtid_mode', 'gtid_binlog_pos', 'gtid_executed')`,
  );
  return new Map((rows as { Variable_name: string; Value: string }[]).map((row) => [row.Variable_name, String(row.Value)]));
}

async function readTls(connection: mysql.Connection): Promise<string | undefined> {
  const [rows] = await connection.query("SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher')");
  const status = new Map((rows as { Variable_name: string; Value: string }[]).map((row) => [row.Variable_name, String(row.Value)]));
  const version = status.get('Ssl_version');
  return version ? `${version} ${status.get('Ssl_cipher') ?? ''}`.trim() : undefined;
}

function requireSetting(server: string, variables: Map<string, string>, name: string, accepted: string[], fix: string): void {
  const value = variables.get(name);
  if (value !== undefined && accepted.includes(value.toUpperCase())) return;
  throw new SluiceError(
    'SLUICE_BINLOG_SETTING',
    `${server} has ${name}=${value ?? '(unset)'}, sluice needs ${name}=${accepted[0]}. Fix: ${fix}.`,
    { context: { server, variable: name, value } },
  );
}

async function requireGrants(connection: mysql.Connection, server: string, user: string, readsColumnNames: boolean): Promise<void> {
  const [rows] = await connection.query('SHOW GRANTS FOR CURRENT_USER()');
  const grants = (rows as Record<string, string>[]).map((row) => Object.values(row)[0] ?? '').join('\n').toUpperCase();
  const all = /GRANT ALL PRIVILEGES ON \*\.\*/.test(grants);
  const account = await currentAccount(connection, user);
  const globalLines = grants.split('\n').filter((line) => / ON \*\.\* /.test(line)).join('\n');
  const missing: string[] = [];
  if (!all && !/REPLICATION SLAVE/.test(globalLines)) missing.push('REPLICATION SLAVE');
  // MariaDB 10.5 renamed REPLICATION CLIENT to BINLOG MONITOR (SHOW BINARY LOGS, SHOW MASTER STATUS).
  if (!all && !/REPLICATION CLIENT|BINLOG MONITOR|SUPER/.test(globalLines)) missing.push('REPLICATION CLIENT');
  if (missing.length > 0) {
    throw new SluiceError(
      'SLUICE_MYSQL_PRIVILEGE_MISSING',
      `user '${user}' on ${server} lacks ${missing.join(' and ')}; sluice reads the binlog as a replica. ` +
        `Fix: GRANT ${missing.join(', ')} ON *.* TO ${account};`,
      { context: { server, missing } },
    );
  }
  // information_schema shows a user only the tables it has some privilege on. Which tables the
  // routing captures is known only from the binlog, so this asks for SELECT somewhere; a table
  // the user cannot see is named when its rows come.
  if (readsColumnNames && !all && !/\bSELECT\b|ALL PRIVILEGES/.test(grants)) {
    throw new SluiceError(
      'SLUICE_MYSQL_PRIVILEGE_MISSING',
      `user '${user}' on ${server} has no SELECT privilege; with binlog_row_metadata other than FULL the binlog carries no column names, ` +
        `and sluice reads them from information_schema, which shows a user only the tables it may read. ` +
        `Fix: GRANT SELECT ON <database>.* TO ${account}; for each captured database (or set binlog_row_metadata=FULL).`,
      { context: { server, missing: ['SELECT'] } },
    );
  }
}

/** The account the server logged sluice in as ('sluice'@'10.%'), quoted for a GRANT statement. */
async function currentAccount(connection: mysql.Connection, user: string): Promise<string> {
  const [rows] = await connection.query('SELECT CURRENT_USER() AS account');
  const account = String((rows as { account: string }[])[0]?.account ?? '');
  const at = account.lastIndexOf('@');
  const quote = (name: string) => `'${name.replaceAll("'", "''")}'`;
  return at < 0 ? `${quote(user)}@'<host>'` : `${quote(account.slice(0, at))}@${quote(account.slice(at + 1))}`;
}
