// What the brokers hold of the configured topics: every partition's first offset still in the log and
// its end. The source reads it before it joins its group, and `sluice check` before anything runs, so
// both refuse a missing topic and a checkpoint whose offsets retention has deleted in the same words.
import type { Kafka } from 'kafkajs';
import { SluiceError } from '../../core/errors.ts';
import { partitionKey, type PartitionOffsets } from './kafka-position.ts';

export interface PartitionBounds {
  low: string;
  high: string;
}

/**
 * The cluster the brokers belong to, for `sluice check`: its id, how many brokers answer for it, and
 * which of `topics` exist there.
 */
export async function describeBrokers(kafka: Kafka, topics: string[] = []): Promise<{ clusterId: string; brokers: number; existing: string[] }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const cluster = await admin.describeCluster();
    const listed = topics.length > 0 ? new Set(await admin.listTopics()) : new Set<string>();
    return { clusterId: cluster.clusterId, brokers: cluster.brokers.length, existing: topics.filter((topic) => listed.has(topic)) };
  } finally {
    await admin.disconnect();
  }
}

/** `topic:partition` -> bounds, for every partition of the topics; a topic the brokers lack is an error naming it. */
export async function readPartitionBounds(kafka: Kafka, brokers: string[], topics: string[]): Promise<Map<string, PartitionBounds>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      throw new SluiceError('SLUICE_KAFKA', `the topic(s) ${missing.join(', ')} (source.topics) do not exist on ${brokers.join(',')}; create them or fix the names`, {
        context: { topics: missing },
      });
    }
    const bounds = new Map<string, PartitionBounds>();
    for (const topic of topics) {
      for (const { partition, low, high } of await admin.fetchTopicOffsets(topic)) bounds.set(partitionKey(topic, partition), { low, high });
    }
    return bounds;
  } finally {
    await admin.disconnect();
  }
}

/** A recorded offset the log no longer holds means messages were deleted unread (retention): said, never skipped. */
export function retentionGap(offsets: PartitionOffsets, bounds: ReadonlyMap<string, PartitionBounds>): SluiceError | undefined {
  for (const [key, offset] of Object.entries(offsets)) {
    const partition = bounds.get(key);
    if (partition && BigInt(offset) < BigInt(partition.low)) {
      return new SluiceError(
        'SLUICE_KAFKA',
        `partition ${key} holds offsets from ${partition.low} on, and the checkpoint resumes at ${offset}: the messages in between were deleted (retention) before sluice read them. ` +
          'Copy the affected tables anew, then move the checkpoint past the gap.',
        { context: { position: `${key}@${offset}` } },
      );
    }
  }
  return undefined;
}
