// The metadata a loader commits with its consumer group's offsets: which checkpoint record the
// offsets belong to (`sluice:<jobId>:<recordId>:<state location>`). Kafka keeps it beside each
// committed offset and hands it back with OffsetFetch, so whoever reads the group's offsets (a person
// with kafka-consumer-groups, a later owner of the partition in the scale-out of docs/kafka.md) can
// find the record, and with it the files those offsets were committed with.

export interface RecordReference {
  jobId: string;
  recordId: number;
  /** The state store the record is in (checkpoint.dir, or the HDFS state directory). */
  stateDir: string;
}

const PREFIX = 'sluice';

export function formatRecordReference(reference: RecordReference): string {
  return `${PREFIX}:${reference.jobId}:${reference.recordId}:${reference.stateDir}`;
}

/** The reference in a committed offset's metadata; undefined for metadata sluice did not write (or none). */
export function parseRecordReference(metadata: string | null | undefined): RecordReference | undefined {
  // The state location may hold colons itself (hdfs://host:port/...): it is everything after the third.
  const match = /^sluice:([0-9A-Za-z_-]+):(\d+):(.+)$/.exec(metadata ?? '');
  if (!match) return undefined;
  return { jobId: match[1]!, recordId: Number(match[2]), stateDir: match[3]! };
}
