// `npm test`: starts the shared servers once, runs every test file against them, stops them.
import { spawn } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { startMariaDb } from './servers/mariadb.ts';
import { REPO_ROOT, TEST_MARIADB_DIR } from './helpers/servers.ts';

const started = Date.now();
// A fresh data directory each run: no test depends on what an earlier run left behind.
const dir = TEST_MARIADB_DIR;
const existing = await startMariaDb({ dir }).catch(() => undefined);
await existing?.stop();
rmSync(dir, { recursive: true, force: true });
const mariadb = await startMariaDb({ dir });
process.stdout.write(`private MariaDB on 127.0.0.1:${mariadb.port} (${dir}), ready in ${Date.now() - started} ms\n`);

const files = process.argv.slice(2).length > 0 ? process.argv.slice(2) : testFiles();
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  { cwd: REPO_ROOT, stdio: 'inherit', env: { ...process.env, SLUICE_TEST_MARIADB_DIR: dir } },
);
const code: number = await new Promise((resolve) => child.on('exit', (status, signal) => resolve(status ?? (signal ? 1 : 0))));
await mariadb.stop();
process.stdout.write(`test run took ${Math.round((Date.now() - started) / 1000)} s\n`);
process.exit(code);

function testFiles(): string[] {
  return (readdirSync(`${REPO_ROOT}/test`, { recursive: true }) as string[])
    .filter((name) => name.endsWith('.test.ts'))
    .map((name) => `test/${name}`)
    .sort();
}
