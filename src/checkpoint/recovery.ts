// Recovery on start, as the design fixes it: read the newest record, and let every sink carry out
// its commits again and delete the staging the record does not name. Which staging that is, is
// each sink's own business (see SinkRecovery).
import type { Logger } from 'pino';
import type { SinkRecovery } from '../core/sink.ts';
import type { CheckpointRecord } from './checkpoint-record.ts';
import type { CheckpointStore } from './checkpoint-store.ts';

export async function recover(
  store: CheckpointStore,
  sinks: Readonly<Record<string, SinkRecovery>>,
  logger: Logger,
  /** Where a commit point beyond the record decides (a Kafka group's offsets): whether the newest record passed it. */
  counts?: (record: CheckpointRecord) => boolean,
): Promise<CheckpointRecord | undefined> {
  const record = await store.latest();
  // Checkpoints are taken one after the other, and a record is written only after the previous
  // record's commits are done: so once the newest record's commits are done again, all other
  // staging is uncommitted work. A record that never passed the commit point was never committed:
  // its staging is uncommitted work too.
  const committed = record && (counts?.(record) ?? true) ? record : undefined;
  for (const [name, sink] of Object.entries(sinks)) await sink.recover(committed?.sinks[name]);
  if (record && !committed) {
    logger.info({ checkpoint: record.id }, 'recovered: the newest checkpoint never passed its commit point; its staging is deleted');
  } else if (record) {
    const commits = Object.values(record.sinks).reduce((sum, entry) => sum + entry.commits.length, 0);
    logger.info({ checkpoint: record.id, commits }, 'recovered: commits of the newest checkpoint are in place');
  }
  return record;
}
