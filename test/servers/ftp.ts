// A private FTP server for the tests: Debian's pure-ftpd, chosen over vsftpd because everything it
// needs comes from its command line and files in its own folder. vsftpd can only check passwords
// through PAM, which means a service file in /etc/pam.d and a system account or a Berkeley DB tool;
// pure-ftpd reads virtual users from a puredb file that `pure-pw mkdb` builds wherever we say.
//
// It listens on 127.0.0.1 only, on a free port, with passive ports in a private range on
// 127.0.0.1, and never touches a system FTP server (which may be on 21).
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { Client } from 'basic-ftp';
import { isProcessAlive } from '../../src/core/process-alive.ts';
import { freePort } from './mariadb.ts';

export interface FtpServerOptions {
  /** Folder for the FTP root, the user database, pid file and logs. Created when missing. */
  dir: string;
  /** TCP port on 127.0.0.1; a free one is picked when absent. */
  port?: number;
}

export interface FtpServer {
  host: '127.0.0.1';
  port: number;
  user: string;
  password: string;
  /** The local folder the FTP user sees as '/'. */
  rootDir: string;
  dir: string;
  /** First and last passive data port. */
  passivePorts: [number, number];
  stop(): Promise<void>;
}

export const FTP_USER = 'sluice';
export const FTP_PASSWORD = 'sluice-ftp-test-password';

// Enough for a few concurrent transfers each leaving a port in TIME_WAIT behind.
const PASSIVE_PORTS = 100;
// The batch copy runs 4 writers plus one metadata connection per file system, and a test may hold
// several file systems; pure-ftpd's default of 50 in all is fine, its per-IP default is not (all
// our clients come from 127.0.0.1).
const MAX_CLIENTS = 50;

interface State {
  port: number;
  passivePorts: [number, number];
}

function findBinary(name: string): string {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`${name} was not found. Install Debian's pure-ftpd package: apt-get install --no-install-recommends pure-ftpd`);
}

/** Starts the private server in `dir`, or reuses the one running there when it still accepts a login. */
export async function startFtp(options: FtpServerOptions): Promise<FtpServer> {
  const dir = resolve(options.dir);
  const rootDir = join(dir, 'root');
  const pidFile = join(dir, 'pure-ftpd.pid');
  const stateFile = join(dir, 'server.json');
  mkdirSync(rootDir, { recursive: true });

  if (runningPid(pidFile) !== undefined) {
    const state = existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as State) : undefined;
    if (state && (await canLogIn(state.port))) return handle(dir, rootDir, state);
    // A server that lost its state file or no longer lets us in is of no use, and holds its ports.
    await stopFtp(dir);
  }

  // pure-ftpd refuses to let a virtual user act as root. As root we map ours to nobody, which then
  // has to own the FTP root; as anyone else, to ourselves.
  const asRoot = process.getuid?.() === 0;
  const uid = asRoot ? 65534 : (process.getuid?.() ?? 65534);
  const gid = asRoot ? 65534 : (process.getgid?.() ?? 65534);
  if (asRoot) chownSync(rootDir, uid, gid);
  writeUserDatabase(dir, rootDir, uid, gid);

  const state: State = { port: options.port ?? (await freePort()), passivePorts: await freePortRange(PASSIVE_PORTS) };
  const [first, last] = state.passivePorts;
  const args = [
    `--bind=127.0.0.1,${state.port}`,
    '--ipv4only',
    `--passiveportrange=${first}:${last}`,
    // Passive replies name this address, not whatever the host's interfaces are.
    '--forcepassiveip=127.0.0.1',
    `--login=puredb:${join(dir, 'pureftpd.pdb')}`,
    '--noanonymous',
    '--chrooteveryone',
    '--dontresolve',
    // The default (and Debian's wrapper's 1000) would refuse nobody's or a developer's uid.
    '--minuid=1',
    `--maxclientsnumber=${MAX_CLIENTS}`,
    `--maxclientsperip=${MAX_CLIENTS}`,
    `--pidfile=${pidFile}`,
    `--altlog=clf:${join(dir, 'transfer.log')}`,
    // No syslog daemon runs on the test machines; messages would only pile up in a socket buffer.
    '--syslogfacility=none',
  ];
  rmSync(pidFile, { force: true });
  const log = openSync(join(dir, 'pure-ftpd.log'), 'a');
  // Detached into its own process group: stop() kills the group, which takes the per-session
  // children with it.
  const child = spawn(findBinary('pure-ftpd'), args, { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  writeFileSync(stateFile, JSON.stringify(state));

  const deadline = Date.now() + 30_000;
  while (!(await canLogIn(state.port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      const output = readFileSync(join(dir, 'pure-ftpd.log'), 'utf8');
      throw new Error(`private pure-ftpd in ${dir} did not start (exit ${child.exitCode}):\n${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return handle(dir, rootDir, state);
}

/**
 * The password is hashed with SHA-512 crypt by openssl, not by `pure-pw useradd`: that one picks
 * argon2 parameters that make each login take about 3.5 s here, and every file a writer opens may
 * need a login.
 */
function writeUserDatabase(dir: string, rootDir: string, uid: number, gid: number): void {
  const hash = execFileSync('openssl', ['passwd', '-6', '-stdin'], { input: FTP_PASSWORD, encoding: 'utf8' }).trim();
  const passwd = join(dir, 'pureftpd.passwd');
  // The '/./' ends the chroot: the user sees rootDir as '/'.
  writeFileSync(passwd, `${FTP_USER}:${hash}:${uid}:${gid}::${rootDir}/./::::::::::::\n`, { mode: 0o600 });
  execFileSync(findBinary('pure-pw'), ['mkdb', join(dir, 'pureftpd.pdb'), '-f', passwd], { stdio: 'pipe' });
}

async function canLogIn(port: number): Promise<boolean> {
  const client = new Client(5_000);
  try {
    await client.access({ host: '127.0.0.1', port, user: FTP_USER, password: FTP_PASSWORD });
    return true;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

/** `count` consecutive ports free on 127.0.0.1, below the kernel's ephemeral range so that no outgoing connection takes one later. */
async function freePortRange(count: number): Promise<[number, number]> {
  const ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  const low = 10_000;
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = low + Math.floor(Math.random() * (ephemeralStart - low - count));
    let free = true;
    for (let port = first; port < first + count && free; port++) free = await portIsFree(port);
    if (free) return [first, first + count - 1];
  }
  throw new Error(`found no ${count} free consecutive ports on 127.0.0.1 between ${low} and ${ephemeralStart}`);
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once('error', () => resolveFree(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)));
  });
}

/**
 * The pid in the file when it is a live pure-ftpd. The pid file survives a kill -9 and the pid may
 * have been reused since, so the process's name is checked before anyone signals it; a zombie
 * (stopped but not yet reaped by its parent) counts as gone.
 */
function runningPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0 || !isProcessAlive(pid)) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return name.includes('pure-ftpd') && state !== 'Z' ? pid : undefined;
  } catch {
    return undefined;
  }
}

function handle(dir: string, rootDir: string, state: State): FtpServer {
  return {
    host: '127.0.0.1',
    port: state.port,
    user: FTP_USER,
    password: FTP_PASSWORD,
    rootDir,
    dir,
    passivePorts: state.passivePorts,
    stop: () => stopFtp(dir),
  };
}

/** Stops the server running in `dir`, if one is, with its session processes. */
export async function stopFtp(dir: string): Promise<void> {
  const pidFile = join(resolve(dir), 'pure-ftpd.pid');
  const pid = runningPid(pidFile);
  if (pid === undefined) return;
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(-pid, name);
    } catch {
      // Not a group leader (started by someone else): the master alone.
      try {
        process.kill(pid, name);
      } catch {
        // gone already
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + 10_000;
  while (runningPid(pidFile) !== undefined) {
    if (Date.now() > deadline) {
      signal('SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  rmSync(pidFile, { force: true });
}
