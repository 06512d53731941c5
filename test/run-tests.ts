// `npm test`: starts the shared servers once, runs every test file against them, stops them.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFtp, stopFtp, type FtpServer } from './servers/ftp.ts';
import { startHdfs, startHiveServer2, startKafka, startZooKeeper, type JvmProcess } from './servers/jvm.ts';
import { startMariaDb, stopMariaDb } from './servers/mariadb.ts';
import { startMySql, type MySqlServer } from './servers/mysql.ts';
import {
  endpointsOfFtp,
  endpointsOfHdfs,
  endpointsOfHive,
  endpointsOfKafka,
  endpointsOfZooKeeper,
  FTP_ENV,
  HDFS_ENV,
  HIVE_ENV,
  KAFKA_ENV,
  MYSQL_DIR_ENV,
  REPO_ROOT,
  TEST_FTP_DIR,
  TEST_HDFS_DIR,
  TEST_HIVE_DIR,
  TEST_KAFKA_DIR,
  TEST_MARIADB_DIR,
  TEST_MYSQL_DIR,
  TEST_ZOOKEEPER_DIR,
  ZOOKEEPER_ENV,
} from './helpers/servers.ts';

const started = Date.now();
// A fresh data directory each run: no test depends on what an earlier run left behind.
const dir = process.env.SLUICE_TEST_MARIADB_DIR ?? TEST_MARIADB_DIR;
const existing = await startMariaDb({ dir }).catch(() => undefined);
await existing?.stop();
rmSync(dir, { recursive: true, force: true });
const mariadb = await startMariaDb({ dir });
const jvms: JvmProcess[] = [];
let mysql: MySqlServer | undefined;
let ftp: FtpServer | undefined;
// A server that fails to start (or Ctrl-C) would otherwise leave the ones started before it running,
// holding their ports and data folders until someone finds them.
for (const event of ['uncaughtException', 'unhandledRejection'] as const) process.on(event, (error) => void stopServers().finally(() => { console.error(error); process.exit(1); }));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stopServers().finally(() => process.exit(1)));
process.stdout.write(`private MariaDB on 127.0.0.1:${mariadb.port} (${dir}), ready in ${Date.now() - started} ms\n`);

const files = process.argv.slice(2).length > 0 ? process.argv.slice(2) : testFiles();
// Every workspace, private server and scratch file the tests make goes under one folder of this run
// (os.tmpdir() follows TMPDIR), removed when the run passes: a run leaves gigabytes of warehouses,
// and a machine that runs the suite daily would fill its disk. A failed run keeps it to look into.
const runTmp = mkdtempSync(join(tmpdir(), 'sluice-run-'));
const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_TEST_MARIADB_DIR: dir, TMPDIR: runTmp };
// The JVM servers are slow to start: once per run, and only when a selected test uses them.
const sources = files.map((file) => readFileSync(`${REPO_ROOT}/${file}`, 'utf8')).join('\n');
if (/testHdfs\(|testHiveServer2\(/.test(sources)) {
  const hdfsStarted = Date.now();
  rmSync(TEST_HDFS_DIR, { recursive: true, force: true });
  const hdfs = await startHdfs({ dir: TEST_HDFS_DIR });
  jvms.push(hdfs);
  env[HDFS_ENV] = JSON.stringify(endpointsOfHdfs(hdfs));
  process.stdout.write(`HDFS (WebHDFS ${hdfs.webhdfsUrl}), ready in ${Date.now() - hdfsStarted} ms\n`);
  if (/testHiveServer2\(/.test(sources)) {
    const hiveStarted = Date.now();
    rmSync(TEST_HIVE_DIR, { recursive: true, force: true });
    const hive = await startHiveServer2({ dir: TEST_HIVE_DIR, hdfs });
    jvms.push(hive);
    env[HIVE_ENV] = JSON.stringify(endpointsOfHive(hive));
    process.stdout.write(`HiveServer2 on 127.0.0.1:${hive.port} (${hive.authentication}), ready in ${Date.now() - hiveStarted} ms\n`);
  }
}
if (/testKafka\(/.test(sources)) {
  const kafkaStarted = Date.now();
  rmSync(TEST_KAFKA_DIR, { recursive: true, force: true });
  const kafka = await startKafka({ dir: TEST_KAFKA_DIR });
  jvms.push(kafka);
  env[KAFKA_ENV] = JSON.stringify(endpointsOfKafka(kafka));
  process.stdout.write(`Kafka 4.1 (KRaft) on ${kafka.brokers.join(',')}, ready in ${Date.now() - kafkaStarted} ms\n`);
}
if (/testZooKeeper\(/.test(sources)) {
  const zookeeperStarted = Date.now();
  rmSync(TEST_ZOOKEEPER_DIR, { recursive: true, force: true });
  const zookeeper = await startZooKeeper({ dir: TEST_ZOOKEEPER_DIR });
  jvms.push(zookeeper);
  env[ZOOKEEPER_ENV] = JSON.stringify(endpointsOfZooKeeper(zookeeper));
  process.stdout.write(`ZooKeeper 3.9 on ${zookeeper.connect}, ready in ${Date.now() - zookeeperStarted} ms\n`);
}
if (/testMysql\(/.test(sources)) {
  const mysqlStarted = Date.now();
  // The first run on a machine fetches MySQL 9.7 from Debian sid (about 56 MB) into .sluice/mysql-9.7.
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const mysqlDir = process.env[MYSQL_DIR_ENV] ?? TEST_MYSQL_DIR;
  // As for MariaDB: stop whatever an earlier run left in the folder, and start on an empty one.
  await stopMariaDb(join(mysqlDir, 'mysql.pid'));
  rmSync(mysqlDir, { recursive: true, force: true });
  mysql = await startMySql({ dir: mysqlDir, log });
  env[MYSQL_DIR_ENV] = mysqlDir;
  process.stdout.write(`private MySQL 9.7 on 127.0.0.1:${mysql.port} (${mysqlDir}), ready in ${Date.now() - mysqlStarted} ms\n`);
}
if (/testFtp\(/.test(sources)) {
  const ftpStarted = Date.now();
  // As for MariaDB: stop whatever an earlier run left in the folder, and start on an empty root.
  await stopFtp(TEST_FTP_DIR);
  rmSync(TEST_FTP_DIR, { recursive: true, force: true });
  ftp = await startFtp({ dir: TEST_FTP_DIR });
  env[FTP_ENV] = JSON.stringify(endpointsOfFtp(ftp));
  process.stdout.write(`pure-ftpd on 127.0.0.1:${ftp.port} (${TEST_FTP_DIR}), ready in ${Date.now() - ftpStarted} ms\n`);
}
// --test-force-exit: a file whose test failed half way may leave a generator or a daemon running,
// whose handles would keep its process, and so the whole run, alive until CI's own time limit; with it
// the file's process ends once its tests have (and test/helpers/daemon.ts takes its daemons along).
// Not in test/node24.ts: under Node 24 the flag ended the run before the last file had reported all
// its tests (192 of 229 shown, and green); the unit-level files there start no daemon.
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-force-exit', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  cwd: REPO_ROOT,
  stdio: 'inherit',
  env,
});
let code = await exitCode(child);
// A full run ends with the unit-level tests and the demo under Node 24 (test/node24.ts); a run of
// chosen files is about those files only.
if (process.argv.length <= 2) {
  const node24Code = await exitCode(spawn(process.execPath, ['--import', 'tsx', 'test/node24.ts'], { cwd: REPO_ROOT, stdio: 'inherit', env }));
  code ||= node24Code;
}
await stopServers();
if (code === 0) rmSync(runTmp, { recursive: true, force: true });
else process.stdout.write(`the tests' workspaces are kept in ${runTmp}\n`);
process.stdout.write(`test run took ${Math.round((Date.now() - started) / 1000)} s\n`);
process.exit(code);

async function stopServers(): Promise<void> {
  for (const stop of [...jvms.reverse().map((jvm) => () => jvm.stop()), () => ftp?.stop(), () => mysql?.stop(), () => mariadb.stop()]) {
    await Promise.resolve(stop()).catch((error: unknown) => console.error(`stopping a test server: ${(error as Error).message}`));
  }
  jvms.length = 0;
}

function exitCode(process: ChildProcess): Promise<number> {
  return new Promise((resolve) => process.on('exit', (status, signal) => resolve(status ?? (signal ? 1 : 0))));
}

function testFiles(): string[] {
  return (readdirSync(`${REPO_ROOT}/test`, { recursive: true }) as string[])
    .filter((name) => name.endsWith('.test.ts'))
    .map((name) => `test/${name}`)
    .sort();
}
