// No Docker engine runs here, so the Dockerfile is checked for what can go wrong without one: a COPY of
// something the build context leaves out, a health check that is not valid JavaScript or asks the
// wrong port, an entry point that is not the CLI.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Script } from 'node:vm';
import { sluiceConfigSchema } from '../src/config/schema.ts';
import { REPO_ROOT } from './helpers/servers.ts';

const DOCKERFILE = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
const IGNORE = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

function instructions(name: string): string[] {
  return [...DOCKERFILE.matchAll(new RegExp(`^${name} (.*)$`, 'gm'))].map((match) => match[1]!.trim());
}

test('every COPY from the build context exists and is let through by .dockerignore', () => {
  assert.equal(IGNORE[0], '*', '.dockerignore lists what goes in, after excluding everything');
  const allowed = IGNORE.filter((line) => line.startsWith('!')).map((line) => line.slice(1).replace(/\/$/, ''));
  const sources = instructions('COPY')
    .filter((args) => !args.startsWith('--from'))
    .flatMap((args) => args.split(/\s+/).slice(0, -1));
  assert.ok(sources.length >= 5, sources.join(' '));
  for (const source of sources) {
    assert.ok(existsSync(join(REPO_ROOT, source)), `${source} exists`);
    assert.ok(allowed.includes(source), `${source} is in .dockerignore's allow list`);
  }
});

test('the image runs the CLI as a non-root user, and the health check asks the default metrics port', () => {
  assert.deepEqual(instructions('FROM').map((from) => from.split(' ')[0]), ['node:24-bookworm-slim', 'node:24-bookworm-slim']);
  assert.match(DOCKERFILE, /npm ci --omit=dev/);
  assert.deepEqual(JSON.parse(instructions('ENTRYPOINT')[0]!), ['node', '/app/bin/sluice.js']);
  assert.deepEqual(JSON.parse(instructions('CMD')[0]!), ['run', '--config', '/etc/sluice/sluice.yaml']);
  const user = instructions('USER');
  assert.equal(user.length, 1);
  assert.notEqual(user[0], 'root');

  const healthcheck = instructions('HEALTHCHECK')[0]!;
  const command = JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD ') + 4)) as string[];
  assert.deepEqual(command.slice(0, 2), ['node', '-e']);
  new Script(command[2]!); // throws on a syntax error
  const url = /SLUICE_HEALTH_URL=(\S+)/.exec(DOCKERFILE)?.[1];
  const defaults = sluiceConfigSchema.parse({ source: { host: 'db', user: 'sluice' } });
  assert.equal(url, `http://127.0.0.1:${defaults.metrics.port}/health`);
});

test("the image's Node is the newest major that package.json's engines name", () => {
  const { engines } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
  const majors = engines.node.split('||').map((range) => Number(/^\s*\^?(\d+)/.exec(range)?.[1]));
  assert.deepEqual(majors, [22, 24], engines.node);
  for (const from of instructions('FROM')) assert.equal(Number(/^node:(\d+)-/.exec(from)?.[1]), Math.max(...majors), from);
});
