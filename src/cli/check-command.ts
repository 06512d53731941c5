// `sluice check`: everything `sluice run` needs, checked against the live servers without reading an
// event or writing a file, one line per item, so a deploy can gate on it (exit 0 only when all pass).
import { access, constants, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { HiveServer2Catalog } from '../catalog/hive-server2-catalog.ts';
import { CheckpointStore } from '../checkpoint/checkpoint-store.ts';
import { configSourceKind, loadConfig, loadKafkaConfig } from '../config/load.ts';
import type { ZooKeeperSettings } from '../config/ha-schema.ts';
import type { DaemonConfig, KafkaDaemonConfig, SluiceConfig } from '../config/schema.ts';
import { isSluiceError } from '../core/errors.ts';
import { WebHdfsFileSystem } from '../filesystem/webhdfs-filesystem.ts';
import { LOCK_FILE, lockHolder } from '../runtime/state-lock.ts';
import { HDFS_LOCK_FILE } from '../runtime/hdfs-state-lock.ts';
import { openStateStore } from '../runtime/open-state-store.ts';
import { readElection } from '../runtime/zookeeper-leadership.ts';
import { TableGate } from '../checkpoint/table-gate.ts';
import { BINLOG } from '../pipeline/binlog-to-hive-record.ts';
import { kafkaHiveRecord } from '../pipeline/kafka-to-hive-record.ts';
import { splitPartitionKey } from '../sources/kafka/kafka-position.ts';
import { withPrefix } from '../sinks/kafka/kafka-sink.ts';
import { describeBrokers, readPartitionBounds, retentionGap, type PartitionBounds } from '../sources/kafka/kafka-topics.ts';
import { describePosition, type BinlogSourceState } from '../sources/binlog/position/binlog-position.ts';
import { requirePositionAvailable } from '../sources/binlog/position/position-available.ts';
import { connectMysql } from '../core/mysql-connect.ts';
import { preflight, type ServerFacts } from '../sources/binlog/server/preflight.ts';
import { resolveStartOnServer } from '../sources/binlog/position/resolve-start.ts';
import { checkServerIdFree } from '../sources/binlog/server/server-id.ts';
import { tablesRefusedAtStart } from '../sources/snapshot/snapshot-plan.ts';
import { Router } from '../routing/router.ts';
import { previewRouting, type RoutingPreview } from './routing-preview.ts';
import { sourceConnection, toBinlogStart } from './run-command.ts';

export interface CheckItem {
  name: string;
  status: 'ok' | 'fail' | 'skip';
  detail: string;
}

// preflight() stops at the first problem, in this order; the error's code says which item it was.
const SERVER_ITEMS = ['MySQL reachable', 'binlog settings', 'grants', 'binlog files'] as const;
const FAILED_ITEM: Record<string, (typeof SERVER_ITEMS)[number]> = {
  SLUICE_MYSQL_UNREACHABLE: 'MySQL reachable',
  SLUICE_MYSQL_ACCESS_DENIED: 'MySQL reachable',
  SLUICE_NOT_MYSQL: 'MySQL reachable',
  SLUICE_MYSQL_TLS: 'MySQL reachable',
  SLUICE_BINLOG_SETTING: 'binlog settings',
  SLUICE_MYSQL_PRIVILEGE_MISSING: 'grants',
};

export interface CheckReport {
  items: CheckItem[];
  /** Where the server's tables would go; absent when the config or the server checks failed. */
  routing?: RoutingPreview;
}

export async function runChecks(configFile: string): Promise<CheckReport> {
  if ((await configSourceKind(configFile)) === 'kafka') return runKafkaChecks(configFile);
  let config: SluiceConfig;
  try {
    config = await loadConfig(configFile);
  } catch (error) {
    return { items: [fail('config', error), ...[...SERVER_ITEMS, 'server id', 'checkpoint position', 'warehouse', 'catalog', 'state'].map((name) => skip(name, 'the config is invalid'))] };
  }
  const items: CheckItem[] = [{ name: 'config', status: 'ok', detail: configFile }];
  const facts = await checkServer(config, items);
  items.push(facts ? await checkServerId(config) : skip('server id', 'the server checks failed'));
  const position = facts ? await checkPosition(config, facts) : { item: skip('checkpoint position', 'the server checks failed'), checkpointed: undefined };
  items.push(position.item);
  // A Kafka sink writes no files and registers no tables: its brokers replace the warehouse and catalog.
  if (config.sink.kafka && config.sink.kind === 'kafka') items.push(await checkKafkaSink(config.sink.kafka));
  else items.push(await checkWarehouse(config.sink.filesystem), await checkCatalog(config.sink.catalog));
  items.push(config.checkpoint.store === 'hdfs' ? await checkHdfsState(config) : await checkState(config.checkpoint.dir));
  if (config.ha.zookeeper) items.push(await checkZooKeeper(config.ha.zookeeper));
  // A preview, not a check: a pattern that matches nothing today may match tables created tomorrow.
  const routing = facts ? await previewRouting(config, sourceConnection(config)).catch((error: Error) => ({ lines: [], warnings: [`the server's tables could not be listed: ${error.message}`] })) : undefined;
  if (routing && position.checkpointed === false) routing.warnings.push(...(await snapshotKeyWarnings(config)));
  return routing ? { items, routing } : { items };
}

/** A check reports what it finds now: ZooKeeper answers within this or counts as unreachable. */
const ZOOKEEPER_CHECK_MS = 5000;

const KAFKA_ITEMS = ['Kafka reachable', 'topics', 'checkpoint position'] as const;

/** A Kafka loader's config: the brokers and topics instead of the MySQL server, then the same sink and state. */
async function runKafkaChecks(configFile: string): Promise<CheckReport> {
  let config: KafkaDaemonConfig;
  try {
    config = await loadKafkaConfig(configFile);
  } catch (error) {
    return { items: [fail('config', error), ...[...KAFKA_ITEMS, 'warehouse', 'catalog', 'state'].map((name) => skip(name, 'the config is invalid'))] };
  }
  const items: CheckItem[] = [{ name: 'config', status: 'ok', detail: configFile }];
  items.push(...(await checkKafka(config)));
  items.push(await checkWarehouse(config.sink.filesystem));
  items.push(await checkCatalog(config.sink.catalog));
  items.push(config.checkpoint.store === 'hdfs' ? await checkHdfsState(config) : await checkState(config.checkpoint.dir));
  if (config.ha.zookeeper) items.push(await checkZooKeeper(config.ha.zookeeper));
  return { items };
}

async function checkKafka(config: KafkaDaemonConfig): Promise<CheckItem[]> {
  const { brokers, clientId, topics, start } = config.source;
  // One attempt, a short wait: a check reports what it finds now.
  const kafka = new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING, connectionTimeout: 5000, retry: { retries: 0 } });
  const where = brokers.join(',');
  try {
    const cluster = await describeBrokers(kafka);
    const items: CheckItem[] = [{ name: 'Kafka reachable', status: 'ok', detail: `${where} (source.brokers): cluster ${cluster.clusterId}, ${cluster.brokers} broker(s)` }];
    let bounds;
    try {
      bounds = await readPartitionBounds(kafka, brokers, topics.map((topic) => topic.name));
    } catch (error) {
      return [...items, fail('topics', error), skip('checkpoint position', 'the topics check failed')];
    }
    const partitions = topics.map((topic) => `${topic.name} (${[...bounds.keys()].filter((key) => splitPartitionKey(key).topic === topic.name).length} partition(s), ${topic.format})`);
    items.push({ name: 'topics', status: 'ok', detail: partitions.join(', ') });
    items.push(await checkKafkaOffsets(config, bounds, start));
    return items;
  } catch (error) {
    return [{ name: 'Kafka reachable', status: 'fail', detail: `${where} (source.brokers): ${(error as Error).message}` }, skip('topics', 'Kafka is not reachable'), skip('checkpoint position', 'Kafka is not reachable')];
  }
}

/** The brokers a binlog -> Kafka daemon writes to, and its state topic (created on first use, so its absence is no failure). */
async function checkKafkaSink(sink: NonNullable<SluiceConfig['sink']['kafka']>): Promise<CheckItem> {
  const name = 'Kafka sink';
  const where = `${sink.brokers.join(',')} (sink.kafka.brokers)`;
  const stateTopic = withPrefix(sink.stateTopic, sink.prefix);
  // One attempt, a short wait: a check reports what it finds now.
  const kafka = new Kafka({ clientId: sink.clientId, brokers: sink.brokers, logLevel: logLevel.NOTHING, connectionTimeout: 5000, retry: { retries: 0 } });
  try {
    const cluster = await describeBrokers(kafka, [stateTopic]);
    const state = cluster.existing.includes(stateTopic)
      ? `state topic ${stateTopic} exists`
      : `state topic ${stateTopic} does not exist yet (created at the first start, sink.kafka.stateTopic)`;
    return { name, status: 'ok', detail: `${where}: cluster ${cluster.clusterId}, ${cluster.brokers} broker(s); ${state}` };
  } catch (error) {
    return { name, status: 'fail', detail: `${where}: ${(error as Error).message}` };
  }
}

async function checkKafkaOffsets(config: KafkaDaemonConfig, bounds: ReadonlyMap<string, PartitionBounds>, start: string): Promise<CheckItem> {
  const name = 'checkpoint position';
  try {
    const state = openStateStore(config, pino({ level: 'silent' }), { retry: { maxAttempts: 1 } });
    const record = await new CheckpointStore(state).latest().finally(() => state.close?.());
    if (!record) return { name, status: 'ok', detail: `no checkpoint yet; each partition starts at its ${start} offset (source.start)` };
    const offsets = kafkaHiveRecord(record).source.position.offsets;
    const gap = retentionGap(offsets, bounds);
    if (gap) return fail(name, gap);
    return { name, status: 'ok', detail: `checkpoint ${record.id}: ${Object.keys(offsets).length} partition(s) resume at offsets the brokers still hold` };
  } catch (error) {
    return fail(name, error);
  }
}

async function checkCatalog(catalog: SluiceConfig['sink']['catalog']): Promise<CheckItem> {
  if (catalog.kind === 'local') return writable('catalog', 'sink.catalog.dir', catalog.dir);
  const { kind: _kind, ...options } = catalog;
  const hive = new HiveServer2Catalog(options);
  try {
    const { server, fsDefaultFS } = await hive.probe();
    return { name: 'catalog', status: 'ok', detail: `HiveServer2 at ${server} answers (fs.defaultFS ${fsDefaultFS})` };
  } catch (error) {
    return fail('catalog', error);
  } finally {
    await hive.close().catch(() => undefined);
  }
}

async function checkServer(config: SluiceConfig, items: CheckItem[]): Promise<ServerFacts | undefined> {
  const connection = sourceConnection(config);
  const server = `${connection.host}:${connection.port}`;
  try {
    const facts = await preflight(connection);
    const flavour = facts.isMariaDb ? 'MariaDB' : 'MySQL';
    items.push(
      {
        name: 'MySQL reachable',
        status: 'ok',
        detail: `${server} as '${connection.user}', ${flavour} ${facts.version}, ${facts.tls ? `TLS ${facts.tls}` : 'no TLS'} (source.tls.mode ${connection.tls?.mode ?? 'preferred'})`,
      },
      {
        name: 'binlog settings',
        status: 'ok',
        detail:
          'log_bin=ON, binlog_format=ROW, binlog_row_image=FULL, ' +
          (facts.rowMetadata === undefined
            ? 'no binlog_row_metadata (column names from the schema history)'
            : facts.rowMetadata === 'FULL'
              ? 'binlog_row_metadata=FULL'
              : `binlog_row_metadata=${facts.rowMetadata} (column names from the schema history)`),
      },
      { name: 'grants', status: 'ok', detail: facts.isMariaDb ? 'REPLICATION SLAVE, BINLOG MONITOR (REPLICATION CLIENT)' : 'REPLICATION SLAVE, REPLICATION CLIENT' },
    );
    const first = facts.binlogFiles[0]?.name;
    items.push(
      first === undefined
        ? { name: 'binlog files', status: 'fail', detail: `${server} lists no binlog files (SHOW BINARY LOGS)` }
        : {
            name: 'binlog files',
            status: 'ok',
            detail: `${facts.binlogFiles.length} from ${first} to ${facts.head.file}:${facts.head.offset}${facts.gtidPosition ? `, GTID ${facts.gtidPosition}` : ''}`,
          },
    );
    return first === undefined ? undefined : facts;
  } catch (error) {
    const failed = isSluiceError(error) ? FAILED_ITEM[error.code] : undefined;
    // An error preflight does not classify (a query refused, say) comes after the connection was made.
    const at = failed ? SERVER_ITEMS.indexOf(failed) : SERVER_ITEMS.indexOf('binlog files');
    SERVER_ITEMS.forEach((name, index) => {
      if (index < at) items.push({ name, status: 'ok', detail: 'passed' });
      else if (index === at) items.push(fail(name, error));
      else items.push(skip(name, `${SERVER_ITEMS[at]} failed`));
    });
    return undefined;
  }
}

/** The daemon's own check before the dump (checkServerIdFree), so both refuse the same ids. */
async function checkServerId(config: SluiceConfig): Promise<CheckItem> {
  const serverId = config.source.serverId;
  try {
    const outcome = await checkServerIdFree(sourceConnection(config), serverId);
    return {
      name: 'server id',
      status: 'ok',
      detail:
        `source.serverId=${serverId} is not the server's own` +
        (outcome === 'checked'
          ? ' and no registered replica uses it'
          : "; the user may not list replicas (REPLICATION MASTER ADMIN), so another replica's use of it is found only when the daemon streams"),
    };
  } catch (error) {
    return fail('server id', error);
  }
}

/** The item, and whether a checkpoint record exists (undefined when the state could not be read). */
async function checkPosition(config: SluiceConfig, facts: ServerFacts): Promise<{ item: CheckItem; checkpointed: boolean | undefined }> {
  const name = 'checkpoint position';
  let checkpointed: boolean | undefined;
  const connection = sourceConnection(config);
  const server = `${connection.host}:${connection.port}`;
  try {
    const state = openStateStore(config, pino({ level: 'silent' }), { retry: { maxAttempts: 1 } });
    const record = await new CheckpointStore(state).latest().finally(() => state.close?.());
    checkpointed = record !== undefined;
    // A start reads from the earliest stopped table's position when there is one (see TableGate).
    const resumed = TableGate.resume<BinlogSourceState>(record, BINLOG);
    // Without a checkpoint the first start uses source.start; that position must be there too.
    const position =
      resumed.start?.position ??
      (await resolveStartOnServer({ connection, serverId: config.source.serverId }, server, facts, undefined, toBinlogStart(config.source.start))).position;
    const control = await connectMysql(connection);
    try {
      const why = await requirePositionAvailable(control, server, facts, position);
      const stopped = resumed.retrying.map(([table]) => table);
      const what = !record
        ? `no checkpoint yet; source.start at ${describePosition(position)}`
        : stopped.length > 0
          ? `checkpoint ${record.id}, with the stopped table(s) ${stopped.join(', ')} to catch up from ${describePosition(position)}`
          : `checkpoint ${record.id} at ${describePosition(position)}`;
      return { item: { name, status: 'ok', detail: `${what}: ${why}` }, checkpointed };
    } finally {
      await control.end().catch(() => undefined);
    }
  } catch (error) {
    return { item: fail(name, error), checkpointed };
  }
}

/**
 * Unless snapshot.mode is never, a first start reads every captured table by its key and refuses one
 * without: said now, a WARN per table, as the preview warns of what a start would do.
 */
async function snapshotKeyWarnings(config: SluiceConfig): Promise<string[]> {
  const { mode } = config.snapshot;
  if (mode === 'never') return [];
  try {
    const control = await connectMysql(sourceConnection(config));
    try {
      const refused = await tablesRefusedAtStart(control, mode, new Router(config.routing));
      return refused.map((error) => `snapshot.mode ${mode}, no checkpoint yet: the first start would refuse this table: ${error.message} [${error.code}]`);
    } finally {
      await control.end().catch(() => undefined);
    }
  } catch (error) {
    return [`the captured tables' keys could not be read (snapshot.mode ${mode}): ${(error as Error).message}`];
  }
}

/** A directory sluice will write in: it, or the nearest ancestor that exists (sluice creates the rest), is writable. */
async function writable(name: string, configKey: string, dir: string): Promise<CheckItem> {
  let existing = dir;
  for (;;) {
    const found = await stat(existing).catch(() => undefined);
    if (found) {
      if (!found.isDirectory()) return { name, status: 'fail', detail: `${configKey}=${dir}: ${existing} is not a directory` };
      break;
    }
    if (dirname(existing) === existing) break;
    existing = dirname(existing);
  }
  try {
    await access(existing, constants.W_OK | constants.X_OK);
  } catch (error) {
    return { name, status: 'fail', detail: `${configKey}=${dir}: ${existing} is not writable by this user (${(error as NodeJS.ErrnoException).code})` };
  }
  return { name, status: 'ok', detail: `${configKey}=${dir} is writable${existing === dir ? '' : ` (created on start under ${existing})`}` };
}

async function checkWarehouse(filesystem: SluiceConfig['sink']['filesystem']): Promise<CheckItem> {
  if (filesystem.kind === 'local') return writable('warehouse', 'sink.filesystem.root', filesystem.root);
  // One attempt per NameNode, no retries: a check reports what it finds now.
  const fs = new WebHdfsFileSystem({
    namenodes: filesystem.namenodes,
    user: filesystem.user,
    requestTimeoutMs: Math.min(filesystem.requestTimeoutMs, 10_000),
    logger: pino({ level: 'silent' }),
    retry: { maxAttempts: 1 },
    ...(filesystem.delegationToken !== undefined ? { delegationToken: filesystem.delegationToken } : {}),
  });
  try {
    return { name: 'warehouse', status: 'ok', detail: `sink.filesystem.warehouse=${filesystem.warehouse}: ${await fs.probe(filesystem.warehouse)}` };
  } catch (error) {
    return fail('warehouse', error);
  } finally {
    fs.close();
  }
}

async function checkState(dir: string): Promise<CheckItem> {
  const item = await writable('state', 'checkpoint.dir', dir);
  if (item.status !== 'ok') return item;
  const holder = await lockHolder(dir).catch(() => undefined);
  if (holder) {
    const who = holder.host ? `sluice process ${holder.pid} on host ${holder.host}` : `sluice process ${holder.pid}`;
    return { name: 'state', status: 'fail', detail: `checkpoint.dir=${dir} is locked by ${who} (${LOCK_FILE}): a daemon runs on it` };
  }
  return { ...item, detail: `${item.detail}, not locked` };
}

/** The state directory on HDFS: a probe file written, read back and deleted there, and nobody holding its lock. */
async function checkHdfsState(config: DaemonConfig): Promise<CheckItem> {
  // One attempt per NameNode, no retries: a check reports what it finds now.
  const state = openStateStore(config, pino({ level: 'silent' }), { retry: { maxAttempts: 1 }, requestTimeoutMs: 10_000 });
  try {
    await state.probe();
    const holder = await state.lockHolder();
    if (holder) {
      const who = holder.host ? `sluice process ${holder.pid} on host ${holder.host}` : `sluice process ${holder.pid}`;
      return { name: 'state', status: 'fail', detail: `${state.configKey}=${state.dir} is locked by ${who} (${HDFS_LOCK_FILE}): a daemon runs on it` };
    }
    return { name: 'state', status: 'ok', detail: `${state.configKey}=${state.description} is writable, not locked` };
  } catch (error) {
    return fail('state', error);
  } finally {
    state.close?.();
  }
}

/** The standby's election (ha.zookeeper): reachable, who is active, the epoch; read only, see readElection. */
async function checkZooKeeper(settings: ZooKeeperSettings): Promise<CheckItem> {
  const name = 'ZooKeeper';
  try {
    const { active, standby, epoch } = await readElection(settings, ZOOKEEPER_CHECK_MS);
    const who = active ? `daemon ${active} is active, ${standby} standing by` : 'no daemon is active (the first to start leads)';
    const when = epoch === undefined ? 'no epoch yet (no daemon has led here)' : `epoch ${epoch}`;
    return { name, status: 'ok', detail: `${settings.connect} (ha.zookeeper.connect), path ${settings.path}: ${who}; ${when}` };
  } catch (error) {
    return fail(name, error);
  }
}

function fail(name: string, error: unknown): CheckItem {
  const detail = isSluiceError(error) ? `${error.message} [${error.code}]` : (error as Error).message;
  return { name, status: 'fail', detail };
}

function skip(name: string, why: string): CheckItem {
  return { name, status: 'skip', detail: `not checked: ${why}` };
}

const MARK = { ok: 'ok  ', fail: 'FAIL', skip: '--  ' } as const;

export function formatChecks({ items, routing }: CheckReport): string {
  const failed = items.filter((item) => item.status !== 'ok').length;
  // A config error lists every problem on its own line; they stay under their item.
  const lines = items.map((item) => `${MARK[item.status]}  ${item.name}: ${item.detail.replaceAll('\n', '\n      ')}`);
  if (routing) {
    const [head, ...rest] = routing.lines;
    if (head) lines.push(`routing preview: ${head}`, ...rest.map((line) => `      ${line}`));
    lines.push(...routing.warnings.map((warning) => `WARN  ${warning}`));
  }
  lines.push(failed === 0 ? `all ${items.length} checks passed` : `${items.filter((item) => item.status === 'fail').length} failed, ${items.filter((item) => item.status === 'skip').length} not checked`);
  return lines.join('\n') + '\n';
}
