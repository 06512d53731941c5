// The Kafka sink's checkpoints: one message per checkpoint in a compacted, single-partition topic,
// keyed by the transactional id, written in the checkpoint's own transaction. Read back with
// read_committed, the newest one is where the topics' committed messages end: an aborted or still
// open transaction's position is never seen.
import { randomBytes } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { SourceState } from '../../core/source.ts';

export interface KafkaStateRecord {
  format: 1;
  /** The checkpoint's id, as the local record mirroring it has. */
  id: number;
  jobId: string;
  createdAt: string;
  /** Every source's state at the checkpoint, by name (`binlog`). */
  sources: Record<string, SourceState>;
}

/** How long a read may wait for another writer's open transaction in the topic to end. */
const READ_TIMEOUT_MS = 120_000;

/** The newest committed record of `key` in `topic`, or undefined when it has none. */
export async function readStateRecord(kafka: Kafka, topic: string, key: string): Promise<KafkaStateRecord | undefined> {
  let found: KafkaStateRecord | undefined;
  await readCommittedToEnd(kafka, [topic], (_topic, _partition, message) => {
    if (message.key?.toString('utf8') === key && message.value !== null) found = JSON.parse(message.value.toString('utf8')) as KafkaStateRecord;
  });
  return found;
}

/**
 * Reads every partition of `topics` from its start to the end it has now, read_committed, handing
 * each message on in partition order. The end is known by offset: a batch's last offset counts the
 * transaction markers too, which no message shows.
 */
export async function readCommittedToEnd(kafka: Kafka, topics: string[], each: (topic: string, partition: number, message: KafkaMessage) => void, timeoutMs = READ_TIMEOUT_MS): Promise<void> {
  const admin = kafka.admin();
  const pending = new Map<string, bigint>();
  await admin.connect();
  try {
    for (const topic of topics) {
      for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
        if (BigInt(high) > BigInt(low)) pending.set(`${topic}:${partition}`, BigInt(high));
      }
    }
  } finally {
    await admin.disconnect();
  }
  if (pending.size === 0) return;
  // A consumer group of its own, once: nothing is committed, it only reads the partitions through.
  const consumer = kafka.consumer({ groupId: `sluice-read-${randomBytes(6).toString('hex')}`, readUncommitted: false });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${[...pending.keys()].join(', ')} not read to the end within ${timeoutMs / 1000} s (a transaction of another writer still open?)`)),
        timeoutMs,
      );
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const key = `${payload.topic}:${payload.partition}`;
        const end = pending.get(key);
        if (end !== undefined && (BigInt(payload.lastOffset) >= end - 1n || payload.offsetLag === '0')) pending.delete(key);
        if (pending.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
      consumer.run({ autoCommit: false, eachMessage: async ({ topic, partition, message }) => each(topic, partition, message) }).catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}
