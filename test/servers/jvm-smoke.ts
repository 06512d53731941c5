// Smoke test of the JVM test servers: starts HDFS, HiveServer2 (warehouse on that HDFS) and Kafka one
// after the other, checks each from Node the way sluice will use it, prints timings and memory, and stops
// them all. Run: node --import tsx test/servers/jvm-smoke.ts [--keep] [--hive-auth=NONE]
// (--keep leaves the temp folder; --hive-auth picks hive.server2.authentication, NOSASL by default).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import hive from 'hive-driver';
import { Kafka, logLevel } from 'kafkajs';
import {
  resolveClasspaths,
  startHdfs,
  startHiveServer2,
  startKafka,
  type HdfsServer,
  type HiveServer2,
  type JvmProcess,
} from './jvm.ts';

const keep = process.argv.includes('--keep');
const hiveAuth = process.argv.includes('--hive-auth=NONE') ? 'NONE' : 'NOSASL';
const t0 = Date.now();
const since = (t: number) => `${((Date.now() - t) / 1000).toFixed(1)} s`;
const mib = (bytes: number | undefined) => (bytes === undefined ? '?' : `${Math.round(bytes / 1024 / 1024)} MiB`);
const log = (msg: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${msg}`);

// --- WebHDFS: two-step CREATE/OPEN, following the 307 by hand ---------------------------------------------

async function webhdfsCreate(hdfs: HdfsServer, path: string, body: string): Promise<string> {
  const first = await fetch(`${hdfs.webhdfsUrl}${path}?op=CREATE&overwrite=true&user.name=sluice`, {
    method: 'PUT',
    redirect: 'manual',
  });
  await first.arrayBuffer();
  assert.equal(first.status, 307, `CREATE should redirect, got ${first.status}`);
  const location = first.headers.get('location');
  assert.ok(location, 'CREATE redirect without Location');
  assert.match(location, /^http:\/\/127\.0\.0\.1:\d+\//, `redirect should point at 127.0.0.1: ${location}`);
  // The DataNode answers a PUT with an unsolicited "100 Continue" before its "201 Created", which
  // fetch (undici) rejects as a bad response; node:http handles 1xx responses, so the data goes there.
  const status = await putWithNodeHttp(location, body);
  assert.equal(status, 201, `DataNode CREATE should answer 201, got ${status}`);
  return location;
}

function putWithNodeHttp(url: string, body: string): Promise<number> {
  return new Promise((resolveStatus, reject) => {
    const data = Buffer.from(body);
    const req = request(url, { method: 'PUT', headers: { 'content-length': data.length } }, (res) => {
      res.resume();
      res.on('end', () => resolveStatus(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(data);
  });
}

async function webhdfsOpen(hdfs: HdfsServer, path: string): Promise<string> {
  const first = await fetch(`${hdfs.webhdfsUrl}${path}?op=OPEN&user.name=sluice`, { redirect: 'manual' });
  await first.arrayBuffer();
  assert.equal(first.status, 307, `OPEN should redirect, got ${first.status}`);
  const second = await fetch(first.headers.get('location')!);
  assert.equal(second.status, 200);
  return second.text();
}

// --- HiveServer2 through hive-driver -------------------------------------------------------------------------

interface HiveSessionHandle {
  exec(sql: string): Promise<void>;
  query(sql: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

async function openHive(server: HiveServer2): Promise<HiveSessionHandle> {
  const { TCLIService, TCLIService_types } = hive.thrift;
  const client = new hive.HiveClient(TCLIService, TCLIService_types);
  client.on('error', (error: unknown) => console.error('hive-driver error:', error));
  const auth =
    server.authentication === 'NOSASL'
      ? new hive.auth.NoSaslAuthentication()
      : new hive.auth.PlainTcpAuthentication({ username: 'sluice', password: 'unused' });
  await client.connect({ host: server.host, port: server.port }, new hive.connections.TcpConnection(), auth);
  const session = await client.openSession({
    client_protocol: TCLIService_types.TProtocolVersion.HIVE_CLI_SERVICE_PROTOCOL_V10,
  });
  const utils = new hive.HiveUtils(TCLIService_types);
  const run = async (sql: string, fetch: boolean) => {
    const operation = await session.executeStatement(sql, { runAsync: true });
    await utils.waitUntilReady(operation, false, () => {});
    let rows: Record<string, unknown>[] = [];
    if (fetch) {
      await utils.fetchAll(operation);
      rows = utils.getResult(operation).getValue() as Record<string, unknown>[];
    }
    await operation.close();
    return rows;
  };
  return {
    exec: async (sql) => {
      await run(sql, false);
    },
    query: (sql) => run(sql, true),
    close: async () => {
      await session.close();
      client.close();
    },
  };
}

// --- main ------------------------------------------------------------------------------------------------------

const base = mkdtempSync(join(tmpdir(), 'sluice-jvm-smoke-'));
const running: JvmProcess[] = [];
const memory: string[] = [];
let failed = false;
try {
  let t = Date.now();
  await resolveClasspaths();
  log(`classpaths resolved in ${since(t)} (Maven runs only when a pom changed)`);

  // HDFS
  t = Date.now();
  const hdfs = await startHdfs({ dir: join(base, 'hdfs') });
  running.push(hdfs);
  log(`HDFS up in ${since(t)}: ${hdfs.fsDefaultFS}, WebHDFS ${hdfs.webhdfsUrl}, DataNode HTTP ${hdfs.datanodeHttpPort}`);
  const payload = `hello from sluice ${new Date().toISOString()}\nsecond line ✓\n`;
  const location = await webhdfsCreate(hdfs, '/smoke/hello.txt', payload);
  log(`WebHDFS CREATE redirected to ${location.replace(/\?.*/, '?…')}`);
  assert.equal(await webhdfsOpen(hdfs, '/smoke/hello.txt'), payload);
  log('WebHDFS OPEN returned the same bytes');
  // A table's data written straight over WebHDFS, the way sluice writes files.
  await webhdfsCreate(hdfs, '/smoke/direct/part-00000.txt', '10\tten\n20\ttwenty\n');
  await webhdfsCreate(hdfs, '/smoke/direct/part-00001.txt', '30\tthirty\n');

  // HiveServer2 on that HDFS
  t = Date.now();
  const hs2 = await startHiveServer2({ dir: join(base, 'hive'), hdfs, authentication: hiveAuth });
  running.push(hs2);
  log(`HiveServer2 up in ${since(t)}: 127.0.0.1:${hs2.port} (${hs2.authentication}), warehouse ${hs2.warehouse}`);
  t = Date.now();
  const session = await openHive(hs2);
  await session.exec(
    `CREATE EXTERNAL TABLE smoke_insert (id INT, name STRING) ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\t' ` +
      `STORED AS TEXTFILE LOCATION '${hdfs.fsDefaultFS}/smoke/insert'`,
  );
  await session.exec(`INSERT INTO smoke_insert VALUES (1, 'one'), (2, 'two')`);
  const inserted = await session.query('SELECT id, name FROM smoke_insert ORDER BY id');
  assert.deepEqual(inserted, [
    { id: 1, name: 'one' },
    { id: 2, name: 'two' },
  ]);
  log(`hive-driver CREATE TABLE / INSERT / SELECT ok in ${since(t)}: ${JSON.stringify(inserted)}`);
  t = Date.now();
  await session.exec(
    `CREATE EXTERNAL TABLE smoke_direct (id INT, name STRING) ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\t' ` +
      `STORED AS TEXTFILE LOCATION '${hdfs.fsDefaultFS}/smoke/direct'`,
  );
  const direct = await session.query('SELECT id, name FROM smoke_direct ORDER BY id');
  assert.deepEqual(direct, [
    { id: 10, name: 'ten' },
    { id: 20, name: 'twenty' },
    { id: 30, name: 'thirty' },
  ]);
  log(`SELECT over files written by WebHDFS ok in ${since(t)}: ${JSON.stringify(direct)}`);
  const count = await session.query('SELECT count(*) AS n FROM smoke_direct');
  assert.deepEqual(count, [{ n: 3 }]);
  await session.close();

  // Kafka
  t = Date.now();
  const kafkaServer = await startKafka({ dir: join(base, 'kafka') });
  running.push(kafkaServer);
  log(`Kafka up in ${since(t)}: ${kafkaServer.brokers.join(',')} (controller ${kafkaServer.controllerPort})`);
  t = Date.now();
  const kafka = new Kafka({ clientId: 'sluice-smoke', brokers: kafkaServer.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'smoke', numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'smoke', messages: [{ key: 'k1', value: 'hello kafka' }] });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: 'sluice-smoke' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'smoke', fromBeginning: true });
  const received = await new Promise<string>((resolveMessage, reject) => {
    const timer = setTimeout(() => reject(new Error('no Kafka message within 60 s')), 60_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        clearTimeout(timer);
        resolveMessage(`${message.key?.toString()}=${message.value?.toString()}`);
      },
    });
  });
  await consumer.disconnect();
  assert.equal(received, 'k1=hello kafka');
  log(`kafkajs produce/consume ok in ${since(t)}: ${received}`);

  for (const [name, p] of [
    ['HDFS', hdfs],
    ['HiveServer2', hs2],
    ['Kafka', kafkaServer],
  ] as const) {
    memory.push(`${name} pid ${p.pid} RSS ${mib(p.rss())}`);
  }
  log(`memory: ${memory.join('; ')}`);
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  const t = Date.now();
  for (const p of running.reverse()) await p.stop();
  log(`stopped ${running.length} servers in ${since(t)}`);
  if (keep || failed) console.log(`server folders kept in ${base}`);
  else rmSync(base, { recursive: true, force: true });
}
console.log(failed ? 'jvm-smoke: FAILED' : `jvm-smoke: all ok in ${since(t0)}`);
process.exit(failed ? 1 : 0);
