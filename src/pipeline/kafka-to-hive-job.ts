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
import type { LiveStatus, StatusProbe } from '../runtime/daemon-status.ts';
import { SluiceMetrics } from '../runtime/metrics.ts';
import { metadataNamesOf, metadataNameSet } from '../catalog/metadata-names.ts';
import { DeadLetterFile } from '../sources/kafka/dead-letters.ts';
import { mysqlTypesOfHiveColumns } from '../sources/kafka/hive-column-types.ts';
import type { KafkaSourceState } from '../sources/kafka/kafka-position.ts';
import { KafkaSource, type KafkaSourceOptions } from '../sources/kafka/kafka-source.ts';
import { memberJobId, ownedByMember } from '../sources/kafka/group-member.ts';
import { namesRecord, readCommittedGroupOffsets } from '../sources/kafka/group-offsets.ts';
import type { CheckpointRecord } from '../core/checkpoint-record.ts';
import { HiveRecovery } from '../sinks/hive-sink.ts';
import { binlogHiveRecoveries, HIVE } from './binlog-to-hive-record.ts';
import { KAFKA, kafkaStateOf } from './kafka-to-hive-record.ts';
import { lastRecordId, newJobId, openHiveSink, type HiveSettings } from './binlog-to-hive-job.ts';
import { PipelineLoop, type PipelineFigures } from './pipeline-loop.ts';

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
  logger: Logger;
  metrics?: SluiceMetrics;
}

export class KafkaToHiveJob implements StatusProbe {
  private stopRequested = false;
  private loop: PipelineLoop<KafkaSourceState> | undefined;
  readonly figures: PipelineFigures<KafkaSourceState['position']> = { changesWritten: 0, checkpoints: 0, lastCheckpointAt: undefined, lastPosition: undefined };
  readonly metrics: SluiceMetrics;

  constructor(private readonly options: KafkaToHiveJobOptions) {
    this.metrics = options.metrics ?? new SluiceMetrics();
  }

  notReadyReason(): string | undefined {
    return this.loop ? this.loop.notReadyReason() : 'not reading Kafka yet';
  }

  /** Set once the loop runs: what `/status` shows of this run. */
  private live: (() => LiveStatus) | undefined;

  liveStatus(): LiveStatus | undefined {
    return this.live?.();
  }

  requestStop(): void {
    this.stopRequested = true;
    this.loop?.requestStop();
  }

  async run(): Promise<void> {
    const { options, metrics } = this;
    const logger = options.logger;
    const store = new CheckpointStore(options.stateDir);
    const { member } = options;
    // A member deletes only its own staging: the other loaders' files in the same tables are theirs.
    const recoveries = member === undefined ? binlogHiveRecoveries(options.fs, options.catalog, store.dir, logger) : { [HIVE]: new HiveRecovery(options.fs, options.catalog, store.dir, logger, ownedByMember(member)) };
    // Group mode: the group's committed offsets are the commit point, so they say where the partitions
    // stand and whether this loader's newest record ever counted (docs/kafka.md, consumer groups).
    const group = member === undefined ? undefined : await readCommittedGroupOffsets(options.brokers, options.clientId, options.groupId, options.topics.map((topic) => topic.name));
    const record = await recover(store, recoveries, logger, group && ((newest) => namesRecord(group, newest)));
    const recorded = kafkaStateOf(record);
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
      ? { kind: 'kafka', position: { offsets: group.offsets }, nextSequence: recorded?.nextSequence ?? '0' }
      : (recorded ?? { kind: 'kafka', position: { offsets: {} }, nextSequence: '0' });
    const source = new KafkaSource({
      brokers: options.brokers,
      clientId: options.clientId,
      groupId: options.groupId,
      sessionTimeoutMs: options.sessionTimeoutMs,
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
    const loop: PipelineLoop<KafkaSourceState> = new PipelineLoop<KafkaSourceState>({
      sourceName: KAFKA,
      source,
      sink,
      coordinator,
      router,
      ...(capture.transform ? { capture: capture.transform } : {}),
      gate: resumed.gate,
      start,
      checkpointed: group && record ? start : recorded,
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
        ...(group ? {} : { betweenCheckpoints: (recordId: number): Promise<void> => source.commitGroupOffsets(loop.where().committed, reference(recordId)) }),
      },
    });
    this.loop = loop;
    this.live = () => {
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
        compaction: { enabled: false, due: false, running: false, lastRun: undefined },
      };
    };
    if (this.stopRequested) loop.requestStop();
    await loop.run();
  }
}
