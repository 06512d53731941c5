// kafkajs 2.2.4 (2023) against the project's Kafka 4.1 KRaft broker: Kafka 4 removed the oldest
// protocol versions, so what the Kafka source relies on is checked here by itself: topic creation,
// produce, a consumer group join, a seek to a chosen offset, and committed offsets read back.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { isTransient } from '../src/core/transient.ts';
import { FencedCommitter, GroupMembership } from '../src/sources/kafka/fenced-commit.ts';
import { freePort } from './servers/mariadb.ts';
import { testKafka } from './helpers/servers.ts';

test('kafkajs produces, joins a group, seeks and commits on Kafka 4.1', async () => {
  const { brokers } = await testKafka();
  const kafka = new Kafka({ clientId: 'sluice-client-check', brokers, logLevel: logLevel.NOTHING });
  const topic = `client-check-${randomBytes(4).toString('hex')}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  for (const partition of [0, 1]) {
    await producer.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ partition, value: `p${partition}-m${i}` })) });
  }
  await producer.disconnect();

  const groupId = `client-check-${randomBytes(4).toString('hex')}`;
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const seen: string[] = [];
  let sought = false;
  const allSeen = new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        seen.push(`${partition}:${message.offset}:${message.value?.toString()}`);
        // Every partition is read from offset 3 on: the seek, not the group's start, decides.
        if (seen.length === 4) resolve();
      },
    });
  });
  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (sought) return;
    sought = true;
    for (const partition of [0, 1]) consumer.seek({ topic, partition, offset: '3' });
  });
  await allSeen;
  await consumer.commitOffsets([
    { topic, partition: 0, offset: '5' },
    { topic, partition: 1, offset: '5' },
  ]);
  await consumer.disconnect();
  assert.deepEqual(seen.sort(), ['0:3:p0-m3', '0:4:p0-m4', '1:3:p1-m3', '1:4:p1-m4']);
  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  assert.deepEqual(
    committed[0]!.partitions.map((p) => [p.partition, p.offset]).sort(),
    [
      [0, '5'],
      [1, '5'],
    ],
  );
  await admin.disconnect();
});

test("kafkajs's failures as isTransient reads them: a broker down is transient, whatever kafkajs says after its own retries", async () => {
  // kafkajs gives up with KafkaJSNumberOfRetriesExceeded (retriable: false), caused by the connection error.
  const down = new Kafka({ clientId: 'sluice-client-check', brokers: [`127.0.0.1:${await freePort()}`], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50 } }).admin();
  await assert.rejects(down.connect(), (error: unknown) => (error as Error).name === 'KafkaJSNumberOfRetriesExceeded' && isTransient(error));
});

test("Kafka 4.1 fences a member that lost its partitions: its offset commit is refused; a commit's metadata is read back", async () => {
  // What the scale-out in docs/kafka.md stands on. A member that stops heartbeating (here: stuck in
  // its message handler, as a paused process would be) is dropped from the group once its session
  // ends, and the partitions go to the other member; the old member's commit then names a member id
  // and generation the broker no longer has, and is refused, whatever partitions it names.
  const { brokers } = await testKafka();
  const kafka = new Kafka({ clientId: 'sluice-client-check', brokers, logLevel: logLevel.NOTHING });
  const topic = `client-fence-${randomBytes(4).toString('hex')}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [0, 1].flatMap((partition) => [{ partition, value: 'a' }, { partition, value: 'b' }]) });
  await producer.disconnect();

  const groupId = `client-fence-${randomBytes(4).toString('hex')}`;
  const settings = { groupId, sessionTimeout: 6000, rebalanceTimeout: 6000, heartbeatInterval: 1000 };
  const stale = kafka.consumer(settings);
  await stale.connect();
  await stale.subscribe({ topics: [topic], fromBeginning: true });
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const stuck = new Promise<void>((resolve) => {
    void stale.run({
      autoCommit: false,
      eachMessage: async () => {
        resolve();
        await released;
      },
    });
  });
  await stuck;

  const owner = kafka.consumer(settings);
  await owner.connect();
  await owner.subscribe({ topics: [topic], fromBeginning: true });
  const joined = new Promise<Record<string, number[]>>((resolve) => owner.on(owner.events.GROUP_JOIN, ({ payload }) => resolve(payload.memberAssignment)));
  void owner.run({ autoCommit: false, eachMessage: async () => undefined });
  assert.deepEqual((await joined)[topic]?.sort(), [0, 1], 'the member that stopped heartbeating lost both partitions');

  // kafkajs's retrier hands the refusal on as a KafkaJSNonRetriableError that keeps only the protocol
  // error's message (not its type): these are the messages of ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID
  // and REBALANCE_IN_PROGRESS (kafkajs/src/protocol/error.js).
  const fenced = ['Specified group generation id is not valid', 'The coordinator is not aware of this member', 'The group is rebalancing, so a rejoin is needed'];
  await assert.rejects(
    stale.commitOffsets([{ topic, partition: 0, offset: '2', metadata: 'stale' }]),
    (error: Error) => fenced.includes(error.message),
    "the old member's commit is refused as fenced",
  );

  await owner.commitOffsets([
    { topic, partition: 0, offset: '1', metadata: 'sluice:job1:7:/state/loader-1' },
    { topic, partition: 1, offset: '2', metadata: 'sluice:job1:7:/state/loader-1' },
  ]);
  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  assert.deepEqual(
    committed[0]!.partitions.map((p) => [p.partition, p.offset, p.metadata]).sort(),
    [
      [0, '1', 'sluice:job1:7:/state/loader-1'],
      [1, '2', 'sluice:job1:7:/state/loader-1'],
    ],
  );
  release();
  await Promise.all([stale.disconnect(), owner.disconnect(), admin.disconnect()]);
});

test("a commit sent with its assignment's generation is refused after a rejoin; kafkajs's own commit is accepted for the partition the member lost", async () => {
  // kafkajs rejoins by itself and commits with the generation it holds when the request leaves: after
  // a rebalance that took partition X away, its commit of X is accepted (the broker checks the
  // generation, not the assignment). FencedCommitter commits with the generation the assignment came
  // in, so the same commit is refused, and the member's new assignment commits its own partition.
  const { brokers } = await testKafka();
  const kafka = new Kafka({ clientId: 'sluice-client-check', brokers, logLevel: logLevel.NOTHING });
  const topic = `client-gen-${randomBytes(4).toString('hex')}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  const groupId = `client-gen-${randomBytes(4).toString('hex')}`;
  const settings = { groupId, sessionTimeout: 6000, rebalanceTimeout: 6000, heartbeatInterval: 500 };
  const waitFor = async <T>(what: string, probe: () => T | undefined): Promise<T> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const found = probe();
      if (found !== undefined) return found;
      assert.ok(Date.now() < deadline, `${what}: not reached`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  const first = kafka.consumer(settings);
  const membership = new GroupMembership(first);
  await first.connect();
  await first.subscribe({ topics: [topic] });
  void first.run({ autoCommit: false, eachMessage: async () => undefined });
  const alone = await waitFor('both partitions, generation known', () => {
    const current = membership.membership;
    return current?.assignment[topic]?.length === 2 && current.generationId !== undefined ? current : undefined;
  });

  const second = kafka.consumer(settings);
  await second.connect();
  await second.subscribe({ topics: [topic] });
  void second.run({ autoCommit: false, eachMessage: async () => undefined });
  const shared = await waitFor('one partition each, generation known', () => {
    const current = membership.membership;
    return current !== alone && current?.assignment[topic]?.length === 1 && current.generationId !== undefined ? current : undefined;
  });
  const lost = alone.assignment[topic]!.find((partition) => !shared.assignment[topic]!.includes(partition))!;
  const kept = shared.assignment[topic]![0]!;

  await first.commitOffsets([{ topic, partition: lost, offset: '7', metadata: 'kafkajs' }]);
  const afterKafkajs = await admin.fetchOffsets({ groupId, topics: [topic] });
  assert.deepEqual(
    afterKafkajs[0]!.partitions.filter((p) => p.partition === lost).map((p) => [p.offset, p.metadata]),
    [['7', 'kafkajs']],
    "kafkajs's commit of the partition the member lost was accepted: the danger FencedCommitter exists for",
  );

  const committer = new FencedCommitter(kafka, groupId);
  try {
    const offset = (partition: number, value: string) => ({ topic, partition, offset: value, metadata: `fenced-${value}` });
    assert.equal(await committer.commit(alone, [offset(lost, '9')]), 'fenced', 'the old assignment commits nothing: the broker refuses its generation');
    assert.equal(await committer.commit(alone, [offset(kept, '9')]), 'fenced', 'not even the partition it still owns, under the old generation');
    assert.equal(await committer.commit(shared, [offset(lost, '9')]), 'fenced', 'the new assignment does not hold the lost partition');
    assert.equal(await committer.commit(shared, [offset(kept, '3')]), 'committed');
    const after = await admin.fetchOffsets({ groupId, topics: [topic] });
    assert.deepEqual(
      after[0]!.partitions.map((p) => [p.partition, p.offset, p.metadata]).sort(),
      [
        [kept, '3', 'fenced-3'],
        [lost, '7', 'kafkajs'],
      ].sort(),
    );
  } finally {
    await committer.disconnect();
    await Promise.all([first.disconnect(), second.disconnect(), admin.disconnect()]);
  }
});
