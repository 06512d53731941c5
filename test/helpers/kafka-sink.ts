// A binlog -> Kafka daemon for tests: the sink's YAML, a wait for its checkpoint (the local record
// mirrors the one committed in Kafka), and the topics read back as a read_committed consumer sees them.
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { CheckpointStore } from '../../src/checkpoint/checkpoint-store.ts';
import { readCommittedToEnd } from '../../src/sinks/kafka/kafka-state-topic.ts';
import type { BinlogSourceState } from '../../src/sources/binlog/position/binlog-position.ts';
import { gtidSeq, until, type DaemonWorkspace, type RunningDaemon } from './daemon.ts';

export interface KafkaSinkNames {
  prefix: string;
  transactionalId: string;
  stateTopic: string;
}

/** Names no other test shares: a prefix for the topics, a transactional id, a state topic. */
export function kafkaSinkNames(tag: string): KafkaSinkNames {
  const id = `${tag}${randomBytes(3).toString('hex')}`;
  return { prefix: id, transactionalId: `sluice-${id}`, stateTopic: `${id}.state` };
}

/** Lines under `sink:` (kind kafka), for makeWorkspace's sinkExtra. */
export function kafkaSinkYaml(brokers: string[], names: KafkaSinkNames, extra = ''): string {
  return `  kind: kafka
  kafka:
    brokers: [${brokers.join(', ')}]
    transactionalId: ${names.transactionalId}
    prefix: ${names.prefix}
    stateTopic: ${names.stateTopic}
${extra}`;
}

/** Waits until a checkpoint covers the binlog up to `gtidPosition`. */
export function waitForKafkaCheckpoint(workspace: DaemonWorkspace, daemon: RunningDaemon, gtidPosition: string, timeoutMs = 60_000): Promise<true> {
  return until(
    `a checkpoint at ${gtidPosition}`,
    daemon,
    async () => {
      const record = await new CheckpointStore(workspace.stateDir).latest().catch(() => undefined);
      const state = record?.sources.binlog as BinlogSourceState | undefined;
      return (state !== undefined && gtidSeq(state.position.gtidSet) >= gtidSeq(gtidPosition)) || undefined;
    },
    timeoutMs,
  );
}

export interface ReadMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
}

/** Every committed message of `topics`, by topic and partition in offset order. */
export async function readCommitted(brokers: string[], topics: string[]): Promise<ReadMessage[]> {
  const kafka = new Kafka({ clientId: 'sluice-test-reader', brokers, logLevel: logLevel.NOTHING });
  const messages: ReadMessage[] = [];
  await readCommittedToEnd(kafka, topics, (topic, partition, message) =>
    messages.push({ topic, partition, offset: Number(message.offset), key: message.key?.toString('utf8') ?? null, value: message.value?.toString('utf8') ?? null }),
  );
  return messages.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition || a.offset - b.offset);
}
