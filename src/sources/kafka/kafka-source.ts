// Kafka topics as a pipeline source (core/source.ts). Each message is a transaction of its own: its
// rows (a canal message may hold several), then a boundary whose state holds every partition's next
// offset, so a checkpoint lands between messages. The consumer (group-consumer.ts, the job's) joins
// the group for the assignment, but the offsets this source reads from are its start state's: the
// checkpoint's for a single loader, the group's committed ones in group mode (docs/kafka.md). Every
// assigned partition is sought there (or to the configured start), and a message below the offset
// already handed on is passed by, so a fetch that raced the seek cannot hand a message on twice. In
// group mode a source reads one assignment: the group's next join ends it (a rebalance).
import type { EachMessagePayload } from 'kafkajs';
import type { Logger } from 'pino';
import { NO_COLUMNS, type ChangeEvent } from '../../core/change-event.ts';
import { SluiceError } from '../../core/errors.ts';
import { isTransient } from '../../core/transient.ts';
import type { Source, SourceItem } from '../../core/source.ts';
import type { Route, Router } from '../../routing/router.ts';
import type { SluiceMetrics } from '../../runtime/metrics.ts';
import { SourceQueue } from '../source-queue.ts';
import { DeadLetterFile, letterValue } from './dead-letters.ts';
import { formatRecordReference, type RecordReference } from './group-offset-metadata.ts';
import type { Membership } from './fenced-commit.ts';
import { HEARTBEAT_WHILE_WAITING_MS, rebalanced, type ConsumerReader, type GroupConsumer } from './group-consumer.ts';
import { parseExactJson, type JsonValue } from '../../core/exact-json.ts';
import { FORMAT_DECODERS, type KafkaFormat } from './formats/format-decoders.ts';
import { MessageRejected, type FormatDecoder, type KafkaRow } from './formats/kafka-row.ts';
import { ColumnLists, rowCells } from './kafka-cells.ts';
import { readPartitionBounds, retentionGap, type PartitionBounds } from './kafka-topics.ts';
import { describeOffsets, partitionKey, splitPartitionKey, type KafkaSourceState, type PartitionOffsets } from './kafka-position.ts';

export interface KafkaTopicSettings {
  name: string;
  format: KafkaFormat;
  /** Column types by source table (`db.table`) for formats whose messages state none: column -> MySQL type, in order. */
  columns?: Record<string, Record<string, string>>;
}

export interface KafkaSourceOptions {
  brokers: string[];
  clientId: string;
  groupId: string;
  sessionTimeoutMs: number;
  /** The group's consumer, the job's: it outlives this source when a rebalance starts a new loop. */
  consumer: GroupConsumer;
  /**
   * Group mode: the assignment this source reads, and nothing else; a later join of the group ends
   * the source (a rebalance). Absent: the only loader, which reads every partition of its topics.
   */
  membership?: Membership;
  topics: KafkaTopicSettings[];
  /** Where a partition the checkpoint does not name starts. */
  start: 'earliest' | 'latest';
  /** The recorded offsets (empty on a first start); in group mode those of the assigned partitions only. */
  offsets: PartitionOffsets;
  firstSequence: bigint;
  router: Router;
  /** The source columns of an existing target table as MySQL types: the last place column types come from. */
  targetColumns(target: Route): Promise<ReadonlyMap<string, string> | undefined>;
  deadLetters: DeadLetterFile;
  maxQueuedItems: number;
  logger: Logger;
  metrics: SluiceMetrics;
}

type Item = SourceItem<KafkaSourceState, Route>;

export class KafkaSource implements Source<KafkaSourceState, Route>, ConsumerReader {
  private readonly queue: SourceQueue<Item>;
  /** The next offset of every partition: what has been handed on (queued) so far. */
  private readonly nextOffsets: PartitionOffsets;
  /** Every partition's first offset still in the log, and its end, when the source started. */
  private readonly bounds = new Map<string, PartitionBounds>();
  private sequence: bigint;
  private readonly topics: Map<string, { decoder: FormatDecoder; columns: Map<string, ReadonlyMap<string, string>> }>;
  private readonly columnLists = new ColumnLists();
  /** The target tables' column types, looked up once each (a table sluice creates takes its types from the first message). */
  private readonly targetTypes = new Map<string, ReadonlyMap<string, string> | undefined>();
  private stopping = false;

  constructor(private readonly options: KafkaSourceOptions) {
    this.nextOffsets = { ...options.offsets };
    this.sequence = options.firstSequence;
    this.topics = new Map(
      options.topics.map((topic) => [
        topic.name,
        { decoder: FORMAT_DECODERS[topic.format], columns: new Map(Object.entries(topic.columns ?? {}).map(([table, columns]) => [table.toLowerCase(), new Map(Object.entries(columns))])) },
      ]),
    );
    // No socket to pause: `take` waits for room instead. A paused kafkajs consumer sleeps a whole
    // maxWaitTime (5 s) before its next fetch, which held a loader to about 1,000 messages/s.
    this.queue = new SourceQueue<Item>(options.maxQueuedItems, () => undefined);
  }

  start(): void {
    this.connect().catch((error: unknown) => this.queue.fail(this.kafkaError(error, 'cannot start consuming')));
  }

  private async connect(): Promise<void> {
    const { options } = this;
    for (const [key, bounds] of await readPartitionBounds(options.consumer.kafka, options.brokers, options.topics.map((topic) => topic.name))) this.bounds.set(key, bounds);
    const gap = retentionGap(this.nextOffsets, this.bounds);
    if (gap) throw gap;
    if (this.stopping) return;
    options.consumer.attach(this);
    const { membership } = options;
    if (!membership) {
      // The only loader: the consumer joins now, and each join seeks what it assigns.
      await options.consumer.start();
      return;
    }
    // Group mode: the consumer joined before this loop, and the assignment is the one it read.
    if (options.consumer.membership !== membership) this.queue.fail(rebalanced(options.groupId, 'the group rejoined while this loader took over its partitions'));
    else this.seekAssigned(membership.assignment);
  }

  joined(membership: Membership): void {
    if (this.stopping) return;
    if (!this.options.membership) this.seekAssigned(membership.assignment);
    // Any new join ends the loop, even one that assigns the same partitions: another member may
    // have read and committed them in between (this one paused past its session).
    else if (membership !== this.options.membership) this.queue.fail(rebalanced(this.options.groupId, `this member now reads ${describeAssignment(membership.assignment)}`));
  }

  crashed(error: unknown): void {
    if (!this.stopping) this.queue.fail(this.kafkaError(error, 'the consumer stopped'));
  }

  /** A message for this loop. A failure of ours (a full disk under the dead letters, a bug) fails the source: thrown to kafkajs, it would restart the consumer and try the message again, forever and out of sight. */
  take(payload: EachMessagePayload): Promise<void> {
    return this.read(payload).catch((error: unknown) => {
      this.queue.fail(error as Error);
      // Group mode: a heartbeat found the group rebalancing (the source has failed as rebalanced); on to
      // kafkajs, which rejoins at once.
      if (this.options.membership && (error as Error).name?.startsWith('KafkaJS')) throw error;
    });
  }

  /** Each assigned partition from where this source stands, not from the group's committed offset. */
  private seekAssigned(assignment: Record<string, number[]>): void {
    const { consumer } = this.options;
    // A single loader reads every partition: another member reading some would commit them from a
    // checkpoint of its own, which this loader never looks at (docs/kafka.md, consumer groups). In
    // group mode the group's offsets are the commit point, and each member reads what it is given.
    const assigned = new Set(Object.entries(assignment).flatMap(([topic, partitions]) => partitions.map((partition) => partitionKey(topic, partition))));
    const elsewhere = [...this.bounds.keys()].filter((key) => !assigned.has(key));
    if (elsewhere.length > 0 && !this.options.membership) {
      this.queue.fail(
        new SluiceError(
          'SLUICE_KAFKA',
          `the consumer group ${this.options.groupId} (source.groupId) gave this daemon ${assigned.size} of ${this.bounds.size} partitions: another member reads ${elsewhere.join(', ')}. ` +
            'To share the partitions among several loaders, give each one source.group.member (group mode, docs/kafka.md); otherwise give each loader its own groupId (and its own checkpoint.dir).',
          { context: { groupId: this.options.groupId, partitions: elsewhere } },
        ),
      );
      return;
    }
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) {
        const key = partitionKey(topic, partition);
        const bounds = this.bounds.get(key);
        this.nextOffsets[key] ??= (this.options.start === 'latest' ? bounds?.high : bounds?.low) ?? '0';
        consumer.seek(topic, partition, this.nextOffsets[key]!);
      }
    }
    this.options.logger.info({ offsets: describeOffsets(this.nextOffsets) }, 'reading Kafka partitions from the checkpoint');
  }

  private async read({ topic, partition, message, heartbeat }: EachMessagePayload): Promise<void> {
    await this.roomInQueue(heartbeat);
    // This loop ended (a rebalance, a stop, a failure) while the message waited: the next loop's seek
    // brings it again, and it is not written to the dead letters by a loop that will not record it.
    if (this.stopping || this.queue.failed) return;
    const key = partitionKey(topic, partition);
    const expected = this.nextOffsets[key];
    // Not yet sought (the join is still under way), or handed on already: the seek brings it again.
    if (expected === undefined || BigInt(message.offset) < BigInt(expected)) return;
    const where = `${topic}-${partition}@${message.offset}`;
    const decoded = this.decode(topic, message.value, message.key, where);
    if (decoded.kind === 'rejected') {
      await this.options.deadLetters.write({ topic, partition, offset: message.offset, reason: decoded.reason, key: message.key?.toString('utf8') ?? null, ...letterValue(message.value) });
      this.options.metrics.kafkaDeadLetters.inc({ topic });
      this.options.logger.warn({ topic, partition, offset: message.offset, reason: decoded.reason, file: this.options.deadLetters.path }, 'message written to the dead letters');
    } else if (decoded.kind === 'skip') {
      this.options.logger.info({ topic, partition, offset: message.offset, reason: decoded.reason }, 'message without rows passed by');
    } else if (decoded.kind === 'rows') {
      for (const row of decoded.rows) await this.pushRow(row, topic, partition, message.offset, where);
    }
    this.nextOffsets[key] = (BigInt(message.offset) + 1n).toString();
    this.queue.push({ kind: 'boundary', state: this.state() });
  }

  /**
   * Back-pressure: the next message waits while the pipeline is behind. The group hears from this
   * member meanwhile (kafkajs sends heartbeats only between messages), so a long checkpoint commit
   * does not cost it its partitions.
   */
  private async roomInQueue(heartbeat: () => Promise<void>): Promise<void> {
    while (this.queue.length >= this.options.maxQueuedItems && !this.stopping && !this.queue.failed) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.queue.room(), new Promise((resolve) => (timer = setTimeout(resolve, HEARTBEAT_WHILE_WAITING_MS)))]);
      clearTimeout(timer);
      await heartbeat().catch((error: unknown) => {
        // Group mode: the group is rebalancing (or dropped this member): this loop's assignment is
        // over. Thrown on, so that kafkajs rejoins at once.
        if (this.options.membership) this.queue.fail(rebalanced(this.options.groupId, (error as Error).message));
        throw error;
      });
    }
  }

  private decode(topic: string, value: Buffer | null, key: Buffer | null, where: string): { kind: 'rows'; rows: KafkaRow[] } | { kind: 'skip' | 'rejected'; reason: string } {
    // A tombstone (null value) follows a Debezium delete for log compaction; it changes no row.
    if (value === null || value.length === 0) return { kind: 'skip', reason: 'tombstone (no value)' };
    let json;
    try {
      json = parseExactJson(value.toString('utf8'));
    } catch (error) {
      return { kind: 'rejected', reason: `not JSON: ${(error as Error).message}` };
    }
    try {
      const { decoder } = this.topics.get(topic)!;
      return decoder.decode(json, decoder.readsKey ? parsedKey(key) : undefined);
    } catch (error) {
      if (error instanceof MessageRejected) return { kind: 'rejected', reason: error.message };
      throw new SluiceError('SLUICE_KAFKA', `${where}: ${(error as Error).message}`, { cause: error });
    }
  }

  private async pushRow(row: KafkaRow, topic: string, partition: number, offset: string, where: string): Promise<void> {
    const decision = this.options.router.decide(row.schema, row.table);
    if (decision.kind === 'unmatched') this.options.router.countUnmatched(row.schema, row.table);
    if (decision.kind !== 'routed') return;
    const position = { file: `${topic}-${partition}`, offset: Number(offset) };
    const base = { schema: row.schema, table: row.table, op: row.op, commitTs: Math.floor(row.commitMs / 1000), position };
    if (row.op === 'truncate') {
      this.queue.push({ kind: 'change', event: { ...base, columns: NO_COLUMNS, before: null, after: null, sequence: this.sequence++ } });
      return;
    }
    try {
      const types = row.types ?? this.topics.get(topic)!.columns.get(`${row.schema}.${row.table}`.toLowerCase()) ?? (await this.typesOfTarget(decision.target));
      if (!types) {
        throw new SluiceError(
          'SLUICE_KAFKA_COLUMNS_UNKNOWN',
          `${where}: the message gives no column types for ${row.schema}.${row.table}, topic ${topic} has no columns.${row.schema}.${row.table} in the config, ` +
            `and the target table ${decision.target.database}.${decision.target.table} does not exist yet; add the columns with their MySQL types (or create the table).`,
          { context: { table: `${row.schema}.${row.table}`, position: where } },
        );
      }
      const cells = rowCells(row, types, this.topics.get(topic)!.decoder.bytes, where);
      this.queue.push({ kind: 'change', event: { ...base, columns: this.columnLists.of(types, row.key), ...cells, sequence: this.sequence++ } });
    } catch (error) {
      if (!(error instanceof SluiceError)) throw error;
      this.queue.push({ kind: 'table-failed', target: decision.target, error, at: where });
    }
  }

  private async typesOfTarget(target: Route): Promise<ReadonlyMap<string, string> | undefined> {
    const key = `${target.database}.${target.table}`;
    // A table not there yet is asked for again: another topic's rows may create it meanwhile.
    if (!this.targetTypes.get(key)) this.targetTypes.set(key, await this.options.targetColumns(target));
    return this.targetTypes.get(key);
  }

  private state(): KafkaSourceState {
    return { kind: 'kafka', position: { offsets: { ...this.nextOffsets } }, nextSequence: this.sequence.toString() };
  }

  private kafkaError(error: unknown, what: string): Error {
    if (error instanceof SluiceError) return error;
    return new SluiceError('SLUICE_KAFKA', `Kafka ${this.options.brokers.join(',')}: ${what}: ${(error as Error).message}`, { cause: error, retriable: isTransient(error) });
  }

  next(): Promise<Item> {
    return this.queue.next();
  }

  poll(): Item | undefined {
    return this.queue.poll();
  }

  injectTick(): void {
    this.queue.push({ kind: 'tick' });
  }

  get queuedItems(): number {
    return this.queue.length;
  }

  /**
   * After a checkpoint: the group's offsets in Kafka follow the record, for lag monitoring only. Each
   * names the record it belongs to (group-offset-metadata.ts), so the group tells where its files are.
   */
  async commitGroupOffsets(state: KafkaSourceState, record: RecordReference): Promise<void> {
    const metadata = formatRecordReference(record);
    const offsets = Object.entries(state.position.offsets).map(([key, offset]) => ({ ...splitPartitionKey(key), offset, metadata }));
    await this.options.consumer.commitOffsets(offsets).catch((error: unknown) => this.options.logger.warn({ err: error }, "the consumer group's offsets were not committed (monitoring only; the checkpoint holds the truth)"));
  }

  /**
   * Group mode's commit point (docs/kafka.md): every offset of the record, each naming it, in one
   * OffsetCommit as the assignment the partitions came in. Refused (the partitions went to another
   * member, or this member's generation is over): a retriable error, and the record's commits are
   * never done; the next run starts from what the group has committed.
   */
  async commitRecord(state: KafkaSourceState, record: RecordReference): Promise<void> {
    const metadata = formatRecordReference(record);
    const offsets = Object.entries(state.position.offsets).map(([key, offset]) => ({ ...splitPartitionKey(key), offset, metadata }));
    const membership = await this.generationKnown();
    if ((await this.options.consumer.commitFenced(membership, offsets)) === 'committed') return;
    throw rebalanced(
      this.options.groupId,
      `it refused checkpoint ${record.recordId}'s offsets: this member no longer owns all of ${describeOffsets(state.position.offsets)}. ` +
        "Its files are not committed; the loader reads its partitions again from the group's committed offsets.",
    );
  }

  /** The assignment this source reads (the group's latest, for a single loader), once its generation is known (from the first heartbeat after the join). */
  private async generationKnown(): Promise<Membership> {
    // Counted in waits, not by the clock: a process stopped meanwhile (SIGSTOP) must still wait for
    // the heartbeat of the join it makes when it wakes.
    for (let waits = 0; ; waits++) {
      const membership = this.options.membership ?? this.options.consumer.membership;
      if (this.options.membership && this.options.consumer.membership !== membership) throw rebalanced(this.options.groupId, 'the group rejoined before this checkpoint was committed');
      if (membership?.generationId !== undefined) return membership;
      if (waits * 100 > this.options.sessionTimeoutMs) {
        // Retriable: the job starts again from the group's committed offsets, this record not counted.
        throw new SluiceError('SLUICE_KAFKA', `Kafka ${this.options.brokers.join(',')}: the consumer group ${this.options.groupId} (source.groupId) sent this member no heartbeat since it assigned the partitions, so its generation is unknown and the checkpoint's offsets cannot be committed`, {
          retriable: true,
          context: { groupId: this.options.groupId },
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Ends this source's reading; the consumer is the job's, and stays. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.options.consumer.detach(this);
  }

  describe(state: KafkaSourceState): string {
    return describeOffsets(state.position.offsets);
  }

  describeChange(event: ChangeEvent): string {
    return `${event.position.file}@${event.position.offset}`;
  }
}

/** A message key as JSON, when it is JSON (Debezium's and Maxwell's are); anything else says nothing of the table's key. */
function parsedKey(key: Buffer | null): JsonValue | undefined {
  if (key === null || key.length === 0 || (key[0] !== 0x7b && key[0] !== 0x5b)) return undefined;
  try {
    return parseExactJson(key.toString('utf8'));
  } catch {
    return undefined;
  }
}

function describeAssignment(assignment: Record<string, number[]>): string {
  const keys = Object.entries(assignment).flatMap(([topic, partitions]) => partitions.map((partition) => partitionKey(topic, partition)));
  return keys.length === 0 ? 'no partition' : keys.sort().join(', ');
}
