// binlog -> routing -> Kafka topics in Debezium's envelope, exactly once for read_committed consumers
// (docs/kafka.md, "Binlog -> Kafka"). The same loop as binlog -> Hive; the Kafka sink commits one
// transaction per checkpoint with the position inside it, so the position to resume from is read back
// from Kafka (the state topic), not from the local record, which only mirrors it.
import { CheckpointCoordinator } from '../checkpoint/checkpoint-coordinator.ts';
import { CheckpointStore } from '../checkpoint/checkpoint-store.ts';
import { TableGate } from '../checkpoint/table-gate.ts';
import type { MysqlServerOptions } from '../core/mysql-connect.ts';
import { SluiceError } from '../core/errors.ts';
import { Router } from '../routing/router.ts';
import { KafkaSink, recordOfState, type KafkaSinkSettings } from '../sinks/kafka/kafka-sink.ts';
import type { BinlogSourceState, BinlogStart } from '../sources/binlog/position/binlog-position.ts';
import { preflight } from '../sources/binlog/server/preflight.ts';
import { checkServerIdFree } from '../sources/binlog/server/server-id.ts';
import { SchemaHistory } from '../sources/binlog/schema/schema-history.ts';
import { BinlogPipelineSource } from '../sources/binlog/stream/binlog-pipeline-source.ts';
import { BinlogSource } from '../sources/binlog/stream/binlog-source.ts';
import { availableBinlogStart, newJobId } from './binlog-to-hive-job.ts';
import { BINLOG } from './binlog-to-hive-record.ts';
import { binlogLiveStatus } from './binlog-live-status.ts';
import { NO_COMPACTION } from './table-maintenance.ts';
import { setUpCapture } from './capture-setup.ts';
import { openBinlogSnapshot, type BinlogSnapshot, type SnapshotSettings } from './binlog-snapshot.ts';
import type { KafkaToHiveJobOptions } from './kafka-to-hive-job.ts';
import { PipelineJob } from './pipeline-job.ts';
import { PipelineLoop } from './pipeline-loop.ts';

/** The sink's name in the checkpoint record. */
export const KAFKA_SINK = 'kafka';

/** The loop's settings are the Kafka loader's; the source is the binlog, the sink Kafka. */
export interface BinlogToKafkaJobOptions
  extends Pick<KafkaToHiveJobOptions, 'routing' | 'capture' | 'stateDir' | 'keepCheckpoints' | 'checkpointIntervalMs' | 'maxQueuedEvents' | 'logger' | 'metrics'> {
  connection: MysqlServerOptions;
  serverId: number;
  start: BinlogStart;
  kafka: KafkaSinkSettings;
  /** sluice's version, in each envelope's source.version. */
  version: string;
  /** Existing rows first (`snapshot`), as `r` messages; none when absent or `never`. */
  snapshot?: SnapshotSettings;
}

export class BinlogToKafkaJob extends PipelineJob<BinlogSourceState> {
  constructor(private readonly options: BinlogToKafkaJobOptions) {
    super(options.metrics, 'not streaming from the binlog yet');
  }

  async run(): Promise<void> {
    const { options, metrics } = this;
    const logger = options.logger;
    const server = `${options.connection.host}:${options.connection.port}`;
    const facts = await preflight(options.connection);
    await checkServerIdFree(options.connection, options.serverId);
    const store = new CheckpointStore(options.stateDir);
    const sink = new KafkaSink(options.kafka, options.version, logger);
    let snapshot: BinlogSnapshot | undefined;
    try {
      const state = await sink.open();
      const local = await store.latest();
      if (!state && local) {
        throw new SluiceError(
          'SLUICE_KAFKA',
          `the state topic ${options.kafka.stateTopic} (sink.kafka.stateTopic) holds no checkpoint of ${options.kafka.transactionalId} (sink.kafka.transactionalId), ` +
            `but ${store.dir} holds checkpoint ${local.id}: the topics' truth is gone or another topic or id is named. Fix the names, or start afresh with an empty checkpoint.dir.`,
          { context: { topic: options.kafka.stateTopic, transactionalId: options.kafka.transactionalId } },
        );
      }
      const record = state && recordOfState(state);
      const resumed = TableGate.resume<BinlogSourceState>(record, BINLOG);
      const router = new Router(options.routing, (source, changes) => metrics.unmatchedChanges.inc({ source }, changes));
      // The snapshot's progress rides in the record in Kafka, committed in the same transaction as the
      // rows it read: a restart reads on from the last committed chunk, as for the Hive sink.
      snapshot = await openBinlogSnapshot({
        job: options,
        facts,
        server,
        record,
        purged: false,
        router,
        requests: { store },
        retrying: resumed.retrying,
        held: () => resumed.gate.stoppedTables.size > 0 || resumed.gate.catchingUp,
        onDone: () => (this.loop ? this.loop.requestStopBehindQueued() : this.requestStop()),
        logger,
        metrics,
      });
      // A first start with a snapshot streams from the binlog's end: the snapshot reads what came before.
      const start = await availableBinlogStart(options, server, facts, resumed.start, snapshot?.fresh ? { kind: 'latest' } : options.start);
      const jobId = newJobId();
      logger.info({ server, version: facts.version, start: start.description, jobId, transactionalId: options.kafka.transactionalId }, 'starting binlog capture into Kafka');
      const capture = setUpCapture(options.capture, options.routing.rules, router, logger);
      const schemaHistory = await SchemaHistory.load(options.stateDir);
      const coordinator = new CheckpointCoordinator(store, { [KAFKA_SINK]: sink }, jobId, options.keepCheckpoints, Math.max(record?.id ?? 0, local?.id ?? 0));
      const stream = new BinlogSource({
        connection: options.connection,
        serverId: options.serverId,
        router,
        maxQueuedItems: options.maxQueuedEvents,
        firstSequence: start.nextSequence,
        startPosition: start.position,
        schemaHistory,
        trackSchemas: facts.rowMetadata !== 'FULL' || schemaHistory.size > 0,
        isMariaDb: facts.isMariaDb,
        ...(snapshot ? { merge: snapshot.merge } : {}),
        logger,
      });
      const loop = new PipelineLoop<BinlogSourceState>({
        sourceName: BINLOG,
        source: new BinlogPipelineSource(stream, start.dump, logger, (statement) => sink.noteStatement(statement)),
        sink,
        coordinator,
        router,
        ...(capture.transform ? { capture: capture.transform } : {}),
        gate: resumed.gate,
        start: { kind: 'binlog', position: start.position, nextSequence: start.nextSequence.toString() },
        ...(snapshot ? { startAlso: snapshot.statesAt(start.nextSequence) } : {}),
        checkpointed: resumed.start,
        checkpointIntervalMs: options.checkpointIntervalMs,
        // One transaction holds every table's messages: one table's cannot be given up alone.
        onTableError: 'daemon',
        logger,
        metrics,
        figures: this.figures,
        hooks: {
          beforeCheckpoint: async () => {
            await schemaHistory.save();
            const { boundary, also } = loop.where();
            sink.prepareRecord(coordinator.pendingId, jobId, { ...also, [BINLOG]: boundary });
          },
        },
      });
      this.attach(loop, () => binlogLiveStatus({ server, facts, where: loop.where(), figures: this.figures, gate: resumed.gate, compaction: NO_COMPACTION }));
      await loop.run();
    } finally {
      await snapshot?.close();
      await sink.close();
    }
  }
}
