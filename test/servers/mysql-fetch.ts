// Fetches Oracle MySQL 9.7 from Debian sid into a private prefix, without a chroot and without
// touching the machine's apt sources or dpkg database: a private apt configuration resolves sid's
// mysql-server-core and mysql-client-core against an (almost) empty dpkg status, `apt-get download`
// fetches the closure, and `dpkg-deb -x` unpacks it. The binaries then run through sid's own loader
// and libraries (see `loaderCommand`), so the host's older glibc never matters.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { isProcessAlive } from '../../src/core/process-alive.ts';

const execFileAsync = promisify(execFile);

/** What the prefix holds: the server and the client tools (mysql, mysqlbinlog) of the same build. */
const PACKAGES = ['mysql-server-core', 'mysql-client-core'];
const SUITE = 'sid';
/** Written last into a fully unpacked prefix; a prefix without it is fetched again. */
const STAMP = 'fetched.json';
const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
const DEFAULT_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

export interface MySqlPrefix {
  /** The unpacked root: <root>/usr/sbin/mysqld, <root>/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2. */
  root: string;
  /** Package name -> version, as fetched. */
  packages: Record<string, string>;
  mirror: string;
}

export interface Mirror {
  uri: string;
  keyring: string;
}

/**
 * The Debian mirror this machine already uses for its own release (the entry whose suite is the
 * codename in /etc/os-release), so a machine behind a mirror or a proxy fetches sid from the same place.
 * SLUICE_MYSQL_MIRROR overrides it.
 */
export function debianMirror(): Mirror {
  const override = process.env.SLUICE_MYSQL_MIRROR;
  if (override) return { uri: override, keyring: DEFAULT_KEYRING };
  const codename = /^VERSION_CODENAME=(.*)$/m.exec(readIfExists('/etc/os-release'))?.[1]?.replace(/"/g, '');
  const files = ['/etc/apt/sources.list', ...listDir('/etc/apt/sources.list.d').map((name) => join('/etc/apt/sources.list.d', name))];
  for (const file of files) {
    const text = readIfExists(file);
    const entries = file.endsWith('.sources') ? deb822Entries(text) : oneLineEntries(text);
    const found = entries.find((entry) => (codename ? entry.suites.includes(codename) : entry.uri.endsWith('/debian')));
    // Signed-By may hold the key itself rather than a path; the archive keyring then verifies sid.
    if (found) return { uri: found.uri, keyring: found.keyring?.startsWith('/') ? found.keyring : DEFAULT_KEYRING };
  }
  return { uri: DEFAULT_MIRROR, keyring: DEFAULT_KEYRING };
}

interface SourceEntry {
  uri: string;
  suites: string[];
  keyring?: string;
}

function deb822Entries(text: string): SourceEntry[] {
  return text.split(/\n\s*\n/).flatMap((stanza) => {
    const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'mi').exec(stanza)?.[1]?.trim();
    const types = field('Types')?.split(/\s+/) ?? [];
    const uri = field('URIs')?.split(/\s+/)[0];
    if (!types.includes('deb') || !uri) return [];
    return [{ uri: uri.replace(/\/$/, ''), suites: field('Suites')?.split(/\s+/) ?? [], keyring: field('Signed-By') }];
  });
}

function oneLineEntries(text: string): SourceEntry[] {
  return text.split('\n').flatMap((line) => {
    const match = /^\s*deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (!match) return [];
    const keyring = /signed-by=(\S+)/.exec(match[1] ?? '')?.[1];
    return [{ uri: match[2]!.replace(/\/$/, ''), suites: [match[3]!], keyring }];
  });
}

/** The prefix in `dir`, fetched first when it is missing or was left half done. */
export async function ensureMySqlPrefix(dir: string, log: (line: string) => void = () => {}): Promise<MySqlPrefix> {
  const root = join(dir, 'root');
  const stamp = readIfExists(join(root, STAMP));
  if (stamp) return { root, ...(JSON.parse(stamp) as Omit<MySqlPrefix, 'root'>) };

  const mirror = debianMirror();
  const started = Date.now();
  log(`fetching MySQL (${PACKAGES.join(', ')}) from Debian ${SUITE} at ${mirror.uri} into ${dir}`);
  // Everything happens in a folder of its own, renamed into place once complete: a run killed
  // half way leaves a work folder the next one deletes, never a prefix that looks whole.
  const work = `${dir}.fetch-${process.pid}`;
  removeAbandonedWork(dir);
  rmSync(work, { recursive: true, force: true });
  const apt = privateApt(join(work, 'apt'), mirror);
  await runApt(apt, ['update', '--error-on=any'], mirror, `the ${SUITE} package index`);
  const packages = await resolveClosure(apt, mirror);
  const debs = join(work, 'debs');
  mkdirSync(debs, { recursive: true });
  await runApt(apt, ['download', ...Object.entries(packages).map(([name, version]) => `${name}=${version}`)], mirror, Object.keys(packages).join(' '), debs);
  const files = readdirSync(debs).filter((name) => name.endsWith('.deb'));
  const missing = Object.keys(packages).filter((name) => !files.some((file) => file.startsWith(`${name}_`)));
  if (missing.length > 0) throw new Error(`apt-get download from ${mirror.uri} (${SUITE}) left out ${missing.join(', ')}`);
  const size = files.reduce((sum, file) => sum + statSync(join(debs, file)).size, 0);

  const unpacked = join(work, 'root');
  mkdirSync(unpacked, { recursive: true });
  for (const file of files) {
    await execFileAsync('dpkg-deb', ['-x', join(debs, file), unpacked]).catch((error: Error) => {
      throw new Error(`dpkg-deb -x ${file} (from ${mirror.uri}, ${SUITE}) failed: ${error.message}`);
    });
  }
  const record = { packages, mirror: mirror.uri };
  writeFileSync(join(unpacked, STAMP), JSON.stringify(record, null, 2));
  rmSync(root, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  renameSync(unpacked, root);
  rmSync(work, { recursive: true, force: true });
  log(`fetched ${files.length} packages (${(size / 1e6).toFixed(1)} MB, mysql-server-core ${packages['mysql-server-core']}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { root, ...record };
}

interface PrivateApt {
  env: NodeJS.ProcessEnv;
}

/**
 * An apt configuration of its own: sources, lists, cache and dpkg status all under `dir`. The
 * status names perl as installed so that apt does not pull perl in: mysql-server-core depends on
 * it for helper scripts that mysqld never runs.
 */
function privateApt(dir: string, mirror: Mirror): PrivateApt {
  for (const sub of ['etc/apt.conf.d', 'etc/preferences.d', 'etc/sources.list.d', 'etc/trusted.gpg.d', 'state/lists/partial', 'cache/archives/partial']) {
    mkdirSync(join(dir, sub), { recursive: true });
  }
  writeFileSync(join(dir, 'etc/sources.list'), `deb [signed-by=${mirror.keyring}] ${mirror.uri} ${SUITE} main\n`);
  writeFileSync(
    join(dir, 'status'),
    'Package: perl\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\nMulti-Arch: allowed\nVersion: 9999\nDescription: not needed by mysqld\n\n',
  );
  writeFileSync(
    join(dir, 'apt.conf'),
    [
      `Dir::Etc "${dir}/etc";`,
      `Dir::Etc::sourcelist "${dir}/etc/sources.list";`,
      `Dir::Etc::sourceparts "${dir}/etc/sources.list.d";`,
      `Dir::Etc::parts "${dir}/etc/apt.conf.d";`,
      `Dir::Etc::preferencesparts "${dir}/etc/preferences.d";`,
      `Dir::Etc::trustedparts "${dir}/etc/trusted.gpg.d";`,
      `Dir::State "${dir}/state";`,
      `Dir::State::status "${dir}/status";`,
      `Dir::Cache "${dir}/cache";`,
      'APT::Architecture "amd64";',
      'APT::Architectures { "amd64"; };',
      'APT::Install-Recommends "false";',
      // Downloads land in folders the _apt sandbox user cannot write; running as the caller is fine here.
      'APT::Sandbox::User "root";',
      'Acquire::Languages "none";',
      'Acquire::GzipIndexes "true";',
      // Mirrors pinned to a snapshot serve a sid Release past its Valid-Until; the signature is still checked.
      'Acquire::Check-Valid-Until "false";',
      '',
    ].join('\n'),
  );
  return { env: { ...process.env, APT_CONFIG: join(dir, 'apt.conf'), LC_ALL: 'C' } };
}

/** sid's packages that mysql-server-core and mysql-client-core need, with their versions. */
async function resolveClosure(apt: PrivateApt, mirror: Mirror): Promise<Record<string, string>> {
  const output = await runApt(apt, ['install', '--simulate', ...PACKAGES], mirror, PACKAGES.join(' '));
  const packages: Record<string, string> = {};
  for (const match of output.matchAll(/^Inst (\S+) \((\S+) /gm)) packages[match[1]!] = match[2]!;
  for (const name of PACKAGES) {
    if (!packages[name]) throw new Error(`apt could not resolve ${name} in Debian ${SUITE} at ${mirror.uri}:\n${output.slice(-2000)}`);
  }
  return packages;
}

async function runApt(apt: PrivateApt, args: string[], mirror: Mirror, what: string, cwd?: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync('apt-get', ['-q', ...args], { env: apt.env, cwd, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const { stderr, stdout, code } = error as { stderr?: string; stdout?: string; code?: string | number };
    if (code === 'ENOENT') throw new Error('apt-get was not found: fetching MySQL for the tests needs Debian\'s apt and dpkg');
    throw new Error(`apt-get ${args[0]} for ${what} from ${mirror.uri} (suite ${SUITE}, keyring ${mirror.keyring}) failed:\n${(stderr || stdout || String(error)).slice(-2000)}`);
  }
}

/** Work folders of fetches whose process is gone (killed half way); a live one is another fetch under way. */
export function removeAbandonedWork(dir: string): void {
  const prefix = `${basename(dir)}.fetch-`;
  for (const name of listDir(dirname(dir))) {
    if (name.startsWith(prefix) && !isProcessAlive(Number(name.slice(prefix.length)))) rmSync(join(dirname(dir), name), { recursive: true, force: true });
  }
}

function readIfExists(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

function listDir(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}
