// A private Oracle MySQL 9.7 with the binlog and GTIDs on, for the tests. The binaries come from
// Debian sid (see mysql-fetch.ts), unpacked under .sluice/mysql-9.7 on first use, and run through
// sid's own loader and libraries. Like the MariaDB script, the server owns its data directory,
// socket and port, listens on 127.0.0.1 only, and never reads the machine's /etc/mysql.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { binlogServerArgs, freePort, launchWithSluiceUser, rootConnect, serverFolder, SLUICE_PASSWORD, SLUICE_USER, stopMariaDb, type MariaDbServer } from './mariadb.ts';
import { ensureMySqlPrefix, type MySqlPrefix } from './mysql-fetch.ts';

const execFileAsync = promisify(execFile);

export const MYSQL_PREFIX_DIR = join(fileURLToPath(new URL('../..', import.meta.url)), '.sluice', 'mysql-9.7');

export interface MySqlOptions {
  /** Folder for data, binlogs, socket and logs. Created when missing. */
  dir: string;
  /** Where the unpacked MySQL lives (fetched when missing); .sluice/mysql-9.7 of the repository by default. */
  prefixDir?: string;
  port?: number;
  serverId?: number;
  rowMetadata?: 'FULL' | 'MINIMAL';
  /** gtid_mode=ON with enforce_gtid_consistency (the default), or OFF for file+offset positions. */
  gtid?: boolean;
  /** Extra mysqld flags, e.g. ['--binlog-transaction-compression=ON']. */
  extraArgs?: string[];
  log?: (line: string) => void;
}

/** The MariaDB handle's shape (so the daemon fixtures take either), with the same build's client tools. */
export interface MySqlServer extends MariaDbServer {
  /** argv for execFile: [loader, '--library-path', libs, <root>/usr/bin/<name>]. */
  tool(name: 'mysqlbinlog' | 'mysql' | 'mysqladmin'): string[];
}

/** argv that runs a binary of the prefix on sid's loader and libraries, whatever the host's glibc. */
export function loaderCommand(prefix: MySqlPrefix, binary: string): string[] {
  const libs = join(prefix.root, 'usr/lib/x86_64-linux-gnu');
  return [join(libs, 'ld-linux-x86-64.so.2'), '--library-path', libs, join(prefix.root, binary)];
}

/** Starts (or reuses, when its pid file names a live process) the private MySQL in `dir`. */
export async function startMySql(options: MySqlOptions): Promise<MySqlServer> {
  const prefix = await ensureMySqlPrefix(options.prefixDir ?? MYSQL_PREFIX_DIR, options.log);
  const { dir, dataDir, binlogDir, socket, pidFile, portFile, runningPort } = serverFolder(options.dir, 'mysql');
  const filesDir = join(dir, 'files');
  mkdirSync(filesDir, { recursive: true });
  if (runningPort !== undefined) return handle(prefix, dir, binlogDir, socket, runningPort, pidFile);

  const mysqld = loaderCommand(prefix, 'usr/sbin/mysqld');
  const share = join(prefix.root, 'usr/share/mysql');
  // Without these, mysqld reads the machine's /etc/mysql/my.cnf (MariaDB's), MariaDB's error
  // messages from /usr/share/mysql, and plugins from /usr/lib/mysql/plugin.
  const common = [
    '--no-defaults',
    `--basedir=${join(prefix.root, 'usr')}`,
    `--lc-messages-dir=${share}`,
    `--character-sets-dir=${join(share, 'charsets')}`,
    `--plugin-dir=${join(prefix.root, 'usr/lib/mysql/plugin')}`,
    `--datadir=${dataDir}`,
    // mysqld refuses to start when the default folder for LOAD DATA/SELECT INTO OUTFILE is missing.
    `--secure-file-priv=${filesDir}`,
    '--user=root',
  ];
  if (!existsSync(join(dataDir, 'mysql.ibd'))) {
    rmSync(dataDir, { recursive: true, force: true });
    await execFileAsync(mysqld[0]!, [...mysqld.slice(1), ...common, '--initialize-insecure', `--log-error=${join(dir, 'init.log')}`]).catch((error: Error) => {
      const log = existsSync(join(dir, 'init.log')) ? readFileSync(join(dir, 'init.log'), 'utf8') : '';
      throw new Error(`mysqld --initialize-insecure in ${dataDir} failed: ${error.message}\n${log.slice(-2000)}`);
    });
  }

  const port = options.port ?? (await freePort());
  const gtid = options.gtid ?? true;
  const args = [
    ...common,
    ...binlogServerArgs({ dir, socket, port, pidFile, binlogDir, serverId: options.serverId, rowMetadata: options.rowMetadata }),
    // The X protocol would listen on 33060 whatever port is given here.
    '--mysqlx=OFF',
    `--gtid-mode=${gtid ? 'ON' : 'OFF'}`,
    `--enforce-gtid-consistency=${gtid ? 'ON' : 'OFF'}`,
    ...(options.extraArgs ?? []),
  ];
  // MySQL's names for what sluice needs: reading the binlog, SHOW BINARY LOGS / SHOW BINARY LOG
  // STATUS, and SELECT. caching_sha2_password is MySQL 9's only built-in password plugin.
  await launchWithSluiceUser([...mysqld, ...args], { dir, socket, port, portFile, label: 'MySQL' }, {
    identified: 'IDENTIFIED WITH caching_sha2_password BY',
    grants: 'REPLICATION SLAVE, REPLICATION CLIENT, SELECT',
  });
  return handle(prefix, dir, binlogDir, socket, port, pidFile);
}

function handle(prefix: MySqlPrefix, dir: string, binlogDir: string, socket: string, port: number, pidFile: string): MySqlServer {
  return {
    host: '127.0.0.1',
    port,
    socket,
    dir,
    binlogDir,
    user: SLUICE_USER,
    password: SLUICE_PASSWORD,
    tool: (name) => loaderCommand(prefix, `usr/bin/${name}`),
    rootConnection: (database?: string) => rootConnect(socket, database),
    stop: () => stopMariaDb(pidFile),
  };
}
