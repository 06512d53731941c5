// One kafkajs consumer in the loader's consumer group, kept for the whole run of the job while the
// loops that read from it come and go. In group mode (source.group.member) a rebalance ends the loop
// that read the old assignment and a new loop reads the new one (docs/kafka.md): the new loop must
// keep this consumer, since a new one would leave and rejoin the group, rebalance every other loader,
// and so start new loops there too, without end. Each message goes to the loop reading now (the
// attached reader); between two loops none does, and the message is passed by: the next loop seeks
// every partition it reads, and the seek brings the message again.
import { Kafka, logLevel, type Consumer, type EachMessagePayload } from 'kafkajs';
import { SluiceError } from '../../core/errors.ts';
import { isTransient } from '../../core/transient.ts';
import { FencedCommitter, GroupMembership, type GroupOffset, type Membership } from './fenced-commit.ts';

export interface GroupConsumerOptions {
  brokers: string[];
  clientId: string;
  groupId: string;
  sessionTimeoutMs: number;
  topics: string[];
}

/** What a loop's source answers to: the messages, each join of the group, and a consumer that stopped for good. */
export interface ConsumerReader {
  take(payload: EachMessagePayload): Promise<void>;
  joined(membership: Membership): void;
  crashed(error: unknown): void;
}

/** A loop ended because the group's assignment changed under it: the job starts a new loop on the same consumer. */
export function rebalanced(groupId: string, message: string): SluiceError {
  return new SluiceError('SLUICE_KAFKA', `the consumer group ${groupId} (source.groupId) rebalanced: ${message}`, { retriable: true, context: { groupId, rebalance: true } });
}

export function isRebalance(error: unknown): boolean {
  return error instanceof SluiceError && error.context.rebalance === true;
}

/** Within the shortest session timeout brokers allow (6 s), with room to spare. */
export const HEARTBEAT_WHILE_WAITING_MS = 1000;

export class GroupConsumer {
  readonly kafka: Kafka;
  private consumer: Consumer | undefined;
  private memberships: GroupMembership | undefined;
  private committer: FencedCommitter | undefined;
  private reader: ConsumerReader | undefined;
  private started: Promise<void> | undefined;
  private stopping = false;
  private crash: unknown;
  /** Whoever waits for the next assignment, or for a reader to attach. */
  private waiters: (() => void)[] = [];

  constructor(private readonly options: GroupConsumerOptions) {
    this.kafka = new Kafka({ clientId: options.clientId, brokers: options.brokers, logLevel: logLevel.NOTHING });
  }

  get groupId(): string {
    return this.options.groupId;
  }

  /** Joins the group and reads; once, however often it is called. */
  start(): Promise<void> {
    this.started ??= this.connect();
    return this.started;
  }

  private async connect(): Promise<void> {
    const { options } = this;
    const consumer = this.kafka.consumer({ groupId: options.groupId, sessionTimeout: options.sessionTimeoutMs, heartbeatInterval: Math.min(3000, Math.floor(options.sessionTimeoutMs / 3)) });
    this.consumer = consumer;
    // Registered first: the membership of a join is in place before the reader hears of it.
    this.memberships = new GroupMembership(consumer);
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.reader?.joined(this.memberships!.membership!);
      this.wake();
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart || this.stopping) return;
      this.crash = payload.error;
      this.reader?.crashed(payload.error);
      this.wake();
    });
    await consumer.connect();
    await consumer.subscribe({ topics: options.topics });
    await consumer.run({ autoCommit: false, eachMessage: (payload) => this.dispatch(payload) });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  private waitForChange(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private async dispatch(payload: EachMessagePayload): Promise<void> {
    const reader = this.reader;
    if (reader) return reader.take(payload);
    // Between two loops: this message is passed by (the next loop's seek brings it again), and the
    // consumer waits here, heartbeating, rather than read through the partition meanwhile. A
    // heartbeat that finds the group rebalancing throws, and kafkajs rejoins.
    while (!this.reader && !this.stopping && this.crash === undefined) {
      await this.waitForChange(HEARTBEAT_WHILE_WAITING_MS);
      await payload.heartbeat();
    }
  }

  /** The assignment of the group's latest join, once its generation is known or not. */
  get membership(): Membership | undefined {
    return this.memberships?.membership;
  }

  /**
   * The group's assignment once it is not `after` (the one the last loop read): at once if the group
   * has rejoined meanwhile, else at the next join. Undefined once the consumer or the job stops.
   */
  async nextAssignment(after: Membership | undefined, stopRequested: () => boolean): Promise<Membership | undefined> {
    for (;;) {
      if (this.crash !== undefined) {
        throw new SluiceError('SLUICE_KAFKA', `Kafka ${this.options.brokers.join(',')}: the consumer stopped: ${(this.crash as Error).message}`, { cause: this.crash, retriable: isTransient(this.crash) });
      }
      if (this.stopping || stopRequested()) return undefined;
      const current = this.membership;
      if (current && current !== after) return current;
      await this.waitForChange(HEARTBEAT_WHILE_WAITING_MS);
    }
  }

  /** The reader of the loop starting now; it seeks its partitions at once, before any message reaches it. */
  attach(reader: ConsumerReader): void {
    this.reader = reader;
    this.wake();
  }

  detach(reader: ConsumerReader): void {
    if (this.reader === reader) this.reader = undefined;
  }

  seek(topic: string, partition: number, offset: string): void {
    this.consumer!.seek({ topic, partition, offset });
  }

  /** kafkajs's own commit (the consumer's current generation): for a single loader's lag monitoring only. */
  async commitOffsets(offsets: GroupOffset[]): Promise<void> {
    await this.consumer?.commitOffsets(offsets);
  }

  /** The fenced commit (fenced-commit.ts): as `membership`, refused when it no longer owns the partitions. */
  commitFenced(membership: Membership, offsets: GroupOffset[]): Promise<'committed' | 'fenced'> {
    this.committer ??= new FencedCommitter(this.kafka, this.options.groupId);
    return this.committer.commit(membership, offsets);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.committer?.disconnect().catch(() => undefined);
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
