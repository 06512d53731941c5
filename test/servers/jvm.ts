// JVM test servers for the integration tests: HDFS (NameNode + DataNode, WebHDFS), HiveServer2 4.1 with
// an embedded Derby metastore, Kafka in KRaft mode and a standalone ZooKeeper 3.9. All from Maven Central jars resolved by
// test/servers/jvm/pom.xml, all on 127.0.0.1 only, each owning a folder for config, data, logs and a
// pid file. See test/servers/jvm/README.md for figures and gotchas.
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isProcessAlive } from '../../src/core/process-alive.ts';
import { freePort } from './mariadb.ts';

const execFileAsync = promisify(execFile);

const JVM_DIR = join(dirname(fileURLToPath(import.meta.url)), 'jvm');

/** The test servers, and the peers `npm run bench:peers` measures (bench/peers/, in the same Maven reactor). */
export type JvmModule = 'hdfs' | 'kafka' | 'hive' | 'zookeeper' | 'peers-canal' | 'peers-debezium';
const ALL_MODULES: JvmModule[] = ['hdfs', 'kafka', 'hive', 'zookeeper'];
const PEERS = '../../../bench/peers';
/** Each module's folder, relative to JVM_DIR (as the parent pom lists it). */
const MODULE_DIR: Record<JvmModule, string> = {
  hdfs: 'hdfs',
  kafka: 'kafka',
  hive: 'hive',
  zookeeper: 'zookeeper',
  'peers-canal': `${PEERS}/canal`,
  'peers-debezium': `${PEERS}/debezium`,
};
/** Module folders whose files decide a module's classpath (hive links the re-packed hive-service; the peers their shared harness). */
const MODULE_INPUTS: Record<JvmModule, string[]> = {
  hdfs: ['hdfs'],
  kafka: ['kafka'],
  hive: ['hive-service', 'hive'],
  zookeeper: ['zookeeper'],
  'peers-canal': [`${PEERS}/common`, `${PEERS}/canal`],
  'peers-debezium': [`${PEERS}/common`, `${PEERS}/debezium`],
};

// --- Classpaths ---------------------------------------------------------------------------------------

interface ClasspathStamp {
  hash: string;
  classpath: string;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'target' || entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full));
    else out.push(full);
  }
  return out.sort();
}

/** Hash of everything that decides a module's classpath: the parent pom and the module's own files. */
function moduleHash(module: JvmModule): string {
  const hash = createHash('sha256');
  const files = [join(JVM_DIR, 'pom.xml'), ...MODULE_INPUTS[module].flatMap((m) => listFiles(join(JVM_DIR, m)))];
  for (const file of files) {
    hash.update(relative(JVM_DIR, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

function stampFile(module: JvmModule): string {
  return join(JVM_DIR, MODULE_DIR[module], 'target', 'sluice-classpath.json');
}

function readStamp(module: JvmModule, hash: string): string | undefined {
  try {
    const stamp = JSON.parse(readFileSync(stampFile(module), 'utf8')) as ClasspathStamp;
    if (stamp.hash !== hash) return undefined;
    // A cleaned ~/.m2 or target/ invalidates the stamp.
    if (!stamp.classpath.split(':').every((entry) => existsSync(entry))) return undefined;
    return stamp.classpath;
  } catch {
    return undefined;
  }
}

async function withLock<T>(lockDir: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileIfExists(join(lockDir, 'pid')).trim());
      if (Number.isInteger(holder) && holder > 0 && !isProcessAlive(holder)) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the Maven lock ${lockDir}`);
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

let pendingResolve: Promise<Record<JvmModule, string>> | undefined;

/**
 * The runtime classpath of each JVM module (launcher classes first), resolving with Maven only when a
 * module's pom or sources changed since the last run (or its jars are gone). The first run downloads
 * into ~/.m2 (HDFS ~60 MB, Kafka ~45 MB, Hive ~320 MB); later runs start no Maven at all.
 */
export async function resolveClasspaths(modules: JvmModule[] = ALL_MODULES): Promise<Record<JvmModule, string>> {
  // One resolution at a time in this process; a file lock keeps parallel test processes apart.
  while (pendingResolve) await pendingResolve.catch(() => undefined);
  const run = (async () => {
    const result = {} as Record<JvmModule, string>;
    const hashes = new Map(modules.map((m) => [m, moduleHash(m)] as const));
    const stale = () => modules.filter((m) => readStamp(m, hashes.get(m)!) === undefined);
    if (stale().length > 0) {
      await withLock(join(JVM_DIR, '.maven-lock'), async () => {
        const todo = stale();
        if (todo.length === 0) return;
        const args = ['-B', '-q', '-f', join(JVM_DIR, 'pom.xml'), '-pl', todo.map((m) => MODULE_DIR[m]).join(','), '-am', 'package'];
        try {
          await execFileAsync('mvn', args, { cwd: JVM_DIR, maxBuffer: 64 * 1024 * 1024 });
        } catch (error) {
          const e = error as { stdout?: string; stderr?: string; message: string };
          throw new Error(
            `mvn ${args.join(' ')} failed: ${e.message}\n${tail(`${e.stdout ?? ''}\n${e.stderr ?? ''}`, 60)}`,
          );
        }
        for (const module of todo) {
          const deps = readFileSync(join(JVM_DIR, MODULE_DIR[module], 'target', 'classpath.txt'), 'utf8').trim();
          const classes = join(JVM_DIR, MODULE_DIR[module], 'target', 'classes'); // launcher classes, if the module has any
          const classpath = [existsSync(classes) ? classes : '', deps].filter(Boolean).join(':');
          mkdirSync(dirname(stampFile(module)), { recursive: true });
          writeFileSync(stampFile(module), JSON.stringify({ hash: hashes.get(module), classpath }) + '\n');
        }
      });
    }
    for (const module of modules) {
      const classpath = readStamp(module, hashes.get(module)!);
      if (classpath === undefined) throw new Error(`no classpath for ${module} after running Maven`);
      result[module] = classpath;
    }
    return result;
  })();
  pendingResolve = run;
  try {
    return await run;
  } finally {
    pendingResolve = undefined;
  }
}

// --- Process handling -----------------------------------------------------------------------------------

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function readFileIfExists(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function tail(text: string, lines: number): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** The pid in the file if that process is alive and still one of ours (its command line names `marker`). */
function ourLivePid(pidFile: string, marker: string): number | undefined {
  const pid = Number(readFileIfExists(pidFile).trim());
  if (!Number.isInteger(pid) || pid <= 0 || !isProcessAlive(pid)) return undefined;
  const cmdline = readFileIfExists(`/proc/${pid}/cmdline`).replaceAll('\0', ' ');
  // On a system without /proc, trust the pid file.
  if (cmdline !== '' && !cmdline.includes(marker)) return undefined;
  return pid;
}

async function killAndWait(pid: number, graceMs: number): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig); // the JVM leads its own process group (detached)
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* gone */
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isProcessAlive(pid)) {
    if (Date.now() > deadline) {
      signal('SIGKILL');
      const hard = Date.now() + 10_000;
      while (isProcessAlive(pid) && Date.now() < hard) await sleep(50);
      return;
    }
    await sleep(100);
  }
}

export interface JvmProcess {
  pid: number;
  /** Folder of this server: config, data, logs, pid file. */
  dir: string;
  /** The server's own log (log4j) and the JVM's stdout/stderr. */
  logFile: string;
  outFile: string;
  /** Resident set size now, in bytes (from /proc), or undefined when unknown. */
  rss(): number | undefined;
  stop(): Promise<void>;
}

interface LaunchSpec {
  name: string;
  dir: string;
  classpath: string;
  mainClass: string;
  args: string[];
  heap: string;
  jvmArgs: string[];
  logFile: string;
}

const ADD_OPENS = [
  'java.base/java.lang',
  'java.base/java.lang.reflect',
  'java.base/java.io',
  'java.base/java.net',
  'java.base/java.nio',
  'java.base/java.text',
  'java.base/java.time',
  'java.base/java.util',
  'java.base/java.util.concurrent',
  'java.base/java.util.concurrent.atomic',
  'java.base/java.util.regex',
  'java.base/sun.nio.ch',
  'java.sql/java.sql',
].map((p) => `--add-opens=${p}=ALL-UNNAMED`);

export function javaBinary(): string {
  if (process.env.SLUICE_JAVA) return process.env.SLUICE_JAVA;
  if (process.env.JAVA_HOME) return join(process.env.JAVA_HOME, 'bin', 'java');
  return 'java';
}

function launch(spec: LaunchSpec): { pid: number; exited: () => boolean; outFile: string } {
  const pidFile = join(spec.dir, `${spec.name}.pid`);
  const outFile = join(spec.dir, `${spec.name}.out`);
  const tmpDir = join(spec.dir, 'jvm-tmp');
  mkdirSync(tmpDir, { recursive: true });
  const args = [
    `-Xmx${spec.heap}`,
    // Small footprint and little JIT work: these servers are idle most of the time on 2 shared cores.
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-Djava.net.preferIPv4Stack=true',
    `-Djava.io.tmpdir=${tmpDir}`,
    // Tags the process for ourLivePid() and for `ps`.
    `-Dsluice.testserver=${spec.dir}`,
    ...ADD_OPENS,
    ...spec.jvmArgs,
    '-cp',
    spec.classpath,
    spec.mainClass,
    ...spec.args,
  ];
  // Keep the previous run's logs as *.1 (a crash test restarts servers and may want to look back).
  for (const file of [outFile, spec.logFile]) {
    if (existsSync(file)) renameSync(file, `${file}.1`);
  }
  const out = openSync(outFile, 'w');
  const child = spawn(javaBinary(), args, { cwd: spec.dir, detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  child.on('error', () => {
    exited = true;
  });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${javaBinary()} for ${spec.name}`);
  writeFileSync(pidFile, String(child.pid));
  return { pid: child.pid, exited: () => exited, outFile };
}

function failure(what: string, spec: LaunchSpec, outFile: string, reason: string): Error {
  return new Error(
    `${what} in ${spec.dir} did not start: ${reason}\n` +
      `--- last lines of ${spec.logFile} ---\n${tail(readFileIfExists(spec.logFile), 40)}\n` +
      `--- last lines of ${outFile} ---\n${tail(readFileIfExists(outFile), 40)}`,
  );
}

function rssOf(pid: number): number | undefined {
  const status = readFileIfExists(`/proc/${pid}/status`);
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : undefined;
}

function processHandle(spec: LaunchSpec, pid: number, outFile: string): JvmProcess {
  const pidFile = join(spec.dir, `${spec.name}.pid`);
  return {
    pid,
    dir: spec.dir,
    logFile: spec.logFile,
    outFile,
    rss: () => rssOf(pid),
    stop: async () => {
      // This handle's own process only (a later start in the same folder has its own pid).
      const cmdline = readFileIfExists(`/proc/${pid}/cmdline`);
      if (isProcessAlive(pid) && (cmdline === '' || cmdline.includes(spec.dir))) await killAndWait(pid, 30_000);
      if (readFileIfExists(pidFile).trim() === String(pid)) rmSync(pidFile, { force: true });
    },
  };
}

/** Kills a server left running by an earlier run (same folder) before starting a new one. */
async function killStale(name: string, dir: string): Promise<void> {
  const pid = ourLivePid(join(dir, `${name}.pid`), dir);
  if (pid !== undefined) await killAndWait(pid, 15_000);
}

function canConnect(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolvePort) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolvePort(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Starts the JVM and waits until `ready()` gives a value; throws with the logs' tails otherwise. */
async function startAndWait<T>(
  what: string,
  spec: LaunchSpec,
  timeoutMs: number,
  ready: () => Promise<T | undefined>,
): Promise<{ value: T; pid: number; outFile: string }> {
  await killStale(spec.name, spec.dir);
  const { pid, exited, outFile } = launch(spec);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited() || !isProcessAlive(pid)) {
      throw failure(what, spec, outFile, 'the JVM exited');
    }
    let value: T | undefined;
    try {
      value = await ready();
    } catch {
      value = undefined;
    }
    if (value !== undefined) return { value, pid, outFile };
    if (Date.now() > deadline) {
      await killAndWait(pid, 5_000);
      throw failure(what, spec, outFile, `not ready after ${timeoutMs / 1000} s`);
    }
    await sleep(250);
  }
}

function readEndpoints<T>(dir: string): T | undefined {
  const file = join(dir, 'endpoints.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

function isBindFailure(spec: LaunchSpec, outFile: string): boolean {
  const text = readFileIfExists(outFile) + tail(readFileIfExists(spec.logFile), 80);
  return /BindException|Address already in use/.test(text);
}

// --- HDFS ------------------------------------------------------------------------------------------------

export interface HdfsOptions {
  /** Folder for metadata, blocks, config and logs; created when missing, reused (not reformatted) when not. */
  dir: string;
  /** Fixed ports; 0 or absent lets the kernel pick (no race). */
  ports?: { namenodeRpc?: number; namenodeHttp?: number; datanode?: number; datanodeHttp?: number };
  heap?: string;
  jvmArgs?: string[];
  startTimeoutMs?: number;
}

export interface HdfsServer extends JvmProcess {
  host: '127.0.0.1';
  /** hdfs://127.0.0.1:PORT */
  fsDefaultFS: string;
  namenodeRpcPort: number;
  namenodeHttpPort: number;
  /** http://127.0.0.1:NN_HTTP/webhdfs/v1 (append the absolute path and ?op=...). */
  webhdfsUrl: string;
  datanodePort: number;
  datanodeHttpPort: number;
}

interface HdfsEndpoints {
  fsDefaultFS: string;
  namenodeRpcPort: number;
  namenodeHttpPort: number;
  datanodePort: number;
  datanodeHttpPort: number;
}

export async function startHdfs(options: HdfsOptions): Promise<HdfsServer> {
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const { hdfs: classpath } = await resolveClasspaths(['hdfs']);
  const logFile = join(dir, 'hdfs.log');
  const log4j = join(dir, 'log4j.properties');
  writeFileSync(
    log4j,
    [
      'log4j.rootLogger=INFO,F',
      'log4j.appender.F=org.apache.log4j.FileAppender',
      `log4j.appender.F.File=${logFile}`,
      'log4j.appender.F.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.F.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n',
      // Per-request audit and block logs are noise in tests.
      'log4j.logger.org.apache.hadoop.hdfs.server.namenode.FSNamesystem.audit=WARN',
      'log4j.logger.org.apache.hadoop.hdfs.server.datanode.DataNode.clienttrace=WARN',
      'log4j.logger.BlockStateChange=WARN',
      '',
    ].join('\n'),
  );
  const p = options.ports ?? {};
  const spec: LaunchSpec = {
    name: 'hdfs',
    dir,
    classpath,
    mainClass: 'sluice.testservers.HdfsServer',
    args: [dir, p.namenodeRpc ?? 0, p.namenodeHttp ?? 0, p.datanode ?? 0, p.datanodeHttp ?? 0].map(String),
    heap: options.heap ?? '256m',
    jvmArgs: [`-Dlog4j.configuration=file:${log4j}`, ...(options.jvmArgs ?? [])],
    logFile,
  };
  rmSync(join(dir, 'endpoints.json'), { force: true });
  const { value: endpoints, pid, outFile } = await startAndWait('HDFS', spec, options.startTimeoutMs ?? 120_000, async () => {
    const e = readEndpoints<HdfsEndpoints>(dir);
    if (!e) return undefined;
    // WebHDFS answers (the launcher already waited for the DataNode and the end of safe mode).
    const res = await fetch(`http://127.0.0.1:${e.namenodeHttpPort}/webhdfs/v1/?op=GETFILESTATUS&user.name=sluice`);
    await res.arrayBuffer();
    return res.ok ? e : undefined;
  });
  return {
    ...processHandle(spec, pid, outFile),
    host: '127.0.0.1',
    fsDefaultFS: endpoints.fsDefaultFS,
    namenodeRpcPort: endpoints.namenodeRpcPort,
    namenodeHttpPort: endpoints.namenodeHttpPort,
    webhdfsUrl: `http://127.0.0.1:${endpoints.namenodeHttpPort}/webhdfs/v1`,
    datanodePort: endpoints.datanodePort,
    datanodeHttpPort: endpoints.datanodeHttpPort,
  };
}

// --- HiveServer2 -------------------------------------------------------------------------------------------

export type HiveAuthentication = 'NOSASL' | 'NONE';

export interface HiveServer2Options {
  /** Folder for the Derby metastore, hive-site.xml, scratch dirs and logs; the metastore is kept across restarts. */
  dir: string;
  /** Warehouse and scratch dirs on this HDFS; without it they are local, under `dir`. */
  hdfs?: Pick<HdfsServer, 'fsDefaultFS'>;
  /**
   * hive.server2.authentication. NOSASL pairs with hive-driver's NoSaslAuthentication, NONE with
   * PlainTcpAuthentication (any user/password). A mismatch hangs the client rather than failing.
   */
  authentication?: HiveAuthentication;
  port?: number;
  heap?: string;
  jvmArgs?: string[];
  startTimeoutMs?: number;
}

export interface HiveServer2 extends JvmProcess {
  host: '127.0.0.1';
  port: number;
  authentication: HiveAuthentication;
  /** hive.metastore.warehouse.dir (managed tables; Hive 4 makes plain CREATE TABLE external under .../external). */
  warehouse: string;
}

/** A log4j2 config that sends everything at INFO to `logFile`, with some loggers quieter. */
function writeLog4j2(path: string, logFile: string, pattern: string, quieter: Record<string, string>): void {
  const lines = [
    'status=warn',
    'appender.f.type=File',
    'appender.f.name=F',
    `appender.f.fileName=${logFile}`,
    'appender.f.layout.type=PatternLayout',
    `appender.f.layout.pattern=${pattern}`,
    'rootLogger.level=INFO',
    'rootLogger.appenderRef.f.ref=F',
  ];
  Object.entries(quieter).forEach(([logger, level], index) => lines.push(`logger.q${index}.name=${logger}`, `logger.q${index}.level=${level}`));
  writeFileSync(path, lines.join('\n') + '\n');
}

export async function startHiveServer2(options: HiveServer2Options): Promise<HiveServer2> {
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const { hive: classpath } = await resolveClasspaths(['hive']);
  const authentication = options.authentication ?? 'NOSASL';
  const logFile = join(dir, 'hiveserver2.log');
  const log4j2 = join(dir, 'log4j2.properties');
  // DataNucleus and the metastore's direct-SQL probe log full stack traces on a fresh Derby schema.
  writeLog4j2(log4j2, logFile, '%d{ISO8601} %p [%t] %c{1}: %m%n', { DataNucleus: 'WARN' });
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = options.port ?? (await freePort());
    const spec: LaunchSpec = {
      name: 'hiveserver2',
      dir,
      classpath,
      mainClass: 'sluice.testservers.HiveServer',
      args: [dir, String(port), authentication, options.hdfs?.fsDefaultFS ?? ''],
      heap: options.heap ?? '512m',
      jvmArgs: [
        `-Dlog4j2.configurationFile=${log4j2}`,
        `-Dderby.stream.error.file=${join(dir, 'derby.log')}`,
        ...(options.jvmArgs ?? []),
      ],
      logFile,
    };
    rmSync(join(dir, 'endpoints.json'), { force: true });
    try {
      const { value, pid, outFile } = await startAndWait(
        'HiveServer2',
        spec,
        options.startTimeoutMs ?? 240_000,
        async () => {
          const e = readEndpoints<{ port: number; warehouse: string }>(dir);
          return e && (await canConnect(e.port)) ? e : undefined;
        },
      );
      return {
        ...processHandle(spec, pid, outFile),
        host: '127.0.0.1',
        port: value.port,
        authentication,
        warehouse: value.warehouse,
      };
    } catch (error) {
      lastError = error;
      // A free port taken between picking and binding: try another.
      if (options.port !== undefined || !isBindFailure(spec, join(dir, 'hiveserver2.out'))) throw error;
    }
  }
  throw lastError;
}

// --- Kafka ---------------------------------------------------------------------------------------------------

export interface KafkaOptions {
  /** Folder for server.properties, the log dirs and logs; formatted once, reused afterwards. */
  dir: string;
  port?: number;
  controllerPort?: number;
  /** Extra server.properties lines (key → value), e.g. { 'num.partitions': 4 }. */
  properties?: Record<string, string | number | boolean>;
  heap?: string;
  jvmArgs?: string[];
  startTimeoutMs?: number;
}

export interface KafkaServer extends JvmProcess {
  host: '127.0.0.1';
  port: number;
  controllerPort: number;
  /** ['127.0.0.1:PORT'] for kafkajs' `brokers`. */
  brokers: string[];
  clusterId: string;
}

export async function startKafka(options: KafkaOptions): Promise<KafkaServer> {
  const dir = resolve(options.dir);
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const { kafka: classpath } = await resolveClasspaths(['kafka']);
  const logFile = join(dir, 'kafka.log');
  const log4j2 = join(dir, 'log4j2.properties');
  writeLog4j2(log4j2, logFile, '%d{ISO8601} %p %c{1}: %m%n', { 'state.change.logger': 'WARN' });
  const clusterIdFile = join(dir, 'cluster-id');
  // Base64url may begin with '-', which kafka-storage's argument parser takes for an option (seen: one
  // start in 64 failed with "--cluster-id: expected one argument"): such an id is drawn again.
  if (!existsSync(clusterIdFile)) {
    let id = randomBytes(16).toString('base64url');
    while (id.startsWith('-')) id = randomBytes(16).toString('base64url');
    writeFileSync(clusterIdFile, id);
  }
  const clusterId = readFileSync(clusterIdFile, 'utf8').trim();

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = options.port ?? (await freePort());
    let controllerPort = options.controllerPort ?? (await freePort());
    while (controllerPort === port) controllerPort = await freePort();
    const props: Record<string, string | number | boolean> = {
      'process.roles': 'broker,controller',
      'node.id': 1,
      'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
      listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names': 'CONTROLLER',
      'inter.broker.listener.name': 'PLAINTEXT',
      'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      'log.dirs': dataDir,
      'num.partitions': 1,
      'offsets.topic.replication.factor': 1,
      'offsets.topic.num.partitions': 1,
      'transaction.state.log.replication.factor': 1,
      'transaction.state.log.min.isr': 1,
      'transaction.state.log.num.partitions': 1,
      'share.coordinator.state.topic.replication.factor': 1,
      'share.coordinator.state.topic.min.isr': 1,
      'group.initial.rebalance.delay.ms': 0,
      'auto.create.topics.enable': true,
      'num.network.threads': 2,
      'num.io.threads': 2,
      'log.cleaner.dedupe.buffer.size': 8 * 1024 * 1024,
      ...(options.properties ?? {}),
    };
    const propertiesFile = join(dir, 'server.properties');
    writeFileSync(
      propertiesFile,
      Object.entries(props)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join('\n') + '\n',
    );
    const spec: LaunchSpec = {
      name: 'kafka',
      dir,
      classpath,
      mainClass: 'kafka.Kafka',
      args: [propertiesFile],
      heap: options.heap ?? '256m',
      jvmArgs: [`-Dlog4j2.configurationFile=${log4j2}`, ...(options.jvmArgs ?? [])],
      logFile,
    };
    if (!existsSync(join(dataDir, 'meta.properties'))) {
      await killStale('kafka', dir);
      try {
        await execFileAsync(
          javaBinary(),
          [
            '-Xmx128m',
            '-XX:TieredStopAtLevel=1',
            `-Dlog4j2.configurationFile=${log4j2}`,
            '-cp',
            classpath,
            'kafka.tools.StorageTool',
            'format',
            '--cluster-id',
            clusterId,
            '--config',
            propertiesFile,
            '--ignore-formatted',
          ],
          { cwd: dir },
        );
      } catch (error) {
        const e = error as { stdout?: string; stderr?: string; message: string };
        throw new Error(`kafka-storage format in ${dir} failed: ${e.message}\n${tail(`${e.stdout}\n${e.stderr}`, 40)}`);
      }
    }
    try {
      const { pid, outFile } = await startAndWait('Kafka', spec, options.startTimeoutMs ?? 120_000, async () =>
        // The broker opens its listener at the end of its start-up; the log line rules out another
        // process that took the port between freePort() and the bind.
        (await canConnect(port)) && /Kafka Server started/.test(readFileIfExists(logFile)) ? true : undefined,
      );
      return {
        ...processHandle(spec, pid, outFile),
        host: '127.0.0.1',
        port,
        controllerPort,
        brokers: [`127.0.0.1:${port}`],
        clusterId,
      };
    } catch (error) {
      lastError = error;
      if (options.port !== undefined || !isBindFailure(spec, join(dir, 'kafka.out'))) throw error;
    }
  }
  throw lastError;
}

// --- ZooKeeper -------------------------------------------------------------------------------------------

export interface ZooKeeperOptions {
  /** Folder for zoo.cfg, the snapshots and transaction log, and logs; the data is kept across restarts. */
  dir: string;
  /** A fixed client port (a restart in the same folder passes the previous one, so clients reconnect). */
  port?: number;
  heap?: string;
  jvmArgs?: string[];
  startTimeoutMs?: number;
}

export interface ZooKeeperServer extends JvmProcess {
  host: '127.0.0.1';
  port: number;
  /** '127.0.0.1:PORT', for a client's connection string. */
  connect: string;
}

/** Asks a four-letter word ('srvr') and gives the answer, or undefined when the server does not answer. */
function fourLetterWord(port: number, word: string, timeoutMs = 2000): Promise<string | undefined> {
  return new Promise((resolveWord) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    const done = (value: string | undefined) => {
      socket.destroy();
      resolveWord(value);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once('connect', () => socket.write(word));
    socket.on('data', (chunk) => (answer += chunk.toString('utf8')));
    socket.once('end', () => done(answer));
    socket.once('error', () => done(undefined));
  });
}

/**
 * A standalone ZooKeeper (ZooKeeperServerMain) on 127.0.0.1. tickTime 500 ms lets a test use session
 * timeouts from 1 s (2 ticks) to 30 s; the AdminServer (Jetty on 8080) is off. Ready when 'srvr' says
 * 'Mode: standalone' ('ruok' answers imok before the database is loaded, and after a failed load).
 */
export async function startZooKeeper(options: ZooKeeperOptions): Promise<ZooKeeperServer> {
  const dir = resolve(options.dir);
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const { zookeeper: classpath } = await resolveClasspaths(['zookeeper']);
  const logFile = join(dir, 'zookeeper.log');
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = options.port ?? (await freePort());
    const configFile = join(dir, 'zoo.cfg');
    writeFileSync(
      configFile,
      [
        'tickTime=500',
        'minSessionTimeout=1000',
        'maxSessionTimeout=30000',
        `dataDir=${dataDir}`,
        `clientPort=${port}`,
        'clientPortAddress=127.0.0.1',
        'admin.enableServer=false',
        '4lw.commands.whitelist=ruok,srvr',
        // A test's data is small: no purge task, no preallocated 64 MB transaction logs.
        'autopurge.purgeInterval=0',
        'preAllocSize=1024',
        '',
      ].join('\n'),
    );
    const spec: LaunchSpec = {
      name: 'zookeeper',
      dir,
      classpath,
      mainClass: 'org.apache.zookeeper.server.ZooKeeperServerMain',
      args: [configFile],
      heap: options.heap ?? '128m',
      jvmArgs: [`-Dorg.slf4j.simpleLogger.logFile=${logFile}`, '-Dorg.slf4j.simpleLogger.showDateTime=true', '-Dzookeeper.jmx.log4j.disable=true', ...(options.jvmArgs ?? [])],
      logFile,
    };
    try {
      const { pid, outFile } = await startAndWait('ZooKeeper', spec, options.startTimeoutMs ?? 60_000, async () =>
        /Mode: standalone/.test((await fourLetterWord(port, 'srvr')) ?? '') ? true : undefined,
      );
      return { ...processHandle(spec, pid, outFile), host: '127.0.0.1', port, connect: `127.0.0.1:${port}` };
    } catch (error) {
      lastError = error;
      if (options.port !== undefined || !isBindFailure(spec, join(dir, 'zookeeper.out'))) throw error;
    }
  }
  throw lastError;
}

// Exported for the smoke script and tests that want to report sizes.
export function dirSize(path: string): number {
  let total = 0;
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.size;
  for (const entry of readdirSync(path)) total += dirSize(join(path, entry));
  return total;
}
