// A private MariaDB with the binlog on, for the tests, the demo and the benchmark.
// It owns its data directory, socket and port, listens on 127.0.0.1 only, and never
// touches a system MariaDB (which may be on 3306).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { isProcessAlive } from '../../src/core/process-alive.ts';

const execFileAsync = promisify(execFile);

export interface MariaDbOptions {
  /** Folder for data, binlogs, socket and logs. Created when missing. */
  dir: string;
  /** TCP port on 127.0.0.1; a free one is picked when absent. */
  port?: number;
  serverId?: number;
  /** binlog_row_metadata: FULL is what sluice asks for; MINIMAL exists to test the fallback. */
  rowMetadata?: 'FULL' | 'MINIMAL' | 'NO_LOG';
  /** Extra mariadbd flags, e.g. ['--binlog-format=MIXED'] to test the config checks. */
  extraArgs?: string[];
}

export interface MariaDbServer {
  host: '127.0.0.1';
  port: number;
  socket: string;
  dir: string;
  binlogDir: string;
  /** The replication user sluice connects as (REPLICATION SLAVE, BINLOG MONITOR, SELECT). */
  user: string;
  password: string;
  /** A root connection over the socket, for test fixtures. */
  rootConnection(database?: string): Promise<mysql.Connection>;
  stop(): Promise<void>;
}

export const SLUICE_USER = 'sluice';
export const SLUICE_PASSWORD = 'sluice-test-password';

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function findBinary(name: string): string {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(
    `${name} was not found. Install Debian's MariaDB packages: apt-get install mariadb-server mariadb-client`,
  );
}

/** Starts (or reuses, when its pid file names a live process) the private server in `dir`. */
export async function startMariaDb(options: MariaDbOptions): Promise<MariaDbServer> {
  const { dir, dataDir, binlogDir, socket, pidFile, portFile, runningPort } = serverFolder(options.dir, 'mariadb');
  if (runningPort !== undefined) return handle(dir, binlogDir, socket, runningPort, pidFile);

  if (!existsSync(join(dataDir, 'mysql'))) {
    rmSync(dataDir, { recursive: true, force: true });
    await execFileAsync(findBinary('mariadb-install-db'), [
      '--no-defaults',
      `--datadir=${dataDir}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      '--user=root',
    ]);
  }

  const port = options.port ?? (await freePort());
  const args = [
    '--no-defaults',
    `--datadir=${dataDir}`,
    '--user=root',
    ...binlogServerArgs({ dir, socket, port, pidFile, binlogDir, serverId: options.serverId, rowMetadata: options.rowMetadata }),
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_unicode_ci',
    ...(options.extraArgs ?? []),
  ];
  // The grants sluice needs and nothing more: reading the binlog, SHOW BINARY LOGS and the
  // binlog variables, and SELECT for batch copies and column lookups.
  await launchWithSluiceUser([findBinary('mariadbd'), ...args], { dir, socket, port, portFile, label: 'MariaDB' }, {
    identified: 'IDENTIFIED BY',
    grants: 'REPLICATION SLAVE, BINLOG MONITOR, SELECT',
  });
  return handle(dir, binlogDir, socket, port, pidFile);
}

/**
 * The files of a private server in `dir` (made absolute), its binlog and temporary folders created,
 * and the port of the server already running there, when its pid file names a live process.
 */
export function serverFolder(folder: string, name: 'mariadb' | 'mysql') {
  const dir = resolve(folder);
  const layout = {
    dir,
    dataDir: join(dir, 'data'),
    binlogDir: join(dir, 'binlog'),
    socket: join(dir, `${name}.sock`),
    pidFile: join(dir, `${name}.pid`),
    portFile: join(dir, 'port'),
  };
  mkdirSync(layout.binlogDir, { recursive: true });
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const running = readRunningPid(layout.pidFile) !== undefined && existsSync(layout.portFile);
  return { ...layout, runningPort: running ? Number(readFileSync(layout.portFile, 'utf8')) : undefined };
}

export function readRunningPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0 || !isProcessAlive(pid)) return undefined;
  // A pid file outlives a kill -9, and with the kernel's default pid_max of 32768 a long test run
  // hands its pid to another process: only a server started with this very pid file is ours to stop.
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return pid; // no /proc: trust the pid file
  }
  return cmdline.includes(`--pid-file=${resolve(pidFile)}`) ? pid : undefined;
}

function handle(dir: string, binlogDir: string, socket: string, port: number, pidFile: string): MariaDbServer {
  return {
    host: '127.0.0.1',
    port,
    socket,
    dir,
    binlogDir,
    user: SLUICE_USER,
    password: SLUICE_PASSWORD,
    rootConnection: (database?: string) => rootConnect(socket, database),
    stop: () => stopMariaDb(pidFile),
  };
}

/** root over the socket, with values as exact strings for fixtures to compare. */
export function rootConnect(socket: string, database?: string): Promise<mysql.Connection> {
  return mysql.createConnection({
    socketPath: socket,
    user: 'root',
    multipleStatements: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    ...(database ? { database } : {}),
  });
}

/** The flags MariaDB and MySQL share: a private socket, port and logs, and the binlog as sluice reads it. */
export function binlogServerArgs(server: { dir: string; socket: string; port: number; pidFile: string; binlogDir: string; serverId?: number; rowMetadata?: string }): string[] {
  return [
    `--socket=${server.socket}`,
    // Its own temporary directory too: on-disk temporary tables of one server never meet another's.
    `--tmpdir=${join(server.dir, 'tmp')}`,
    `--port=${server.port}`,
    '--bind-address=127.0.0.1',
    `--pid-file=${server.pidFile}`,
    `--log-error=${join(server.dir, 'error.log')}`,
    '--skip-name-resolve',
    `--server-id=${server.serverId ?? 1}`,
    `--log-bin=${join(server.binlogDir, 'mysql-bin')}`,
    '--binlog-format=ROW',
    '--binlog-row-image=FULL',
    `--binlog-row-metadata=${server.rowMetadata ?? 'FULL'}`,
    // Small enough that a test run crosses a few binlog files.
    '--max-binlog-size=64M',
    '--innodb-buffer-pool-size=256M',
    '--innodb-flush-log-at-trx-commit=2',
    '--sync-binlog=0',
    '--max-allowed-packet=64M',
  ];
}

/**
 * Starts the server detached (it outlives the test process, for the next run to reuse), waits for
 * root, and creates the sluice user with the grants as this server names them.
 */
export async function launchWithSluiceUser(
  argv: string[],
  server: { dir: string; socket: string; port: number; portFile: string; label: string },
  account: { identified: string; grants: string },
): Promise<void> {
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: 'ignore' });
  child.unref();
  writeFileSync(server.portFile, String(server.port));
  await waitForRootLogin(server.socket, child, server.dir, server.label);
  const root = await mysql.createConnection({ socketPath: server.socket, user: 'root' });
  try {
    for (const host of ['127.0.0.1', 'localhost']) {
      await root.query(`CREATE USER IF NOT EXISTS ?@? ${account.identified} ?`, [SLUICE_USER, host, SLUICE_PASSWORD]);
      await root.query(`GRANT ${account.grants} ON *.* TO ?@?`, [SLUICE_USER, host]);
    }
  } finally {
    await root.end();
  }
}

/**
 * Waits until root can log in over the socket; fails with the end of the server's error.log when
 * the server exits first or is not up within a minute.
 */
export async function waitForRootLogin(socket: string, child: ChildProcess, dir: string, label: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const probe = await mysql.createConnection({ socketPath: socket, user: 'root' });
      await probe.end();
      return;
    } catch (error) {
      if (child.exitCode !== null || Date.now() > deadline) {
        const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '';
        throw new Error(`private ${label} in ${dir} did not start: ${String(error)}\n${log.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** SIGTERM to the server its pid file names, SIGKILL after a minute; a MySQL-family server of either kind. */
export async function stopMariaDb(pidFile: string): Promise<void> {
  const pid = readRunningPid(pidFile);
  if (pid === undefined) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 60_000;
  while (readRunningPid(pidFile) !== undefined) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
