// The npm package as a user gets it: `npm pack` in a clean copy of the checkout (so prepack has to
// build dist/ itself), the tarball installed globally into an empty prefix with production
// dependencies only, and the installed `sluice` run: --version, --help, the demo's daemon to a
// checkpoint on the private MariaDB, and `sluice query` (DuckDB's native module) on what it wrote.
// Also the checkout's rule: a stale dist/ never runs instead of src/.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';
import { before, describe, test } from 'node:test';
import { makeWorkspace, startSluice, stopDaemon, waitForCheckpoint } from './helpers/daemon.ts';
import { createShop, gtidBinlogPosition, runShopWorkload, shopRoutingYaml } from './helpers/demo-shop.ts';
import { REPO_ROOT, testMariaDb } from './helpers/servers.ts';

const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };

/** What the tarball may hold: what runs, its config examples and units, README and LICENSE. */
const ALLOWED = [/^package\.json$/, /^README\.md$/, /^LICENSE$/, /^bin\/sluice\.js$/, /^dist\/src\/.+\.js$/, /^dist\/man\/sluice\.1$/, /^config\/[\w-]+\.example\.yaml$/, /^systemd\/[\w@.-]+$/];

/** No tsx, no loader from the environment: the installed package runs on plain node or not at all. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`, ...extra };
  delete env.NODE_OPTIONS;
  return env;
}

function run(command: string, args: string[], cwd: string, env = cleanEnv()): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(result.status, 0, `${command} ${args.join(' ')} exited ${result.status ?? result.signal}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

describe('the npm package', () => {
  let work: string;
  let checkout: string;
  let tarball: string;
  let packed: string[];
  let prefix: string;
  let installed: string;

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'sluice-package-'));
    // A copy without dist/ (and without the state, the servers and git): prepack must build it.
    checkout = join(work, 'checkout');
    const skip = new Set(['node_modules', 'dist', '.sluice', '.git'].map((name) => join(REPO_ROOT, name)));
    cpSync(REPO_ROOT, checkout, { recursive: true, filter: (source) => !skip.has(source.replace(/\/$/, '')) && !source.endsWith('.tgz') });
    symlinkSync(realpathSync(join(REPO_ROOT, 'node_modules')), join(checkout, 'node_modules'));
    const pack = run('npm', ['pack', '--json', '--pack-destination', work], checkout);
    const [result] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as [{ filename: string; files: { path: string }[] }];
    tarball = join(work, basename(result.filename));
    packed = result.files.map((file) => file.path).sort();
    // `npm i -g` installs dependencies, never devDependencies; --prefix keeps it out of the machine's.
    prefix = join(work, 'prefix');
    mkdirSync(prefix);
    run('npm', ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', tarball], work);
    installed = join(prefix, 'lib', 'node_modules', 'sluice');
  });

  test('holds what runs and nothing else: compiled dist/, bin, man page, config examples, systemd units, README, LICENSE', () => {
    for (const path of packed) assert.ok(ALLOWED.some((pattern) => pattern.test(path)), `${path} should not be in the package`);
    for (const path of ['bin/sluice.js', 'dist/src/cli/main.js', 'dist/man/sluice.1', 'config/sluice.example.yaml', 'systemd/sluice.service', 'README.md', 'LICENSE']) {
      assert.ok(packed.includes(path), `${path} is in the package`);
    }
  });

  test('installs with production dependencies only', () => {
    assert.ok(existsSync(join(installed, 'node_modules', 'pino')), 'a dependency is installed');
    // @types/node comes anyway, as a peer dependency of mysql2; type declarations never run.
    const tools = Object.keys(manifest.devDependencies).filter((name) => !name.startsWith('@types/'));
    assert.ok(tools.includes('tsx') && tools.includes('typescript'));
    for (const dev of tools) assert.ok(!existsSync(join(installed, 'node_modules', dev)), `devDependency ${dev} is not installed`);
    assert.ok(!existsSync(join(installed, 'src')), 'no TypeScript sources');
  });

  test('sluice --version and --help run from the installed package, without tsx', () => {
    const sluice = join(prefix, 'bin', 'sluice');
    assert.equal(run(sluice, ['--version'], work).stdout.trim(), manifest.version);
    const help = run(sluice, ['--help'], work).stdout;
    for (const command of ['run', 'query', 'check', 'sync', 'checkpoint']) assert.match(help, new RegExp(`^  ${command} `, 'm'));
  });

  test('a global install puts sluice(1) where man finds it, and the completion script runs from the package', () => {
    const page = join(prefix, 'share', 'man', 'man1', 'sluice.1');
    assert.ok(existsSync(page), `${page} is installed`);
    assert.match(readFileSync(page, 'utf8'), /^\.TH SLUICE 1 "" "sluice \d/m);
    assert.match(run(join(prefix, 'bin', 'sluice'), ['completion', 'bash'], work).stdout, /^complete -F _sluice sluice$/m);
  });

  test("the demo's daemon runs from the installed package to a checkpoint, and sluice query reads what it wrote", async () => {
    const server = await testMariaDb();
    const db = await server.rootConnection();
    let start: string;
    let end: string;
    try {
      await createShop(db, 'package_shop');
      start = await gtidBinlogPosition(db);
      await runShopWorkload(db, 'package_shop');
      end = await gtidBinlogPosition(db);
    } finally {
      await db.end();
    }
    const workspace = makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: shopRoutingYaml('package_shop') });
    const env = cleanEnv({ SLUICE_TEST_PASSWORD: server.password });
    const script = join(installed, 'bin', 'sluice.js');
    const daemon = startSluice(['run', '--config', workspace.configFile], { cwd: workspace.dir, env, script });
    try {
      await waitForCheckpoint(workspace, end, 60_000, daemon);
    } finally {
      assert.equal((await stopDaemon(daemon)).code, 0, daemon.output().slice(-3000));
    }
    const sql = 'SELECT _op, _source, id, status FROM ods.orders ORDER BY _seq';
    const query = run(join(prefix, 'bin', 'sluice'), ['query', '--config', workspace.configFile, '--json', '--sql', sql], workspace.dir, env);
    const rows = query.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, string>);
    assert.deepEqual(
      rows.map((row) => `${row._op} ${row._source} ${row.id} ${row.status}`),
      [
        ...[1, 2, 3, 4, 5, 6].map((id) => `insert package_shop.order_${id % 2 === 0 ? 0 : 1} ${id} new`),
        'update package_shop.order_1 1 paid',
        'update package_shop.order_1 3 paid',
        'update package_shop.order_0 2 shipped',
        'delete package_shop.order_0 4 new',
      ],
    );
  });

  test('in a checkout, bin/sluice.js runs src/ through tsx even when a stale dist/ is there', () => {
    // The copy has the dist/ that prepack built; make it one that must never run.
    writeFileSync(join(checkout, 'dist', 'src', 'cli', 'main.js'), "process.stdout.write('stale dist\\n'); process.exit(3);\n");
    const result = spawnSync(process.execPath, [join(checkout, 'bin', 'sluice.js'), '--version'], { cwd: checkout, env: cleanEnv(), encoding: 'utf8' });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.equal(result.stdout.trim(), manifest.version);
  });
});
