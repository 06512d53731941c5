// The Kafka -> Hive pipeline's names in a checkpoint record, and the record as that pipeline reads
// it: the source `kafka` with every partition's next offset, the binlog job's Hive sink.
import type { CheckpointRecord, TableProgress } from '../core/checkpoint-record.ts';
import { SluiceError } from '../core/errors.ts';
import type { HiveCommits, PendingCommit } from '../sinks/hive-commits.ts';
import type { KafkaSourceState } from '../sources/kafka/kafka-position.ts';
import { HIVE } from './binlog-to-hive-record.ts';

/** The source's name in the checkpoint record. */
export const KAFKA = 'kafka';

/** A record of this pipeline, as `sluice checkpoint show --json` prints it. */
export interface KafkaHiveRecord {
  id: number;
  jobId: string;
  createdAt: string;
  source: KafkaSourceState;
  commits: PendingCommit[];
  tables?: TableProgress<KafkaSourceState>;
}

/** The Kafka source's state in the newest record; a record of another pipeline is refused by name. */
export function kafkaStateOf(record: CheckpointRecord | undefined): KafkaSourceState | undefined {
  if (!record) return undefined;
  const state = record.sources[KAFKA];
  if (state?.kind !== 'kafka') {
    throw new SluiceError(
      'SLUICE_CHECKPOINT_CORRUPT',
      `checkpoint record ${record.id} (written by ${record.jobId}) is not one of a Kafka -> Hive pipeline: it holds the sources ${Object.keys(record.sources).join(', ') || 'none'}. ` +
        "Point checkpoint.dir at this daemon's own directory.",
    );
  }
  return state as KafkaSourceState;
}

export function kafkaHiveRecord(record: CheckpointRecord): KafkaHiveRecord {
  const source = kafkaStateOf(record)!;
  const sink = record.sinks[HIVE] as HiveCommits | undefined;
  return {
    id: record.id,
    jobId: record.jobId,
    createdAt: record.createdAt,
    source,
    commits: sink?.commits ?? [],
    ...(record.tables ? { tables: record.tables as TableProgress<KafkaSourceState> } : {}),
  };
}
