// The systemd unit is valid, as hardened as measured, and runs what a production install holds: the
// compiled dist/ without devDependencies, with the production config from systemd/sluice.yaml.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseConfig, parseYamlWith } from '../src/config/load.ts';
import { kafkaConfigSchema } from '../src/config/schema.ts';
import { REPO_ROOT } from './helpers/servers.ts';

const UNIT = readFileSync(join(REPO_ROOT, 'systemd/sluice.service'), 'utf8');
// Measured with systemd 252: 1.2. A hardening line dropped by mistake pushes it past this.
const MAX_EXPOSURE = 1.5;

function directive(name: string): string[] {
  return [...UNIT.matchAll(new RegExp(`^${name}=(.*)$`, 'gm'))].map((match) => match[1]!);
}

/** The unit with ExecStart pointing at this node and this checkout, which exist here, unlike /opt/sluice. */
function unitCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-systemd-'));
  const file = join(dir, 'sluice.service');
  const execStart = `ExecStart=${process.execPath} ${join(REPO_ROOT, 'bin/sluice.js')} run --config /etc/sluice/sluice.yaml`;
  writeFileSync(file, UNIT.replace(/^ExecStart=.*$/m, execStart));
  return file;
}

test('systemd-analyze verify finds nothing wrong with the unit', () => {
  const file = unitCopy();
  const result = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
  const output = result.stdout + result.stderr;
  // verify also reports on other units of this machine it loads; only lines about ours count.
  const ours = output.split('\n').filter((line) => line.includes('sluice.service'));
  assert.equal(result.status, 0, output);
  assert.deepEqual(ours, [], output);
});

test('systemd-analyze security rates the unit OK, below the measured exposure', (t) => {
  const output = execFileSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', unitCopy()], { encoding: 'utf8' });
  const match = /Overall exposure level for sluice\.service: (\d+\.\d+) (\w+)/.exec(output);
  assert.ok(match, output);
  const exposure = Number(match[1]);
  t.diagnostic(`systemd-analyze security: exposure ${exposure} ${match[2]}`);
  assert.ok(exposure <= MAX_EXPOSURE, `exposure ${exposure} > ${MAX_EXPOSURE}:\n${output}`);
  assert.equal(match[2], 'OK');
});

test('the unit stops cleanly, restarts on failure but not on a config error, and leaves V8 its JIT', () => {
  assert.deepEqual(directive('ExecStart'), ['/usr/bin/node /opt/sluice/bin/sluice.js run --config /etc/sluice/sluice.yaml']);
  assert.deepEqual(directive('User'), ['sluice']);
  assert.deepEqual(directive('Restart'), ['on-failure']);
  assert.deepEqual(directive('RestartPreventExitStatus'), ['78']);
  assert.deepEqual(directive('KillSignal'), ['SIGTERM']);
  assert.ok(Number(directive('TimeoutStopSec')[0]) >= 120);
  assert.deepEqual(directive('StateDirectory'), ['sluice']);
  assert.deepEqual(directive('MemoryDenyWriteExecute'), []);
  assert.deepEqual(directive('CapabilityBoundingSet'), ['']);
});

test('the production config is valid and keeps all state under the StateDirectory', () => {
  const text = readFileSync(join(REPO_ROOT, 'systemd/sluice.yaml'), 'utf8');
  const config = parseConfig(text, '/etc/sluice/sluice.yaml', { SLUICE_MYSQL_PASSWORD: 'secret' });
  const filesystem = config.sink.filesystem;
  const catalog = config.sink.catalog;
  assert.ok(filesystem.kind === 'local' && catalog.kind === 'local');
  for (const path of [config.checkpoint.dir, filesystem.root, catalog.dir]) {
    assert.match(path, /^\/var\/lib\/sluice\//);
  }
});

test('a production tree (compiled dist/, no devDependencies) runs the CLI without tsx', () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-opt-'));
  execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(REPO_ROOT, 'tsconfig.build.json'), '--outDir', join(root, 'dist')], {
    encoding: 'utf8',
  });
  cpSync(join(REPO_ROOT, 'bin'), join(root, 'bin'), { recursive: true });
  cpSync(join(REPO_ROOT, 'package.json'), join(root, 'package.json'));
  // node_modules as `npm ci --omit=dev` leaves it, near enough: every package but the devDependencies.
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  const dev = new Set(Object.keys(manifest.devDependencies).map((name) => name.split('/')[0]!));
  mkdirSync(join(root, 'node_modules'));
  for (const name of readdirSync(join(REPO_ROOT, 'node_modules'))) {
    if (!dev.has(name) && name !== '.bin') symlinkSync(join(REPO_ROOT, 'node_modules', name), join(root, 'node_modules', name));
  }
  const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_MYSQL_PASSWORD: 'secret' };
  delete env.NODE_OPTIONS;
  const help = spawnSync(process.execPath, [join(root, 'bin/sluice.js'), '--help'], { encoding: 'utf8', env });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /checkpoint/);
  // The production config through the compiled code; read-only, so it works without /var/lib/sluice.
  const show = spawnSync(process.execPath, [join(root, 'bin/sluice.js'), 'checkpoint', 'show', '--config', join(REPO_ROOT, 'systemd/sluice.yaml')], {
    encoding: 'utf8',
    env,
  });
  assert.equal(show.status, 0, show.stderr);
  assert.match(show.stdout, /no checkpoint in \/var\/lib\/sluice\/state/);
});

/**
 * A template unit (`sluice-sync@`), checked as an instance of it: `systemd-analyze verify` finds nothing,
 * and `security` rates it below the measured exposure. Returns its directives by name.
 */
function checkTemplate(t: { diagnostic(message: string): void }, name: string, instance: string): (directive: string) => string[] {
  const template = readFileSync(join(REPO_ROOT, `systemd/${name}@.service`), 'utf8');
  const file = join(mkdtempSync(join(tmpdir(), `sluice-systemd-${name}-`)), `${name}@${instance}.service`);
  writeFileSync(file, template.replace(/^ExecStart=\/usr\/bin\/node \/opt\/sluice\/bin\/sluice\.js /m, `ExecStart=${process.execPath} ${join(REPO_ROOT, 'bin/sluice.js')} `));
  const verify = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  assert.deepEqual((verify.stdout + verify.stderr).split('\n').filter((line) => line.includes(`${name}@`)), []);
  const security = execFileSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', file], { encoding: 'utf8' });
  const match = new RegExp(`Overall exposure level for ${name}@${instance}\\.service: (\\d+\\.\\d+) (\\w+)`).exec(security);
  assert.ok(match, security);
  t.diagnostic(`systemd-analyze security: exposure ${match[1]} ${match[2]}`);
  assert.ok(Number(match[1]) <= MAX_EXPOSURE);
  return (directive) => [...template.matchAll(new RegExp(`^${directive}=(.*)$`, 'gm'))].map((m) => m[1]!);
}

test('the batch-copy template unit is valid, as hardened, and restarts (resumes) on failure but not on a config error', (t) => {
  const line = checkTemplate(t, 'sluice-sync', 'orders');
  assert.deepEqual(line('ExecStart'), ['/usr/bin/node /opt/sluice/bin/sluice.js sync --job /etc/sluice/jobs/%i.yaml --no-progress']);
  assert.deepEqual(line('Restart'), ['on-failure']);
  assert.deepEqual(line('RestartPreventExitStatus'), ['78']);
  assert.deepEqual(line('User'), ['sluice']);
});

test('the Kafka loader template unit is valid, as hardened, and its one config makes each instance a group member with state of its own', (t) => {
  const line = checkTemplate(t, 'sluice-loader', 'loader-1');
  assert.deepEqual(line('ExecStart'), ['/usr/bin/node /opt/sluice/bin/sluice.js run --config /etc/sluice/loader.yaml']);
  assert.ok(line('Environment').includes('SLUICE_LOADER=%i'));
  assert.deepEqual(line('Restart'), ['on-failure']);
  assert.deepEqual(line('RestartPreventExitStatus'), ['78']);
  assert.deepEqual(line('KillSignal'), ['SIGTERM']);
  assert.deepEqual(line('User'), ['sluice']);

  const text = readFileSync(join(REPO_ROOT, 'systemd/loader.yaml'), 'utf8');
  const [one, two] = ['loader-1', 'loader-2'].map((name) => parseYamlWith(kafkaConfigSchema, text, '/etc/sluice/loader.yaml', { SLUICE_LOADER: name }));
  assert.equal(one!.source.group?.member, 'loader-1');
  assert.equal(two!.source.group?.member, 'loader-2');
  assert.equal(one!.source.groupId, two!.source.groupId, 'one group');
  assert.equal(one!.checkpoint.store, 'hdfs');
  assert.equal(one!.checkpoint.hdfs?.dir, '/sluice/loaders/loader-1');
  assert.equal(two!.checkpoint.hdfs?.dir, '/sluice/loaders/loader-2', 'a state directory per loader, under one parent');
  assert.equal(one!.checkpoint.dir, '/var/lib/sluice/loaders/loader-1', 'the local directory is the unit\'s StateDirectory of the instance');
});
