// What a new user meets first, tried as one would: a config path that is missing or a directory, a
// warehouse, catalog or state path that is a file, a table that does not exist. Every command says
// what is wrong and names the key or the file, with a code and the exit status that fits (78: no
// retry can fix it), never a stack trace.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fatalLine, makeWorkspace, startSluice, exitWithin, type DaemonWorkspace } from './helpers/daemon.ts';
import { REPO_ROOT, testMariaDb } from './helpers/servers.ts';
import type { MariaDbServer } from './servers/mariadb.ts';

function sluice(args: string[], cwd: string, server?: MariaDbServer) {
  const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...(server ? { SLUICE_TEST_PASSWORD: server.password } : {}) },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The first stderr line, which a person reads: no stack, no 'unexpected error'. */
function firstLine(stderr: string): string {
  assert.doesNotMatch(stderr, /unexpected error|\n\s+at /, stderr);
  return stderr.split('\n')[0]!;
}

describe('first contact: errors a new user meets name themselves', () => {
  let server: MariaDbServer;
  let workspace: DaemonWorkspace;
  let dir: string;
  before(async () => {
    server = await testMariaDb();
    workspace = makeWorkspace(server, { start: 'latest', routing: "  include: ['first_contact.*']" });
    dir = mkdtempSync(join(tmpdir(), 'sluice-first-'));
  });

  for (const args of [['run', '--config'], ['query', 'ods.t', '--config'], ['checkpoint', 'show', '--config'], ['sync', '--job']]) {
    test(`${args.slice(0, -1).join(' ')}: a missing file and a directory are named as such (78)`, () => {
      const what = args[0] === 'sync' ? 'job file' : 'config file';
      const missing = sluice([...args, join(dir, 'nope.yaml')], dir);
      assert.equal(missing.status, 78);
      assert.equal(firstLine(missing.stderr), `sluice: cannot read ${what} ${join(dir, 'nope.yaml')}: there is no file ${join(dir, 'nope.yaml')} [SLUICE_CONFIG_UNREADABLE]`);
      const directory = sluice([...args, dir], dir);
      assert.equal(directory.status, 78);
      const example = args[0] === 'sync' ? 'job.yaml' : 'sluice.yaml';
      assert.equal(firstLine(directory.stderr), `sluice: cannot read ${what} ${dir}: ${dir} is a directory; give the YAML file in it (e.g. ${join(dir, example)}) [SLUICE_CONFIG_UNREADABLE]`);
    });
  }

  test('check: a config path that is a directory fails the config line, saying so', () => {
    const result = sluice(['check', '--config', dir], dir);
    assert.equal(result.status, 1);
    assert.match(result.stdout, new RegExp(`^FAIL {2}config: cannot read config file ${dir}: ${dir} is a directory; give the YAML file in it`));
  });

  /** The workspace's config with one key's directory replaced by a plain file. */
  const withFileAt = (key: 'checkpoint.dir' | 'sink.filesystem.root' | 'sink.catalog.dir'): { config: string; file: string } => {
    const file = join(workspace.dir, `a-file-for-${key}`);
    writeFileSync(file, 'not a directory\n');
    const original = { 'checkpoint.dir': '  dir: ./state', 'sink.filesystem.root': '    root: ./warehouse', 'sink.catalog.dir': '    dir: ./catalog' }[key];
    const text = readFileSync(workspace.configFile, 'utf8');
    assert.ok(text.includes(original));
    const config = join(workspace.dir, `file-at-${key}.yaml`);
    writeFileSync(config, text.replace(original, original.replace(/\.\/\w+$/, `./a-file-for-${key}`)));
    return { config, file };
  };

  const notADirectory = (file: string, key: string) =>
    new RegExp(`^sluice: ${file} \\(${key.replaceAll('.', '\\.')}\\) is not a directory: ${file}.* is a file \\((ENOTDIR|EEXIST)\\)\\. Fix: point the key at a directory.*\\[SLUICE_DIR_UNWRITABLE\\]$`);

  for (const args of [['checkpoint', 'show'], ['checkpoint', 'set', '--latest'], ['checkpoint', 'skip-table', 'ods.t']]) {
    test(`${args.join(' ')}: a checkpoint.dir that is a file is named (78)`, () => {
      const { config, file } = withFileAt('checkpoint.dir');
      const result = sluice([...args, '--config', config], workspace.dir, server);
      assert.equal(result.status, 78, result.stderr);
      assert.match(firstLine(result.stderr), notADirectory(file, 'checkpoint.dir'));
    });
  }

  test('query: a sink.catalog.dir that is a file is named (78)', () => {
    const { config, file } = withFileAt('sink.catalog.dir');
    for (const args of [['--sql', 'SELECT 1'], ['first_contact.t']]) {
      const result = sluice(['query', ...args, '--config', config], workspace.dir, server);
      assert.equal(result.status, 78, result.stderr);
      assert.match(firstLine(result.stderr), notADirectory(file, 'sink.catalog.dir'));
    }
  });

  for (const key of ['checkpoint.dir', 'sink.filesystem.root', 'sink.catalog.dir'] as const) {
    test(`run: a ${key} that is a file stops the start with 78, naming the key, in the JSON log too`, async () => {
      const { config, file } = withFileAt(key);
      const daemon = startSluice(['run', '--config', config], { cwd: workspace.dir, env: { SLUICE_TEST_PASSWORD: server.password } });
      assert.equal(await exitWithin(daemon, 30_000), 78, daemon.output().slice(-3000));
      assert.doesNotMatch(daemon.output(), /unexpected error/);
      const fatal = fatalLine(daemon);
      assert.equal(fatal.code, 'SLUICE_DIR_UNWRITABLE');
      assert.match(`sluice: ${fatal.msg} [${fatal.code}]`, notADirectory(file, key));
    });
  }

  test('query: a table that does not exist is named, with the tables there are', () => {
    const result = sluice(['query', 'first_contact.nope', '--config', workspace.configFile], workspace.dir, server);
    assert.equal(result.status, 1);
    assert.match(firstLine(result.stderr), /^sluice: table first_contact\.nope is not in local catalog at .*; it has no tables yet \[SLUICE_QUERY\]$/);
  });
});
