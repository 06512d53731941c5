// Kafka -> Hive across kill -9: a producer writes canal flat messages (one to three rows each) into a
// topic of three partitions while the loader is killed with SIGKILL at random moments (and once the
// instant a checkpoint record lands, before its commit) and started again. At the end every row of
// every message is in Hive exactly once, in partition order: the offsets live in the checkpoint
// record, never in the consumer group.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { prng } from './helpers/change-generator.ts';
import { killWhenRecordLands } from './helpers/crash-scenario.ts';
import { stopDaemon, until, type RunningDaemon } from './helpers/daemon.ts';
import { committedRows, connectProducer, createTopic, kafkaWorkspace, startKafkaDaemon, waitForOffsets } from './helpers/kafka.ts';
import { testKafka } from './helpers/servers.ts';
import { KeyedCanalWorkload } from './helpers/kafka-workload.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const PARTITIONS = 3;
const MESSAGES = 3000;
const KILLS = 6;

test('every message is in Hive exactly once across SIGKILLs at random moments', async () => {
  const { brokers } = await testKafka();
  const random = prng(Number(process.env.SLUICE_CRASH_SEED ?? 20261205));
  const topic = await createTopic(brokers, 'crash', PARTITIONS);
  const workspace = kafkaWorkspace(brokers, `    - { name: ${topic}, format: canal-json }`, { routing: "  rules:\n    - { match: '^shop\\.(.*)$', target: 'ods.$1' }", intervalSeconds: 0.3 });

  // The producer: each key stays in one partition (id mod 3), so its changes keep their order.
  const workload = new KeyedCanalWorkload(PARTITIONS, random);
  const message = (index: number) => workload.message(index);

  const producer = await connectProducer(brokers);
  let producedAll = false;
  const producing = (async () => {
    for (let index = 0; index < MESSAGES; ) {
      const batch: { partition: number; value: string }[] = [];
      for (let n = 0; n < 10 && index < MESSAGES; n++) batch.push(message(index++));
      await producer.send({ topic, messages: batch });
      await sleep(120);
    }
    producedAll = true;
  })();

  let daemon: RunningDaemon = startKafkaDaemon(workspace);
  try {
    for (let kill = 0; kill < KILLS; kill++) {
      if (kill === 2) {
        // The instant a record is renamed into place, before any of its commits ran.
        assert.ok(await killWhenRecordLands(workspace, daemon, 60_000), `no checkpoint landed:\n${daemon.output().slice(-3000)}`);
      } else {
        // Once it reads (its start takes a while), at a random moment of the stream.
        await until('reading Kafka', daemon, () => daemon.output().includes('reading Kafka partitions from the checkpoint') || undefined);
        await sleep(random() * 1500);
        daemon.child.kill('SIGKILL');
      }
      const exit = await daemon.exited;
      assert.equal(exit.signal, 'SIGKILL', `the daemon should have been killed, not exited by itself:\n${daemon.output().slice(-3000)}`);
      daemon = startKafkaDaemon(workspace);
    }
    assert.ok(!producedAll, 'the kills came while the producer was still writing');
    await producing;
    await producer.disconnect();
    const admin = new Kafka({ clientId: 'sluice-test', brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const ends = Object.fromEntries((await admin.fetchTopicOffsets(topic)).map(({ partition, high }) => [`${topic}:${partition}`, Number(high)]));
    await admin.disconnect();
    await waitForOffsets(workspace, daemon, ends, 120_000);
  } finally {
    await stopDaemon(daemon);
  }

  workload.assertLoaded(await committedRows(workspace, 'ods', 'items'), topic);
});
