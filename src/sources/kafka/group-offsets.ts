// What a consumer group has committed for the topics, read back: in group mode (source.group) the
// group's offsets are the commit point (docs/kafka.md), so a loader starts from them, and a record of
// its own counts only while some committed offset still names it.
import { Kafka, logLevel } from 'kafkajs';
import { parseRecordReference, type RecordReference } from './group-offset-metadata.ts';
import { partitionKey, type PartitionOffsets } from './kafka-position.ts';

export interface CommittedGroupOffsets {
  /** `topic:partition` -> the next offset to read; partitions the group never committed are absent. */
  offsets: PartitionOffsets;
  /** The checkpoint records the committed offsets name, one per partition that names one. */
  references: Map<string, RecordReference>;
}

export async function readCommittedGroupOffsets(brokers: string[], clientId: string, groupId: string, topics: string[]): Promise<CommittedGroupOffsets> {
  const admin = new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const offsets: PartitionOffsets = {};
    const references = new Map<string, RecordReference>();
    for (const { topic, partitions } of await admin.fetchOffsets({ groupId, topics })) {
      for (const { partition, offset, metadata } of partitions) {
        // -1: nothing committed for this partition.
        if (BigInt(offset) < 0n) continue;
        const key = partitionKey(topic, partition);
        offsets[key] = offset;
        const reference = parseRecordReference(metadata);
        if (reference) references.set(key, reference);
      }
    }
    return { offsets, references };
  } finally {
    await admin.disconnect();
  }
}

/** Whether a committed offset names this record (its job id and id). */
export function namesRecord(committed: CommittedGroupOffsets, record: { jobId: string; id: number }): boolean {
  return [...committed.references.values()].some((reference) => reference.jobId === record.jobId && reference.recordId === record.id);
}
