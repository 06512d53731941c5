// Kafka topics -> routing -> Hive changelog tables, committed on checkpoint ticks: the same
// composition as the binlog job (binlog-to-hive-job.ts), with the Kafka source in the one pipeline
// loop. The record names the source `kafka` and holds every partition's next offset; recovery and the
// Hive sink are the binlog job's. See docs/kafka.md for why this is exactly once.
import type { Logger } from 'pino';
import { CheckpointCoordinator } from '../checkpoint/checkpoint-coordinator.ts';
import { CheckpointStore } from '../checkpoint/checkpoint-store.ts';
import type { StateStore } from '../core/state-store.ts';
import { recover } from '../checkpoint/recovery.ts';
import { TableGate } from '../checkpoint/table-gate.ts';
import { Router, type RoutingConfig, type RoutingRule } from '../routing/router.ts';
import type { CaptureConfig, CaptureSettings } from '../routing/capture/capture-transform.ts';
import { setUpCapture } from './capture-setup.ts';
import type { SluiceMetrics } from '../runtime/metrics.ts';
import { metadataNamesOf, metadataNameSet } from '../catalog/metadata-names.ts';
import { DeadLetterFile } from '../sources/kafka/dead-letters.ts';
import { mysqlTypesOfHiveColumns } from '../sources/kafka/hive-column-types.ts';
import type { KafkaSourceState } from '../sources/kafka/kafka-position.ts';
import { KafkaSource, type KafkaSourceOptions } from '../sources/kafka/kafka-source.ts';
import { memberJobId, ownedByMember } from '../sources/kafka/group-member.ts';
import { namesRecord, readCommittedGroupOffsets } from '../sources/kafka/group-offsets.ts';
import { GroupConsumer, isRebalance } from '../sources/kafka/group-consumer.ts';
import type { Membership } from '../sources/kafka/fenced-commit.ts';
import { partitionKey, type PartitionOffsets } from '../sources/kafka/kafka-position.ts';
import { takeOverPartitions } from './kafka-group-handover.ts';
import type { CheckpointRecord } from '../core/checkpoint-record.ts';
import { HiveRecovery } from '../sinks/hive-sink.ts';
import { binlogHiveRecoveries, HIVE } from './binlog-to-hive-record.ts';
import { KAFKA, kafkaStateOf } from './kafka-to-hive-record.ts';
import { lastRecordId, newJobId, openHiveSink, type HiveSettings } from './binlog-to-hive-job.ts';
import { PipelineJob } from './pipeline-job.ts';
import { PipelineLoop } from './pipeline-loop.ts';
import { TableMaintenance } from './table-maintenance.ts';
import type { CompactionSettings } from '../sinks/compaction.ts';
import type { MaterializeSettings } from '../sinks/materialize.ts';

export interface KafkaToHiveJobOptions extends HiveSettings, Pick<KafkaSourceOptions, 'brokers' | 'clientId' | 'groupId' | 'sessionTimeoutMs' | 'topics' | 'start'> {
  deadLetterFile: string;
  /** `source.group.member`: this loader's name among several in the group; absent, the only loader. */
  member?: string;
  /** Rules may carry capture settings (columns, masks, a row filter) for the tables they route. */
  routing: Omit<RoutingConfig, 'rules'> & { rules: (RoutingRule & CaptureSettings)[] };
  /** What is captured of each table (`capture`); everything when absent. */
  capture?: CaptureConfig;
  /** Where the checkpoint records live: checkpoint.dir, or the HDFS state store (docs/state.md). */
  stateDir: string | StateStore;
  keepCheckpoints: number;
  checkpointIntervalMs: number;
  maxQueuedEvents: number;
  /** Compaction of closed partitions (`sink.compaction`); a single loader only. */
  compaction?: CompactionSettings;
  /** Materialized current state (`sink.materialize`); a single loader only. */
  materialize?: MaterializeSettings;
  logger: Logger;
  metrics?: SluiceMetrics;
}

export class KafkaToHiveJob extends PipelineJob<KafkaSourceState> {
  constructor(private readonly options: KafkaToHiveJobOptions) {
    super(options.metrics, 'not reading Kafka yet');
  }

  async run(): Promise<void> {
    const { options } = this;
    const consumer = new GroupConsumer({ brokers: options.brokers, clientId: options.clientId, groupId: options.groupId, sessionTimeoutMs: options.sessionTimeoutMs, topics: options.topics.map((topic) => topic.name) });
    try {
      if (options.member === undefined) return await this.runLoop(consumer, undefined);
      if (options.compaction?.enabled || options.materialize?.enabled) {
        // Every member writes the same tables: one member's compaction or materialization could fold
        // away a file another member commits meanwhile. Until one member is chosen to do it, none does.
        options.logger.warn({ member: options.member }, 'sink.compaction and sink.materialize do not run in group mode (source.group.member): several loaders write the same tables');
      }
      // Group mode: one loop per assignment, all on this consumer (group-consumer.ts). A rebalance ends
      // the loop (its uncommitted staging is never committed: the next loop's recovery deletes it), and
      // the next loop reads the new assignment.
      await consumer.start();
      let membership: Membership | undefined;
      for (;;) {
        membership = await consumer.nextAssignment(membership, () => this.stopRequested);
        if (!membership || this.stopRequested) return;
        try {
          return await this.runLoop(consumer, membership);
        } catch (error) {
          if (!isRebalance(error) || this.stopRequested) throw error;
          this.loop = undefined;
          options.logger.info({ reason: (error as Error).message }, 'the consumer group rebalanced: this loop ends uncommitted; the next reads the new assignment');
        }
      }
    } finally {
      await consumer.stop();
    }
  }

  /** One loop: a single loader's whole run, or a group member's run on one assignment (`membership`). */
  private async runLoop(consumer: GroupConsumer, membership: Membership | undefined): Promise<void> {
    const { options, metrics } = this;
    const logger = options.logger;
    const store = new CheckpointStore(options.stateDir);
    const { member } = options;
    // A member deletes only its own staging: the other loaders' files in the same tables are theirs.
    const recoveries = member === undefined ? binlogHiveRecoveries(options.fs, options.catalog, store.dir, logger) : { [HIVE]: new HiveRecovery(options.fs, options.catalog, store.dir, logger, ownedByMember(member)) };
    // Group mode: the group's committed offsets are the commit point, so they say where the partitions
    // stand and whether this loader's newest record ever counted (docs/kafka.md, consumer groups).
    // Read after the join: the old owners of these partitions can commit nothing more.
    const group = member === undefined ? undefined : await readCommittedGroupOffsets(options.brokers, options.clientId, options.groupId, options.topics.map((topic) => topic.name));
    const record = await recover(store, recoveries, logger, group && ((newest) => namesRecord(group, newest)));
    const recorded = kafkaStateOf(record);
    const assigned = membership ? Object.entries(membership.assignment).flatMap(([topic, partitions]) => partitions.map((partition) => partitionKey(topic, partition))) : [];
    // Another loader's record that an assigned partition's offset names: its commits first, and the
    // sequence above its numbers. In group mode the sequence goes on past this loader's newest record
    // too, counted or not: a discarded record's numbers were never visible, and larger stays later.
    const firstSequence = group ? await takeOverPartitions(assigned, group, { fs: options.fs, catalog: options.catalog, store, own: record, logger }) : BigInt(recorded?.nextSequence ?? '0');
    const resumed = TableGate.resume<KafkaSourceState>(record, KAFKA);
    const router = new Router(options.routing, (source, changes) => metrics.unmatchedChanges.inc({ source }, changes));
    const jobId = member === undefined ? newJobId(options.epoch) : memberJobId(member, newJobId(options.epoch));
    const capture = setUpCapture(options.capture, options.routing.rules, router, logger, options.metadataColumns);
    const sink = openHiveSink(options, jobId, logger, metrics, record, capture);
    const reference = (recordId: number) => ({ jobId, recordId, stateDir: store.dir });
    const commitPoint = group && ((written: CheckpointRecord) => source.commitRecord(kafkaStateOf(written)!, reference(written.id)));
    const coordinator = new CheckpointCoordinator(store, { [HIVE]: sink }, jobId, options.keepCheckpoints, lastRecordId(record, options.epoch), commitPoint);
    // In group mode the sequence goes on past the newest record's even when that record never counted:
    // its numbers were never visible, and larger stays later.
    const start: KafkaSourceState = group
      ? { kind: 'kafka', position: { offsets: offsetsOf(group.offsets, assigned) }, nextSequence: firstSequence.toString() }
      : (recorded ?? { kind: 'kafka', position: { offsets: {} }, nextSequence: '0' });
    const source = new KafkaSource({
      brokers: options.brokers,
      clientId: options.clientId,
      groupId: options.groupId,
      sessionTimeoutMs: options.sessionTimeoutMs,
      consumer,
      ...(membership ? { membership } : {}),
      topics: options.topics,
      start: options.start,
      offsets: start.position.offsets,
      firstSequence: BigInt(start.nextSequence),
      router,
      targetColumns: async (target) => {
        const table = await options.catalog.getTable(target.database, target.table);
        const metadata = table && metadataNameSet(metadataNamesOf(table));
        return table && metadata && mysqlTypesOfHiveColumns(table.columns.filter((column) => !metadata.has(column.name)));
      },
      deadLetters: new DeadLetterFile(options.deadLetterFile),
      maxQueuedItems: options.maxQueuedEvents,
      logger,
      metrics,
    });
    logger.info({ brokers: options.brokers, topics: options.topics.map((topic) => topic.name), groupId: options.groupId, ...(member === undefined ? {} : { member }), jobId, resumeAt: source.describe(start) }, 'starting Kafka capture');
    const maintenance = new TableMaintenance(member === undefined ? options : { ...options, compaction: undefined, materialize: undefined }, jobId, logger);
    const loop: PipelineLoop<KafkaSourceState> = new PipelineLoop<KafkaSourceState>({
      sourceName: KAFKA,
      source,
      sink,
      coordinator,
      router,
      ...(capture.transform ? { capture: capture.transform } : {}),
      gate: resumed.gate,
      start,
      checkpointed: group ? start : recorded,
      checkpointIntervalMs: options.checkpointIntervalMs,
      // A table's retry from where it stopped needs the same sequence numbers on a second read, and
      // partitions interleave differently each time: until that holds, a table's error stops the daemon
      // (nothing is lost: the next start reads on from the checkpoint).
      onTableError: 'daemon',
      logger,
      metrics,
      figures: this.figures,
      hooks: {
        // The group's offsets in Kafka trail the record, naming it: for lag monitoring, never read back.
        // (In group mode they were committed before the renames, as the commit point.)
        betweenCheckpoints: async (recordId: number): Promise<void> => {
          if (!group) await source.commitGroupOffsets(loop.where().committed, reference(recordId));
          await maintenance.runIfDue(recordId);
        },
        written: (target) => maintenance.noteTarget(target),
      },
    });
    this.attach(loop, () => {
      const { committed, boundary } = loop.where();
      const last = this.figures.lastCheckpointId;
      return {
        source: { kind: 'kafka', server: options.brokers.join(','), version: 'kafkajs' },
        position: source.describe(committed),
        readPosition: source.describe(boundary),
        lastCheckpoint: last === undefined ? undefined : { id: last, at: this.figures.lastCheckpointAt!.toISOString(), durationMs: this.figures.lastCheckpointDurationMs ?? 0 },
        stopped: {},
        ahead: {},
        snapshot: undefined,
        compaction: maintenance.compactionStatus(),
      };
    });
    maintenance.start();
    try {
      await loop.run();
    } finally {
      maintenance.stop();
    }
  }
}

/** The committed offsets of the assigned partitions (those with none start at `source.start`). */
function offsetsOf(committed: PartitionOffsets, partitions: readonly string[]): PartitionOffsets {
  return Object.fromEntries(partitions.filter((key) => committed[key] !== undefined).map((key) => [key, committed[key]!]));
}
