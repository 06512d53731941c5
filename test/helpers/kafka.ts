// A Kafka -> Hive daemon for tests: a workspace whose config reads the test broker's topics into the
// embedded warehouse (local files, local catalog), topics made fresh per test, a producer, and a
// wait for the checkpoint to cover given offsets.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { LocalCatalog } from '../../src/catalog/local-catalog.ts';
import { CheckpointStore } from '../../src/checkpoint/checkpoint-store.ts';
import { LocalFileSystem } from '../../src/filesystem/local-filesystem.ts';
import type { KafkaSourceState } from '../../src/sources/kafka/kafka-position.ts';
import { until, type DaemonWorkspace, type RunningDaemon, startSluice } from './daemon.ts';
import { LOCAL_STORAGE_YAML } from './daemon-config.ts';
import { readCommittedRows, type TableRow } from './warehouse.ts';

export interface KafkaWorkspace extends DaemonWorkspace {
  deadLetterFile: string;
}

interface LoaderConfig {
  brokers: string[];
  groupId: string;
  /** The YAML list under source.topics, indented by four spaces. */
  topics: string;
  routing?: string;
  intervalSeconds?: number;
  member?: string;
  /** Lines added under `sink:` (indented by two spaces, each ending in a newline). */
  sink?: string;
  /** Paths relative to the daemon's working directory. */
  stateDir: string;
  deadLetterFile: string;
}

/** A loader's config on the embedded warehouse and catalog of its working directory (./warehouse, ./catalog). */
function loaderConfigYaml(config: LoaderConfig): string {
  return `source:
  kind: kafka
  brokers: [${config.brokers.join(', ')}]
  groupId: ${config.groupId}
  deadLetterFile: ${config.deadLetterFile}
  sessionTimeoutMs: 6000
${config.member ? `  group: { member: ${config.member} }\n` : ''}  topics:
${config.topics}
routing:
${config.routing ?? "  include: ['*.*']"}
sink:
${LOCAL_STORAGE_YAML}
${config.sink ?? ''}checkpoint:
  intervalSeconds: ${config.intervalSeconds ?? 0.5}
  dir: ${config.stateDir}
metrics:
  port: 0
log:
  format: json
`;
}

const newGroupId = () => `sluice-test-${randomBytes(4).toString('hex')}`;

/** `topics`: the YAML list under source.topics, indented by four spaces. */
export function kafkaWorkspace(brokers: string[], topics: string, options: { routing?: string; intervalSeconds?: number; member?: string; sink?: string } = {}): KafkaWorkspace {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-kafka-'));
  const configFile = join(dir, 'sluice.yaml');
  writeFileSync(configFile, loaderConfigYaml({ brokers, groupId: newGroupId(), topics, ...options, stateDir: './state', deadLetterFile: './dead-letters.jsonl' }));
  return { dir, configFile, stateDir: join(dir, 'state'), warehouse: join(dir, 'warehouse'), catalogDir: join(dir, 'catalog'), deadLetterFile: join(dir, 'dead-letters.jsonl') };
}

/**
 * Loaders of one consumer group in group mode (one per member), as docs/kafka.md sets them up: one
 * warehouse and catalog, and each loader's state in its own directory under one parent (./state/<member>).
 */
export function kafkaLoaderGroup(brokers: string[], topics: string, members: string[], options: { routing?: string; intervalSeconds?: number } = {}): KafkaWorkspace[] {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-kafka-group-'));
  const groupId = newGroupId();
  return members.map((member) => {
    const configFile = join(dir, `${member}.yaml`);
    writeFileSync(configFile, loaderConfigYaml({ brokers, groupId, topics, ...options, member, stateDir: `./state/${member}`, deadLetterFile: `./dead-letters-${member}.jsonl` }));
    return { dir, configFile, stateDir: join(dir, 'state', member), warehouse: join(dir, 'warehouse'), catalogDir: join(dir, 'catalog'), deadLetterFile: join(dir, `dead-letters-${member}.jsonl`) };
  });
}

export function startKafkaDaemon(workspace: KafkaWorkspace): RunningDaemon {
  return startSluice(['run', '--config', workspace.configFile], { cwd: workspace.dir });
}

export async function createTopic(brokers: string[], prefix: string, partitions = 1): Promise<string> {
  const topic = `${prefix}-${randomBytes(4).toString('hex')}`;
  const admin = new Kafka({ clientId: 'sluice-test', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await admin.disconnect();
  return topic;
}

export async function connectProducer(brokers: string[]): Promise<Producer> {
  const producer = new Kafka({ clientId: 'sluice-test-producer', brokers, logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  return producer;
}

/** The offsets the newest checkpoint record holds (`topic:partition` -> next offset). */
export async function recordedOffsets(workspace: DaemonWorkspace): Promise<Record<string, string>> {
  const record = await new CheckpointStore(workspace.stateDir).latest().catch(() => undefined);
  return (record?.sources.kafka as KafkaSourceState | undefined)?.position.offsets ?? {};
}

/** Waits until the checkpoint covers every partition up to `offsets` (next offsets). */
export function waitForOffsets(workspace: DaemonWorkspace, daemon: RunningDaemon, offsets: Record<string, number>, timeoutMs = 60_000): Promise<true> {
  return until(
    `checkpoint at ${JSON.stringify(offsets)}`,
    daemon,
    async () => {
      const recorded = await recordedOffsets(workspace);
      return Object.entries(offsets).every(([key, offset]) => Number(recorded[key] ?? -1) >= offset) || undefined;
    },
    timeoutMs,
  );
}

export function committedRows(workspace: DaemonWorkspace, database: string, table: string): Promise<TableRow[]> {
  return readCommittedRows(new LocalCatalog(workspace.catalogDir), new LocalFileSystem(workspace.warehouse), database, table);
}
