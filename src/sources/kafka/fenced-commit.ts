// A group offset commit sent with the generation the member's assignment came in, rather than the
// one the kafkajs consumer holds when the request leaves (docs/kafka.md, "the generation a commit
// carries"): kafkajs rejoins on its own, and the broker checks the generation, not which partitions
// the member owns in it, so a kafkajs commit sent just after a rejoin could be accepted for a
// partition the member has just lost. Sent with the assignment's own generation, such a commit is
// refused (fenced), which the scale-out can act on; it is never wrongly accepted.
import type { Consumer, Kafka } from 'kafkajs';

/** One assignment of the member: what it owns, under which member id and generation. */
export interface Membership {
  memberId: string;
  /** Known from the first heartbeat of this generation (kafkajs reports the generation nowhere else). */
  generationId: number | undefined;
  assignment: Record<string, number[]>;
}

export interface GroupOffset {
  topic: string;
  partition: number;
  offset: string;
  metadata: string | null;
}

/** The protocol errors that mean: this member and generation no longer own what they commit. */
const FENCED = new Set(['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'REBALANCE_IN_PROGRESS', 'FENCED_INSTANCE_ID']);

/** Follows a consumer's assignments; each join makes a new Membership, and only its own heartbeat fills in its generation. */
export class GroupMembership {
  private current: Membership | undefined;

  constructor(consumer: Consumer) {
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.current = { memberId: payload.memberId, generationId: undefined, assignment: payload.memberAssignment };
    });
    // kafkajs joins and heartbeats in turn on one connection to the coordinator, so a heartbeat that
    // succeeds after a join carries that join's generation.
    consumer.on(consumer.events.HEARTBEAT, ({ payload }) => {
      const current = this.current;
      if (current && current.generationId === undefined && current.memberId === payload.memberId) current.generationId = payload.groupGenerationId;
    });
  }

  get membership(): Membership | undefined {
    return this.current;
  }
}

/** The parts of kafkajs's internal cluster and broker this uses (kafkajs has no public OffsetCommit with a given generation). */
interface Coordinator {
  offsetCommit(request: { groupId: string; groupGenerationId: number; memberId: string; topics: { topic: string; partitions: { partition: number; offset: string; metadata: string | null }[] }[] }): Promise<unknown>;
}
interface Cluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  findGroupCoordinator(request: { groupId: string }): Promise<Coordinator>;
}

function clusterOf(kafka: Kafka): Cluster {
  const create = Object.getOwnPropertySymbols(kafka).find((symbol) => symbol.description === 'private:Kafka:createCluster');
  const factory = create && (kafka as unknown as Record<symbol, unknown>)[create];
  if (typeof factory !== 'function') throw new Error('this kafkajs has no internal cluster factory (private:Kafka:createCluster): the fenced commit needs kafkajs 2.2');
  return (factory as (options: object) => Cluster)({ metadataMaxAge: 300_000, allowAutoTopicCreation: false });
}

export class FencedCommitter {
  private readonly cluster: Cluster;
  private connected = false;

  constructor(
    kafka: Kafka,
    private readonly groupId: string,
  ) {
    this.cluster = clusterOf(kafka);
  }

  /**
   * Commits the offsets as `membership`, in one OffsetCommit: 'fenced' when they are not all its
   * partitions or the broker refuses its member id or generation; other failures are thrown.
   */
  async commit(membership: Membership, offsets: GroupOffset[]): Promise<'committed' | 'fenced'> {
    if (membership.generationId === undefined) throw new Error('the generation of this assignment is not known yet (no heartbeat since the join)');
    if (!offsets.every(({ topic, partition }) => membership.assignment[topic]?.includes(partition))) return 'fenced';
    if (!this.connected) {
      await this.cluster.connect();
      this.connected = true;
    }
    const topics = [...new Set(offsets.map(({ topic }) => topic))].map((topic) => ({
      topic,
      partitions: offsets.filter((offset) => offset.topic === topic).map(({ partition, offset, metadata }) => ({ partition, offset, metadata })),
    }));
    const coordinator = await this.cluster.findGroupCoordinator({ groupId: this.groupId });
    try {
      await coordinator.offsetCommit({ groupId: this.groupId, groupGenerationId: membership.generationId, memberId: membership.memberId, topics });
      return 'committed';
    } catch (error) {
      if (FENCED.has(String((error as { type?: unknown }).type))) return 'fenced';
      throw error;
    }
  }

  async disconnect(): Promise<void> {
    if (this.connected) await this.cluster.disconnect();
    this.connected = false;
  }
}
