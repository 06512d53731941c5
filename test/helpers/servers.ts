// The servers a test needs. `npm test` (test/run-tests.ts) starts them once for the whole run and
// passes their addresses down in the environment; a test file run on its own starts (or reuses) the
// same private ones and stops the JVMs it started when it exits. A test that needs a server and
// cannot get one fails: there is no skip.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHdfs, startHiveServer2, startKafka, startZooKeeper, type HdfsServer, type HiveServer2, type KafkaServer, type ZooKeeperServer } from '../servers/jvm.ts';
import { startFtp, type FtpServer } from '../servers/ftp.ts';
import { startMariaDb, type MariaDbServer } from '../servers/mariadb.ts';
import { startMySql, type MySqlServer } from '../servers/mysql.ts';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const TEST_MARIADB_DIR = join(REPO_ROOT, '.sluice', 'test-mariadb');
export const TEST_MYSQL_DIR = join(REPO_ROOT, '.sluice', 'test-mysql');
export const TEST_HDFS_DIR = join(REPO_ROOT, '.sluice', 'test-hdfs');
export const TEST_HIVE_DIR = join(REPO_ROOT, '.sluice', 'test-hive');
export const TEST_FTP_DIR = join(REPO_ROOT, '.sluice', 'test-ftp');
export const TEST_KAFKA_DIR = join(REPO_ROOT, '.sluice', 'test-kafka');
export const TEST_ZOOKEEPER_DIR = join(REPO_ROOT, '.sluice', 'test-zookeeper');

/** What a test may use of a shared HDFS: endpoints only; stopping it is the runner's business. */
export type HdfsEndpoints = Pick<HdfsServer, 'host' | 'fsDefaultFS' | 'namenodeRpcPort' | 'namenodeHttpPort' | 'webhdfsUrl' | 'datanodePort' | 'datanodeHttpPort'>;
export type HiveEndpoints = Pick<HiveServer2, 'host' | 'port' | 'authentication' | 'warehouse'>;
/** The FTP server's address and login, and the local folder its user sees as '/' (for fixtures). */
export type FtpEndpoints = Pick<FtpServer, 'host' | 'port' | 'user' | 'password' | 'rootDir'>;
/** A Kafka broker's address: a test makes its own topics (random names), so no two tests share one. */
export type KafkaEndpoints = Pick<KafkaServer, 'host' | 'port' | 'brokers'>;
/** A ZooKeeper's address: a test makes its own paths (random names), so no two tests share a znode. */
export type ZooKeeperEndpoints = Pick<ZooKeeperServer, 'host' | 'port' | 'connect'>;

export const HDFS_ENV = 'SLUICE_TEST_HDFS';
export const HIVE_ENV = 'SLUICE_TEST_HIVE';
export const FTP_ENV = 'SLUICE_TEST_FTP';
export const KAFKA_ENV = 'SLUICE_TEST_KAFKA';
export const ZOOKEEPER_ENV = 'SLUICE_TEST_ZOOKEEPER';
/** The data folder of the run's MySQL; a test reuses the server running there (see startMySql). */
export const MYSQL_DIR_ENV = 'SLUICE_TEST_MYSQL_DIR';

let sharedMariaDb: Promise<MariaDbServer> | undefined;
let sharedMySql: Promise<MySqlServer> | undefined;
let sharedHdfs: Promise<HdfsEndpoints> | undefined;
let sharedHive: Promise<HiveEndpoints> | undefined;
let sharedFtp: Promise<FtpEndpoints> | undefined;
let sharedKafka: Promise<KafkaEndpoints> | undefined;
let sharedZooKeeper: Promise<ZooKeeperEndpoints> | undefined;

export function testMariaDb(): Promise<MariaDbServer> {
  sharedMariaDb ??= startMariaDb({ dir: process.env.SLUICE_TEST_MARIADB_DIR ?? TEST_MARIADB_DIR });
  return sharedMariaDb;
}

/**
 * Oracle MySQL 9.7, fetched from Debian sid on first use (see test/servers/mysql-fetch.ts). Like
 * MariaDB it stays up after a file run on its own, for the next run to reuse.
 */
export function testMysql(): Promise<MySqlServer> {
  sharedMySql ??= startMySql({ dir: process.env[MYSQL_DIR_ENV] ?? TEST_MYSQL_DIR, log: (line) => process.stderr.write(`${line}\n`) });
  return sharedMySql;
}

/** pure-ftpd starts in a fraction of a second and idles cheaply: like MariaDB, it stays up for the next run to reuse. */
export function testFtp(): Promise<FtpEndpoints> {
  sharedFtp ??= fromEnvOrStart(FTP_ENV, async () => endpointsOfFtp(await startFtp({ dir: TEST_FTP_DIR })));
  return sharedFtp;
}

export function testHdfs(): Promise<HdfsEndpoints> {
  sharedHdfs ??= fromEnvOrStart(HDFS_ENV, async () => stopAtExit(await startHdfs({ dir: TEST_HDFS_DIR })));
  return sharedHdfs;
}

/** Kafka 4.1 in KRaft mode (one broker that is also the controller). */
export function testKafka(): Promise<KafkaEndpoints> {
  sharedKafka ??= fromEnvOrStart(KAFKA_ENV, async () => stopAtExit(await startKafka({ dir: TEST_KAFKA_DIR })));
  return sharedKafka;
}

/** A standalone ZooKeeper 3.9 (the leader election of a standby daemon, docs/ha.md). */
export function testZooKeeper(): Promise<ZooKeeperEndpoints> {
  sharedZooKeeper ??= fromEnvOrStart(ZOOKEEPER_ENV, async () => stopAtExit(await startZooKeeper({ dir: TEST_ZOOKEEPER_DIR })));
  return sharedZooKeeper;
}

/** HiveServer2 with its warehouse on the shared HDFS. */
export function testHiveServer2(): Promise<HiveEndpoints> {
  sharedHive ??= fromEnvOrStart(HIVE_ENV, async () => {
    const hdfs = await testHdfs();
    return stopAtExit(await startHiveServer2({ dir: TEST_HIVE_DIR, hdfs }));
  });
  return sharedHive;
}

async function fromEnvOrStart<T>(variable: string, start: () => Promise<T>): Promise<T> {
  const passed = process.env[variable];
  return passed ? (JSON.parse(passed) as T) : start();
}

function stopAtExit<T extends { stop(): Promise<void> }>(server: T): T {
  process.once('beforeExit', () => void server.stop());
  return server;
}

export function endpointsOfHdfs(server: HdfsServer): HdfsEndpoints {
  const { host, fsDefaultFS, namenodeRpcPort, namenodeHttpPort, webhdfsUrl, datanodePort, datanodeHttpPort } = server;
  return { host, fsDefaultFS, namenodeRpcPort, namenodeHttpPort, webhdfsUrl, datanodePort, datanodeHttpPort };
}

export function endpointsOfHive(server: HiveServer2): HiveEndpoints {
  const { host, port, authentication, warehouse } = server;
  return { host, port, authentication, warehouse };
}

export function endpointsOfKafka(server: KafkaServer): KafkaEndpoints {
  const { host, port, brokers } = server;
  return { host, port, brokers };
}

export function endpointsOfZooKeeper(server: ZooKeeperServer): ZooKeeperEndpoints {
  const { host, port, connect } = server;
  return { host, port, connect };
}

export function endpointsOfFtp(server: FtpServer): FtpEndpoints {
  const { host, port, user, password, rootDir } = server;
  return { host, port, user, password, rootDir };
}
