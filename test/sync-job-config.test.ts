// The batch job file: the example parses, defaults are the documented ones, and mistakes are named
// by file, line and key.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseSyncJob } from '../src/config/load-sync-job.ts';
import { isSluiceError } from '../src/core/errors.ts';
import { REPO_ROOT } from './helpers/servers.ts';

test('config/sync.example.yaml parses, with the defaults the comments state', () => {
  const file = join(REPO_ROOT, 'config/sync.example.yaml');
  const job = parseSyncJob(readFileSync(file, 'utf8'), file, { SLUICE_MYSQL_PASSWORD: 'secret' });
  assert.deepEqual(job, {
    name: 'orders-copy',
    source: { host: '127.0.0.1', port: 3306, user: 'sluice', password: 'secret', connectTimeoutMs: 10000, tls: { mode: 'preferred' }, table: 'shop.orders', key: 'id', pageRows: 10000 },
    channels: 4,
    writer: { kind: 'local', path: join(REPO_ROOT, 'config/.sluice/sync-out/orders'), mode: 'append', rollBytes: 134217728 },
    checkpoint: { intervalSeconds: 10, dir: join(REPO_ROOT, 'config/.sluice/sync'), store: 'local' },
    log: { level: 'info', format: 'auto' },
    metrics: { enabled: false, host: '127.0.0.1', port: 9465 },
  });
});

test('the smallest job: one channel, append, defaults for the rest', () => {
  const job = parseSyncJob('name: j\nsource: {host: db, user: u, table: a.b, key: id}\nwriter: {kind: mysql, host: db2, user: w, table: c.d}\n', '/jobs/j.yaml', {});
  assert.equal(job.channels, 1);
  assert.deepEqual(job.writer, { kind: 'mysql', host: 'db2', port: 3306, user: 'w', password: '', connectTimeoutMs: 10000, tls: { mode: 'preferred' }, table: 'c.d', mode: 'append' });
  assert.equal(job.checkpoint.dir, '/jobs/.sluice/sync');
});

function problems(text: string): string {
  try {
    parseSyncJob(text, '/jobs/bad.yaml', {});
  } catch (error) {
    assert.ok(isSluiceError(error, 'SLUICE_CONFIG_INVALID'), String(error));
    return error.message;
  }
  assert.fail('expected the job file to be refused');
}

test('mistakes are named by line and key', () => {
  const message = problems(
    ['name: has space', 'source:', '  host: db', '  user: u', '  table: nodot', '  key: id', 'channels: 0', 'writer:', '  kind: hdfs', '  namenodes: [http://nn:9870]', '  path: relative/dir', ''].join('\n'),
  );
  assert.match(message, /bad\.yaml:1:7 name: expected letters, digits, - and _ only/);
  assert.match(message, /bad\.yaml:5:10 source\.table: expected 'db\.table'/);
  assert.match(message, /bad\.yaml:7:11 channels: expected .*1/);
  assert.match(message, /bad\.yaml:11:9 writer\.path: expected an absolute HDFS path/);
  assert.match(problems('name: j\nsource: {host: db, user: u, table: a.b, key: id}\nwriter: {kind: s3, path: /x}\n'), /writer\.kind: expected kind 'local', 'hdfs', 'ftp' or 'mysql'/);
});

test('source.key: one column, a list of columns, or absent for the table\'s own key', () => {
  const parse = (key: string): unknown => parseSyncJob(`name: j\nsource: {host: db, user: u, table: a.b${key}}\nwriter: {kind: mysql, host: db2, user: w, table: c.d}\n`, '/jobs/j.yaml', {}).source.key;
  assert.equal(parse(', key: id'), 'id');
  assert.deepEqual(parse(', key: [shop, sku]'), ['shop', 'sku']);
  assert.equal(parse(''), undefined);
  assert.match(problems('name: j\nsource: {host: db, user: u, table: a.b, key: []}\nwriter: {kind: mysql, host: db2, user: w, table: c.d}\n'), /source\.key/);
  assert.match(problems('name: j\nsource: {host: db, user: u, table: a.b, key: [a.b]}\nwriter: {kind: mysql, host: db2, user: w, table: c.d}\n'), /source\.key/);
});
