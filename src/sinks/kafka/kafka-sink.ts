// Change events to Kafka topics, exactly once for read_committed consumers (docs/kafka.md, "Binlog ->
// Kafka"). Everything between two checkpoints is one Kafka transaction under a fixed transactional.id;
// the checkpoint's own record (the binlog position) is the transaction's last message, in a compacted
// state topic. So the changes and the position they end at become visible together or not at all, and
// a restart, whose producer fences the killed daemon's and aborts its open transaction, reads the
// position back from that topic. The local checkpoint record only mirrors it.
import { Kafka, logLevel, type Message, type Producer, type Transaction } from 'kafkajs';
import type { Logger } from 'pino';
import type { ChangeEvent } from '../../core/change-event.ts';
import type { CheckpointRecord } from '../../core/checkpoint-record.ts';
import { SluiceError } from '../../core/errors.ts';
import type { Sink, SinkCommits } from '../../core/sink.ts';
import type { SourceState } from '../../core/source.ts';
import { isTransient } from '../../core/transient.ts';
import type { Route } from '../../routing/router.ts';
import { envelopeMessages, schemaChangeMessage, type EnvelopeContext, type EnvelopeMessage } from './debezium-envelope.ts';
import { readStateRecord, type KafkaStateRecord } from './kafka-state-topic.ts';

export interface KafkaSinkSettings {
  brokers: string[];
  clientId: string;
  /** Fixed across restarts: a restart fences the killed daemon's producer and aborts its open transaction. */
  transactionalId: string;
  prefix: string;
  /** Topic of a target table: `{prefix}`, `{db}`, `{table}` are replaced. */
  topic: string;
  schemaTopic: string;
  stateTopic: string;
  /** Partitions of a topic sluice creates. */
  partitions: number;
  replicationFactor: number;
  tombstones: boolean;
  transactionTimeoutMs: number;
}

/** What the record keeps of this sink: nothing to carry out; the Kafka transaction is committed by then. */
export type KafkaSinkCommits = SinkCommits & { commits: [] };

/**
 * Messages buffered before they go out in one request: bounds memory, not the transaction. kafkajs
 * puts a partition's messages of one request into one record batch, which the broker refuses past
 * its message.max.bytes (1 MiB by default): so well below that.
 */
const FLUSH_MESSAGES = 2000;
const FLUSH_BYTES = 512 * 1024;
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

export function topicOf(template: string, prefix: string, target: Route): string {
  return template.replaceAll('{prefix}', prefix).replaceAll('{db}', target.database).replaceAll('{table}', target.table);
}

/** The schema or state topic's name: its template with `{prefix}` filled in. */
export function withPrefix(template: string, prefix: string): string {
  return template.replaceAll('{prefix}', prefix);
}

export class KafkaSink implements Sink<Route, KafkaSinkCommits> {
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private transaction: Transaction | undefined;
  /** Partitions of every topic written to, by name (created on first use). */
  private readonly topics = new Map<string, number>();
  private buffer: { topic: string; message: Message }[] = [];
  private bufferedBytes = 0;
  /** What the next checkpoint's state message holds, set just before it is taken. */
  private nextRecord: KafkaStateRecord | undefined;
  private readonly context: Omit<EnvelopeContext, 'now'>;
  /** With the schema and state topics' {prefix} filled in. */
  private readonly settings: KafkaSinkSettings;

  constructor(
    settings: KafkaSinkSettings,
    version: string,
    private readonly logger: Logger,
  ) {
    const expand = (template: string): string => withPrefix(template, settings.prefix);
    this.settings = { ...settings, schemaTopic: expand(settings.schemaTopic), stateTopic: expand(settings.stateTopic) };
    this.kafka = new Kafka({ clientId: settings.clientId, brokers: settings.brokers, logLevel: logLevel.NOTHING });
    this.producer = this.kafka.producer({ transactionalId: settings.transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: settings.transactionTimeoutMs });
    this.context = { name: settings.prefix, version, tombstones: settings.tombstones };
  }

  /**
   * Connects, fences any earlier producer of the transactional id (aborting its open transaction),
   * and reads the newest committed checkpoint of this id from the state topic.
   */
  async open(): Promise<KafkaStateRecord | undefined> {
    const { settings } = this;
    try {
      await this.producer.connect();
      // The producer id is initialised at the first transaction: this one fences the killed daemon.
      await (await this.producer.transaction()).abort();
      await this.ensureTopic(settings.stateTopic, 1, { 'cleanup.policy': 'compact' });
      await this.ensureTopic(settings.schemaTopic, 1);
      return await readStateRecord(this.kafka, settings.stateTopic, settings.transactionalId);
    } catch (error) {
      throw this.kafkaError(error, 'cannot start the Kafka sink');
    }
  }

  async write(target: Route, event: ChangeEvent): Promise<void> {
    if (event.xid !== undefined) {
      // A prepared XA transaction's rows may yet be rolled back, and may stay prepared across checkpoints: they cannot go out in this one.
      throw new SluiceError(
        'SLUICE_KAFKA',
        `${event.schema}.${event.table} at ${event.position.file}:${event.position.offset}: a change of the XA transaction ${event.xid}, which the Kafka sink does not support yet. ` +
          'Capture this table with the Hive sink, or leave it out of routing; the daemon resumes from its last checkpoint.',
        { context: { table: `${event.schema}.${event.table}`, xid: event.xid } },
      );
    }
    const topic = topicOf(this.settings.topic, this.settings.prefix, target);
    const partitions = await this.ensureTopic(topic, this.settings.partitions);
    const messages = envelopeMessages(event, { ...this.context, now: Date.now() });
    for (const message of messages) {
      // A table without a primary key keeps its order in partition 0; a truncate reaches every partition, so it follows each key's earlier changes.
      if (message.key !== null) this.push(topic, message);
      else if (event.op !== 'truncate') this.push(topic, message, 0);
      else for (let partition = 0; partition < partitions; partition++) this.push(topic, message, partition);
    }
    if (this.buffer.length >= FLUSH_MESSAGES || this.bufferedBytes >= FLUSH_BYTES) await this.flush();
  }

  /** A DDL statement, in stream order, to the schema change topic. */
  noteStatement(statement: { text: string; schema: string; commitTs: number; state: { position: { file: string; offset: number; gtidSet?: string }; nextSequence: string } }): void {
    const { position, nextSequence } = statement.state;
    const message = schemaChangeMessage(
      {
        database: statement.schema,
        ddl: statement.text,
        position: { file: position.file, offset: position.offset, ...(position.gtidSet ? { gtid: position.gtidSet } : {}) },
        commitTs: statement.commitTs,
        sequence: BigInt(nextSequence),
      },
      { ...this.context, now: Date.now() },
    );
    this.push(this.settings.schemaTopic, message, 0);
  }

  /** Just before a checkpoint: the sources' states that its state message records. */
  prepareRecord(id: number, jobId: string, sources: Record<string, SourceState>): void {
    this.nextRecord = { format: 1, id, jobId, createdAt: new Date().toISOString(), sources };
  }

  async preCommit(): Promise<KafkaSinkCommits> {
    const record = this.nextRecord;
    if (!record) throw new Error('KafkaSink.preCommit without prepareRecord');
    this.nextRecord = undefined;
    // The position goes out last, in the same transaction: visible with the changes before it, or not at all.
    this.push(this.settings.stateTopic, { key: this.settings.transactionalId, value: JSON.stringify(record) }, 0);
    try {
      await this.flush();
      await this.transaction!.commit();
    } catch (error) {
      throw this.kafkaError(error, `cannot commit the transaction of checkpoint ${record.id}`);
    } finally {
      this.transaction = undefined;
    }
    return { commits: [] };
  }

  async commit(): Promise<void> {}

  async abort(): Promise<void> {
    this.buffer = [];
    this.bufferedBytes = 0;
    const open = this.transaction;
    this.transaction = undefined;
    await open?.abort().catch(() => undefined);
  }

  /** Unreachable: this sink runs with onTableError 'daemon' (one transaction holds every table's messages). */
  async discard(): Promise<void> {
    throw new Error('the Kafka sink cannot give up one table: it runs with onTableError daemon');
  }

  async close(): Promise<void> {
    await this.abort();
    await this.producer.disconnect().catch(() => undefined);
  }

  private push(topic: string, message: EnvelopeMessage, partition?: number): void {
    this.buffer.push({ topic, message: { key: message.key, value: message.value, ...(partition === undefined ? {} : { partition }) } });
    this.bufferedBytes += (message.key?.length ?? 0) + (message.value?.length ?? 0);
  }

  private async flush(): Promise<void> {
    if (this.buffer.length === 0 && this.transaction) return;
    this.transaction ??= await this.producer.transaction();
    if (this.buffer.length === 0) return;
    // One request for the lot; kafkajs keeps each partition's messages in the order given.
    const byTopic = new Map<string, Message[]>();
    for (const { topic, message } of this.buffer) {
      const list = byTopic.get(topic) ?? [];
      list.push(message);
      byTopic.set(topic, list);
    }
    this.buffer = [];
    this.bufferedBytes = 0;
    try {
      await this.transaction.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    } catch (error) {
      throw this.kafkaError(error, 'cannot send messages');
    }
  }

  /** Creates a topic sluice writes to on first use (an existing one is kept as it is); returns its partition count. */
  private async ensureTopic(topic: string, partitions: number, configs: Record<string, string> = {}): Promise<number> {
    const known = this.topics.get(topic);
    if (known !== undefined) return known;
    if (!TOPIC_NAME.test(topic)) {
      throw new SluiceError('SLUICE_KAFKA', `'${topic}' is no Kafka topic name (letters, digits, '.', '_', '-', at most 249): check sink.kafka.topic, schemaTopic and stateTopic and the routing targets they name`, {
        context: { topic },
      });
    }
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: partitions, replicationFactor: this.settings.replicationFactor, configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) }],
      });
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      const count = metadata.topics[0]?.partitions.length ?? partitions;
      this.topics.set(topic, count);
      this.logger.debug({ topic, partitions: count }, 'Kafka topic ready');
      return count;
    } finally {
      await admin.disconnect();
    }
  }

  private kafkaError(error: unknown, what: string): Error {
    if (error instanceof SluiceError) return error;
    return new SluiceError('SLUICE_KAFKA', `Kafka ${this.settings.brokers.join(',')} (sink.kafka): ${what}: ${(error as Error).message}`, {
      cause: error,
      retriable: isTransient(error),
      context: { transactionalId: this.settings.transactionalId },
    });
  }
}

/** The state message as the checkpoint code takes a record (the binlog's start, the table gate). */
export function recordOfState(state: KafkaStateRecord): CheckpointRecord {
  return { format: 2, id: state.id, jobId: state.jobId, createdAt: state.createdAt, sources: state.sources, sinks: { kafka: { commits: [] } } };
}
