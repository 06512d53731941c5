// `sluice checkpoint show` for a Kafka loader: where each partition resumes, in the words the binlog
// daemon's screen uses for its position.
import type { KafkaDaemonConfig } from '../config/schema.ts';
import type { KafkaHiveRecord } from '../pipeline/kafka-to-hive-record.ts';
import { describeOffsets } from '../sources/kafka/kafka-position.ts';

export function describeKafkaRecord(record: KafkaHiveRecord, dir: string): string {
  const offsets = Object.entries(record.source.position.offsets).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }));
  const stopped = Object.entries(record.tables?.stopped ?? {});
  return (
    `checkpoint ${record.id} in ${dir}\n` +
    `  written:         ${record.createdAt} by ${record.jobId}\n` +
    (offsets.length === 0
      ? '  partitions:      none read yet\n'
      : offsets.map(([partition, offset], index) => `  ${index === 0 ? 'partitions:     ' : '               '}  ${partition} resumes at offset ${offset}\n`).join('')) +
    `  next sequence:   ${record.source.nextSequence}\n` +
    `  pending commits: ${record.commits.length}${record.commits.length > 0 ? ' (done right after the record; a start redoes any left undone)' : ''}\n` +
    stopped
      .map(([table, entry]) => `  stopped table:   ${table} since ${describeOffsets(entry.since.position.offsets)}, stopped ${entry.stoppedAt} at ${entry.at}: ${entry.code}: ${entry.message}\n`)
      .join('')
  );
}

export function describeNoKafkaRecord(config: KafkaDaemonConfig, dir: string, configKey: string): string {
  const topics = config.source.topics.map((topic) => topic.name).join(', ');
  return `no checkpoint in ${dir} (${configKey}): the first start reads ${topics} from the ${config.source.start} offset of each partition (source.start)\n`;
}

/** `checkpoint skip-table` on a loader's state: from where the table goes on, and what it gives up. */
export function describeKafkaSkip(previous: KafkaHiveRecord, record: KafkaHiveRecord, table: string): string {
  const entry = previous.tables!.stopped![table]!;
  const from = record.tables?.ahead?.others ?? record.source;
  return (
    `checkpoint ${record.id} written: ${table} is no longer stopped and takes changes from ${describeOffsets(from.position.offsets)} on.\n` +
    `  skipped:         its changes from ${describeOffsets(entry.since.position.offsets)} up to there are not written, and no start reads them back\n` +
    `  it had stopped:  ${entry.code}: ${entry.message}\n`
  );
}
