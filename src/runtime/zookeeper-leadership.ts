// The standby's leader election and fencing in ZooKeeper (ha.zookeeper, docs/ha.md).
//
// Election: each daemon creates an ephemeral sequential node under <path>/election; the lowest
// sequence number leads, every other daemon watches the node just before its own and stands by. An
// ephemeral node goes with its session, so the active daemon's node goes within the session timeout
// of its last heartbeat (killed, host lost, paused, cut off), and the next in line takes over.
//
// Epoch: <path>/epoch holds a counter. A new leader raises it by one with a versioned setData (a
// compare-and-set: of two daemons that both think they lead, one fails), and remembers the version
// its write produced. `check()` is a ZooKeeper multi of two `check` operations, the epoch node at that
// version and this daemon's election node: a multi is a write, ordered by ZooKeeper's leader after
// every earlier write, so it fails when another daemon has raised the epoch, when this daemon's
// session has expired (its node is gone) or when ZooKeeper cannot be reached. Every rename into place
// (state files, data-file commits) runs it first; see docs/ha.md for the window that remains.
import { hostname } from 'node:os';
import zookeeper, { type Client, type Exception, type Stat } from 'node-zookeeper-client';
import type { Logger } from 'pino';
import type { ZooKeeperSettings } from '../config/ha-schema.ts';
import { SluiceError } from '../core/errors.ts';
import type { FileSystem } from '../filesystem/filesystem.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { guardHandshake, handshakeTimeoutMs } from './zookeeper-handshake.ts';

const { CreateMode, Event, Exception: ZkException, State } = zookeeper;

export interface Leadership {
  /** The epoch this daemon leads in (1 for the first leader of a path). */
  readonly epoch: number;
  /** Its election node: '/sluice/shop/election/n-0000000003'. */
  readonly node: string;
  /** Resolves when this daemon no longer leads (session expired, node deleted, a newer epoch); it must stop writing at once. */
  readonly lost: Promise<SluiceError>;
  /** Throws SLUICE_HA_FENCED (another daemon leads) or SLUICE_HA_ZOOKEEPER_LOST (no answer) unless this daemon still leads. */
  check(): Promise<void>;
  close(): void;
}

export interface ElectOptions {
  /** Called once while this daemon waits behind another: who leads now. */
  onStandby?(leader: string): void;
}

/** Connects, joins the election and resolves once this daemon leads (a standby waits here). */
export async function electLeader(settings: ZooKeeperSettings, logger: Logger, options: ElectOptions = {}): Promise<Leadership> {
  const client = zookeeper.createClient(settings.connect, { sessionTimeout: settings.sessionTimeoutMs, spinDelay: 200, retries: 2 });
  guardHandshake(client, handshakeTimeoutMs(settings.sessionTimeoutMs, settings.connect));
  const where = `ZooKeeper ${settings.connect} (ha.zookeeper.connect), path ${settings.path}`;
  let reportLost: (error: SluiceError) => void = () => undefined;
  // After close() (a clean stop) the node's deletion is our own doing, not a loss.
  let closed = false;
  const lost = new Promise<SluiceError>((resolve) => (reportLost = (error) => closed || resolve(error)));
  client.on('state', (state) => {
    if (state === State.EXPIRED) {
      reportLost(zooKeeperLost(`the ZooKeeper session of this daemon expired (no contact for ${settings.sessionTimeoutMs} ms, ha.zookeeper.sessionTimeoutMs): a standby may lead now`, where));
    } else if (state === State.DISCONNECTED) {
      logger.warn({ zookeeper: settings.connect }, 'lost the connection to ZooKeeper: no checkpoint or commit until it answers again');
    } else if (state === State.SYNC_CONNECTED) {
      logger.info({ zookeeper: settings.connect }, 'connected to ZooKeeper');
    }
  });
  client.connect();
  try {
    await connected(client, settings.sessionTimeoutMs * 3, where);
    const electionDir = `${settings.path}/election`;
    const epochPath = `${settings.path}/epoch`;
    await call<string>((done) => client.mkdirp(electionDir, done));
    await call<string>((done) => client.create(epochPath, Buffer.from('0'), CreateMode.PERSISTENT, done)).catch((error: unknown) => {
      if (!isZk(error, ZkException.NODE_EXISTS)) throw error;
    });
    const me = JSON.stringify({ host: hostname(), pid: process.pid });
    const node = await call<string>((done) => client.create(`${electionDir}/n-`, Buffer.from(me), CreateMode.EPHEMERAL_SEQUENTIAL, done));
    const name = node.slice(electionDir.length + 1);
    let announced = false;
    for (;;) {
      const children = (await call<string[]>((done) => client.getChildren(electionDir, done))).sort();
      const index = children.indexOf(name);
      if (index < 0) throw zooKeeperLost(`this daemon's election node ${node} is gone (its session ended)`, where);
      if (index === 0) break;
      const before = `${electionDir}/${children[index - 1]}`;
      if (!announced) {
        const leader = await call<Buffer>((done) => client.getData(`${electionDir}/${children[0]}`, (error, data) => done(error, data))).catch(() => undefined);
        options.onStandby?.(leader?.toString('utf8') ?? children[0]!);
        announced = true;
      }
      // Wait for the node just before ours to go (not the leader's: one waiter per node, no herd).
      await new Promise<void>((resolve, reject) => {
        client.exists(
          before,
          () => resolve(),
          (error, stat) => {
            if (error) reject(error);
            else if (!stat) resolve();
          },
        );
        void lost.then(reject);
      });
    }
    const { epoch, version } = await raiseEpoch(client, epochPath);
    // A newer epoch or our node deleted while we lead: stand down at once, not at the next check.
    const watchEpoch = (): void =>
      client.getData(
        epochPath,
        (event) => {
          if (event.getType() === Event.NODE_DATA_CHANGED) reportLost(fenced(`another daemon raised the epoch past ${epoch} in ${epochPath}`, where));
          else watchEpoch();
        },
        () => undefined,
      );
    watchEpoch();
    client.exists(
      node,
      (event) => {
        if (event.getType() === Event.NODE_DELETED) reportLost(fenced(`this daemon's election node ${node} was deleted`, where));
      },
      () => undefined,
    );
    const timeoutMs = settings.sessionTimeoutMs;
    return {
      epoch,
      node,
      lost,
      check: async () => {
        try {
          await withTimeout(
            call<unknown>((done) => client.transaction().check(epochPath, version).check(node).commit(done)),
            timeoutMs,
          );
        } catch (error) {
          if (isZk(error, ZkException.BAD_VERSION)) throw fenced(`the epoch in ${epochPath} is no longer ${epoch}: another daemon took over`, where);
          if (isZk(error, ZkException.NO_NODE)) throw fenced(`this daemon's election node ${node} is gone: its session ended and another daemon may lead`, where);
          throw zooKeeperLost(`cannot confirm that this daemon still leads (epoch ${epoch}): ${(error as Error).message ?? String(error)}`, where, error);
        }
      },
      close: () => {
        closed = true;
        client.close();
      },
    };
  } catch (error) {
    client.close();
    throw error;
  }
}

/** Raises the epoch by one with a compare-and-set; another writer in between makes it read again. */
async function raiseEpoch(client: Client, epochPath: string): Promise<{ epoch: number; version: number }> {
  for (;;) {
    const { data, stat } = await new Promise<{ data: Buffer; stat: Stat }>((resolve, reject) =>
      client.getData(epochPath, (error, data, stat) => (error ? reject(error) : resolve({ data, stat }))),
    );
    const epoch = (Number(data?.toString('utf8')) || 0) + 1;
    try {
      const written = await call<Stat>((done) => client.setData(epochPath, Buffer.from(String(epoch)), stat.version, done));
      return { epoch, version: written.version };
    } catch (error) {
      if (!isZk(error, ZkException.BAD_VERSION)) throw error;
    }
  }
}

function call<T>(start: (done: (error: Error | Exception | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((error, value) => (error ? reject(error) : resolve(value))));
}

function connected(client: Client, timeoutMs: number, where: string): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve) => client.once('connected', () => resolve())),
    timeoutMs,
  ).catch((error: unknown) => {
    throw zooKeeperLost(`cannot connect within ${timeoutMs} ms`, where, error);
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)));
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

function isZk(error: unknown, code: number): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code && typeof (error as { getCode?: unknown }).getCode === 'function';
}

function fenced(what: string, where: string): SluiceError {
  return new SluiceError('SLUICE_HA_FENCED', `${what} (${where}). This daemon stands down without writing anything more; the active daemon resumes from the last checkpoint.`, {
    context: { configKey: 'ha.zookeeper' },
  });
}

function zooKeeperLost(what: string, where: string, cause?: unknown): SluiceError {
  return new SluiceError('SLUICE_HA_ZOOKEEPER_LOST', `${what} (${where}). No checkpoint or commit is made until ZooKeeper confirms this daemon still leads; bring ZooKeeper back.`, {
    retriable: true,
    ...(cause !== undefined ? { cause } : {}),
    context: { configKey: 'ha.zookeeper' },
  });
}

/**
 * Makes every rename and delete of a file system wait for the leader's check: a data file's commit
 * (staged name to final name) is such a rename, and a materialization's cleanup deletes the
 * generations the table no longer points to, so a paused old leader can neither commit nor delete
 * once another leads.
 */
export function fenceRenames(fs: FileSystem, leader: Pick<Leadership, 'check'>): void {
  const rename = fs.rename.bind(fs);
  fs.rename = async (from, to) => {
    await leader.check();
    await rename(from, to);
  };
  const remove = fs.delete.bind(fs);
  fs.delete = async (path, recursive) => {
    await leader.check();
    return remove(path, recursive);
  };
}

/** The catalog's writes wait for the leader's check too: a materialization's swap is one (no rename), and so is a schema change's ALTER. */
export function fenceCatalogWrites(catalog: Catalog, leader: Pick<Leadership, 'check'>): void {
  for (const method of CATALOG_WRITES) {
    const write = (catalog[method] as (...args: unknown[]) => Promise<unknown>).bind(catalog);
    (catalog as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
      await leader.check();
      return write(...args);
    };
  }
}

const CATALOG_WRITES = ['createTable', 'addColumns', 'changeColumnType', 'setPrimaryKey', 'setLocation', 'addPartition', 'dropPartition'] as const satisfies readonly (keyof Catalog)[];

export interface ElectionState {
  /** The active daemon as its election node says ('pid 4711 on host db2'), or undefined when none leads. */
  active: string | undefined;
  /** Daemons queued behind it (standing by). */
  standby: number;
  /** The epoch counter, or undefined when no daemon has ever led under the path. */
  epoch: number | undefined;
}

/**
 * What `sluice check` shows of the election under ha.zookeeper.path, read only: it creates no node
 * (not even the path) and never raises the epoch, so a check beside a running pair changes nothing.
 */
export async function readElection(settings: ZooKeeperSettings, timeoutMs: number): Promise<ElectionState> {
  const client = zookeeper.createClient(settings.connect, { sessionTimeout: settings.sessionTimeoutMs, spinDelay: 200, retries: 0 });
  const where = `ZooKeeper ${settings.connect} (ha.zookeeper.connect)`;
  client.connect();
  try {
    await withTimeout(
      new Promise<void>((resolve) => client.once('connected', () => resolve())),
      timeoutMs,
    ).catch((error: unknown) => {
      throw new SluiceError('SLUICE_HA_ZOOKEEPER_LOST', `${where} did not answer within ${timeoutMs} ms: check the address and that the ensemble runs`, {
        retriable: true,
        cause: error,
        context: { configKey: 'ha.zookeeper.connect' },
      });
    });
    // A path no daemon has used yet has no nodes: that is "none", not an error.
    const absent = <T>(error: unknown, none: T): T => {
      if (isZk(error, ZkException.NO_NODE)) return none;
      throw error;
    };
    const data = (path: string): Promise<string | undefined> =>
      call<Buffer>((done) => client.getData(path, (error, value) => done(error, value))).then(
        (value) => value?.toString('utf8'),
        (error: unknown) => absent(error, undefined),
      );
    return await withTimeout(
      (async () => {
        const electionDir = `${settings.path}/election`;
        const children = (await call<string[]>((done) => client.getChildren(electionDir, done)).catch((error: unknown) => absent<string[]>(error, []))).sort();
        const first = children[0];
        const epoch = await data(`${settings.path}/epoch`);
        return {
          active: first === undefined ? undefined : describeMember(first, await data(`${electionDir}/${first}`)),
          standby: Math.max(0, children.length - 1),
          epoch: epoch === undefined ? undefined : Number(epoch) || 0,
        };
      })(),
      timeoutMs,
    );
  } finally {
    client.close();
  }
}

/** An election node's content ({"host","pid"}, written by electLeader) in words, or its name. */
function describeMember(name: string, content: string | undefined): string {
  try {
    const { host, pid } = JSON.parse(content ?? '') as { host?: string; pid?: number };
    if (pid !== undefined) return `pid ${pid} on host ${host ?? '?'} (${name})`;
  } catch {
    // Not ours to read: the node's name says enough.
  }
  return name;
}
