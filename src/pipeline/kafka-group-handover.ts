// The hand-over of partitions between Kafka loaders of one group (docs/kafka.md, several loaders).
// A partition's committed group offset names the checkpoint record it was committed with, in the
// state store of the loader that committed it. Before a loader reads a partition it was given, it
// carries out that record's commits (idempotent, as recovery's are: the old owner may still be doing
// the same, or may have died between its group commit and its renames), so the new owner starts at
// exactly the offsets whose files are in place; and it goes on counting `_seq` above that record's,
// so that larger stays later for every key of the partition.
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.ts';
import { CheckpointStore } from '../checkpoint/checkpoint-store.ts';
import type { CheckpointRecord } from '../core/checkpoint-record.ts';
import { isSluiceError, SluiceError } from '../core/errors.ts';
import type { FileSystem } from '../filesystem/filesystem.ts';
import { executeCommits, type HiveCommits } from '../sinks/hive-commits.ts';
import type { CommittedGroupOffsets } from '../sources/kafka/group-offsets.ts';
import type { RecordReference } from '../sources/kafka/group-offset-metadata.ts';
import { HIVE } from './binlog-to-hive-record.ts';
import { kafkaStateOf } from './kafka-to-hive-record.ts';

export interface HandOver {
  fs: FileSystem;
  catalog: Catalog;
  /** This loader's own store: records of its own are read there. */
  store: CheckpointStore;
  /** This loader's newest record, whose commits recovery has carried out already. */
  own: CheckpointRecord | undefined;
  logger: Logger;
}

/**
 * Carries out the commits of every record the committed offsets of `partitions` name, and answers the
 * sequence number this loader goes on from: above every such record's `nextSequence`.
 */
export async function takeOverPartitions(partitions: readonly string[], group: CommittedGroupOffsets, handOver: HandOver): Promise<bigint> {
  const { store, own, logger } = handOver;
  let sequence = BigInt(kafkaStateOf(own)?.nextSequence ?? '0');
  const named = new Map<string, { reference: RecordReference; partitions: string[] }>();
  for (const key of partitions) {
    const reference = group.references.get(key);
    if (!reference) continue;
    const id = `${reference.stateDir}#${reference.jobId}#${reference.recordId}`;
    const entry = named.get(id) ?? { reference, partitions: [] };
    entry.partitions.push(key);
    named.set(id, entry);
  }
  for (const { reference, partitions: keys } of named.values()) {
    const isOwnNewest = reference.stateDir === store.dir && own?.jobId === reference.jobId && own.id === reference.recordId;
    if (isOwnNewest) continue;
    const from = reference.stateDir === store.dir ? store : new CheckpointStore(store.state.elsewhere(reference.stateDir));
    const record = await readNamedRecord(from, reference, keys);
    const next = BigInt(kafkaStateOf(record.newest)!.nextSequence);
    if (next > sequence) sequence = next;
    if (!record.named) continue;
    const commits = (record.named.sinks[HIVE] as HiveCommits | undefined)?.commits ?? [];
    await executeCommits(commits, handOver.fs, handOver.catalog);
    logger.info({ partitions: keys, checkpoint: reference.recordId, jobId: reference.jobId, state: from.dir, commits: commits.length }, "took the partitions over: the commits of the checkpoint their group offsets name are in place");
  }
  return sequence;
}

/**
 * The record a committed offset names, and the newest of its store (whose `nextSequence` is at least
 * as high). Gone from its store while newer ones are there: the loader that wrote it prunes only old
 * records, and writes a record only once the previous one's commits are done, so this one's are
 * (`named` undefined). Gone with nothing newer: the store is not the one the offset names (not shared,
 * or moved), which must stop the loader.
 */
async function readNamedRecord(store: CheckpointStore, reference: RecordReference, partitions: string[]): Promise<{ named: CheckpointRecord | undefined; newest: CheckpointRecord }> {
  // Missing (or unreadable: a record is written atomically, so that is damage, not a write under way);
  // a store that does not answer (HDFS down) is thrown on, to be retried.
  const named = await store.read(reference.recordId).catch((error: unknown) => {
    if (isSluiceError(error, 'SLUICE_CHECKPOINT_CORRUPT')) return undefined;
    throw error;
  });
  if (!named) {
    const newest = await store.latest();
    if (newest && newest.id > reference.recordId) return { named: undefined, newest };
    throw new SluiceError(
      'SLUICE_KAFKA',
      `the consumer group's committed offsets of ${partitions.join(', ')} name checkpoint ${reference.recordId} of ${reference.jobId} in ${store.state.description}, which this loader cannot read there. ` +
        "Every loader of a group must read every other loader's state: give them checkpoint.dir siblings on one shared filesystem, or checkpoint.store: hdfs with a directory per loader under one parent.",
      { context: { file: store.dir, checkpoint: reference.recordId, partitions } },
    );
  }
  if (named.jobId !== reference.jobId) {
    throw new SluiceError('SLUICE_KAFKA', `checkpoint ${reference.recordId} in ${store.state.description} was written by ${named.jobId}, while the group's offsets of ${partitions.join(', ')} name ${reference.jobId}: two loaders share one state directory`, {
      context: { file: store.dir, checkpoint: reference.recordId, partitions },
    });
  }
  return { named, newest: named };
}
