// Where a Kafka source stands: for every partition it reads, the offset of the next message to hand
// on. The checkpoint record holds it; a single loader's start seeks every partition there, whatever
// offsets the consumer group has committed in Kafka (for it those are for monitoring, committed after
// the record). In group mode the group's committed offsets are the commit point (docs/kafka.md).
import type { SourceState } from '../../core/source.ts';

/** `topic:partition` -> the next offset to read (a decimal string: offsets are 64-bit). */
export type PartitionOffsets = Record<string, string>;

export interface KafkaSourceState extends SourceState {
  kind: 'kafka';
  position: { offsets: PartitionOffsets };
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

export function splitPartitionKey(key: string): { topic: string; partition: number } {
  const colon = key.lastIndexOf(':');
  return { topic: key.slice(0, colon), partition: Number(key.slice(colon + 1)) };
}

/** A stable text of the offsets (sorted), for logs and for telling two positions apart. */
export function describeOffsets(offsets: PartitionOffsets): string {
  const keys = Object.keys(offsets).sort();
  return keys.length === 0 ? 'no partition read yet' : keys.map((key) => `${key}@${offsets[key]}`).join(' ');
}
