// HiveServer2 over HTTP (hive.server2.transport.mode=http), as clusters behind a load balancer or
// Knox run it: the same catalog through hive-driver's HttpConnection and HTTP Basic credentials. This
// file starts its own HiveServer2 in http mode (authentication NONE: any user and password) on the
// shared HDFS, and stops it at the end.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { HiveConnection } from '../src/catalog/hive-connection.ts';
import { HiveServer2Catalog } from '../src/catalog/hive-server2-catalog.ts';
import { isSluiceError } from '../src/core/errors.ts';
import { METADATA_COLUMNS } from '../src/sinks/changelog-layout.ts';
import { REPO_ROOT, testHdfs, type HdfsEndpoints } from './helpers/servers.ts';
import { startHiveServer2, type HiveServer2 } from './servers/jvm.ts';

const DIR = join(REPO_ROOT, '.sluice', 'test-hive-http');
let server: HiveServer2;
let hdfs: HdfsEndpoints;

before(async () => {
  hdfs = await testHdfs();
  rmSync(DIR, { recursive: true, force: true });
  server = await startHiveServer2({ dir: DIR, hdfs, authentication: 'NONE', jvmArgs: ['-Dsluice.hive.transport=http'] });
});

after(async () => {
  await server?.stop();
});

test('the catalog works over the http transport with user and password', async () => {
  const catalog = new HiveServer2Catalog({
    host: server.host,
    port: server.port,
    transport: 'http',
    authentication: 'NONE',
    user: 'etl',
    password: 'secret',
    fsDefaultFS: hdfs.fsDefaultFS,
  });
  try {
    const database = `sluice_http_${Date.now().toString(36)}`;
    const location = `${new URL(server.warehouse).pathname}/${database}.db/t`;
    const wanted = {
      database,
      name: 't',
      columns: [{ name: 'id', type: 'bigint' }, ...METADATA_COLUMNS],
      partitionColumns: [{ name: 'dt', type: 'string' }],
      format: 'text' as const,
      location,
    };
    assert.deepEqual(await catalog.createTable(wanted), wanted);
    await catalog.addPartition(database, 't', { values: { dt: '2026-11-25' }, location: `${location}/dt=2026-11-25` });
    assert.deepEqual(await catalog.listPartitions(database, 't'), [{ values: { dt: '2026-11-25' }, location: `${location}/dt=2026-11-25` }]);
  } finally {
    await catalog.close();
  }
});

test('a wrong http path, or the binary transport against an http server, is an error that says what to check', async () => {
  const wrongPath = new HiveConnection({ host: server.host, port: server.port, transport: 'http', httpPath: 'nowhere', authentication: 'NONE' });
  await assert.rejects(wrongPath.query('SHOW DATABASES'), (error) => {
    assert.ok(isSluiceError(error, 'SLUICE_CATALOG'));
    assert.equal(error.retriable, false);
    assert.match(error.message, /check the http path 'nowhere' against the server's hive\.server2\.thrift\.http\.path/);
    return true;
  });
  await wrongPath.close();
  const binary = new HiveConnection({ host: server.host, port: server.port, authentication: 'NONE', connectTimeoutMs: 5_000 });
  await assert.rejects(binary.query('SHOW DATABASES'), /the server answers in HTTP: .* set the transport to http/);
  await binary.close();
});
