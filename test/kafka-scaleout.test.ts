// The scale-out of docs/kafka.md: three loaders in one consumer group (group mode) load one topic of
// six partitions into one warehouse while a producer writes keyed inserts, updates and deletes. One
// loader is killed (SIGKILL) the instant one of its checkpoint records lands, and Kafka hands its
// partitions to the others, which carry out the commits of the record their group offsets name
// before reading on; another is stopped (SIGSTOP) past its session and woken; the killed one comes
// back. At the end every change is in Hive exactly once, each partition in its order (so each key),
// and every file has one writer.
//
// A kill between a loader's group commit and its renames is the case the hand-over exists for, and
// no timing from outside hits that window of a millisecond: so once the killed loader is gone, the
// test puts the files of the records its committed offsets name back into staging, which is exactly
// what such a kill leaves on disk. Its partitions' next owners must rename them, or rows are missing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { HiveCommits } from '../src/sinks/hive-commits.ts';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { CheckpointStore } from '../src/checkpoint/checkpoint-store.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { memberOfJob } from '../src/sources/kafka/group-member.ts';
import { parseRecordReference } from '../src/sources/kafka/group-offset-metadata.ts';
import { prng } from './helpers/change-generator.ts';
import { killWhenRecordLands } from './helpers/crash-scenario.ts';
import { stopDaemon, until, type RunningDaemon } from './helpers/daemon.ts';
import { committedRows, connectProducer, createTopic, kafkaLoaderGroup, startKafkaDaemon } from './helpers/kafka.ts';
import { KeyedCanalWorkload } from './helpers/kafka-workload.ts';
import { testKafka } from './helpers/servers.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const PARTITIONS = 6;
const MESSAGES = 3000;
const MEMBERS = ['loader-1', 'loader-2', 'loader-3'];

/** Every file under `dir`, at any depth. */
async function filesUnder(fs: LocalFileSystem, dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await fs.list(dir)) files.push(...(entry.type === 'directory' ? await filesUnder(fs, entry.path) : [entry.path]));
  return files;
}

/**
 * Puts the renamed files of every record of `member` that a committed group offset names back where
 * they were staged, as a kill between its group commit and its renames leaves them. Returns how many.
 */
async function undoRenamesOfNamedRecords(offsets: { metadata: string | null }[], member: string, fs: LocalFileSystem): Promise<number> {
  let undone = 0;
  const references = new Map(offsets.map((p) => parseRecordReference(p.metadata)).filter((reference) => reference && memberOfJob(reference.jobId) === member).map((reference) => [`${reference!.stateDir}#${reference!.recordId}`, reference!]));
  for (const reference of references.values()) {
    const record = await new CheckpointStore(reference.stateDir).read(reference.recordId);
    for (const commit of (record.sinks.hive as HiveCommits).commits) {
      if (commit.kind !== 'rename' || !(await fs.status(commit.to))) continue;
      await fs.rename(commit.to, commit.from);
      undone++;
    }
  }
  return undone;
}

/** The log lines of a loader taking partitions over from a record of `member`. */
const takeOvers = (daemon: RunningDaemon, member: string) =>
  daemon
    .output()
    .split('\n')
    .filter((line) => line.includes('took the partitions over') && line.includes(`"jobId":"${member}-`));

test('three loaders in one consumer group share six partitions; one killed (SIGKILL) and one paused past its session hand theirs over, and every change is in Hive exactly once, in order', async (t) => {
  const { brokers } = await testKafka();
  const topic = await createTopic(brokers, 'scale', PARTITIONS);
  const loaders = kafkaLoaderGroup(brokers, `    - { name: ${topic}, format: canal-json }`, MEMBERS, { routing: "  rules:\n    - { match: '^shop\\.(.*)$', target: 'ods.$1' }", intervalSeconds: 0.3 });
  const groupId = /groupId: (\S+)/.exec(readFileSync(loaders[0]!.configFile, 'utf8'))![1]!;
  const workload = new KeyedCanalWorkload(PARTITIONS, prng(Number(process.env.SLUICE_CRASH_SEED ?? 20261206)));

  const producer = await connectProducer(brokers);
  let producedAll = false;
  const producing = (async () => {
    for (let index = 0; index < MESSAGES; ) {
      const batch: { partition: number; value: string }[] = [];
      for (let n = 0; n < 12 && index < MESSAGES; n++) batch.push(workload.message(index++));
      await producer.send({ topic, messages: batch });
      await sleep(100);
    }
    producedAll = true;
    await producer.disconnect();
  })();
  const admin = new Kafka({ clientId: 'sluice-test', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const committed = async () => (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions ?? [];
  const membersNamed = async () => new Set((await committed()).map((p) => memberOfJob(parseRecordReference(p.metadata)?.jobId ?? '')));

  const daemons: RunningDaemon[] = loaders.map((loader) => startKafkaDaemon(loader));
  try {
    // Each loader reads its share and commits checkpoints of its own.
    for (const [index, loader] of loaders.entries()) {
      await until(`${MEMBERS[index]} checkpoints`, daemons[index]!, () => new CheckpointStore(loader.stateDir).latest().catch(() => undefined), 60_000);
    }
    await until('every loader named by some committed group offset', daemons[0]!, async () => (await membersNamed()).size === MEMBERS.length || undefined, 60_000);

    // loader-2 killed the instant a record of its lands (its group commit may not have been made).
    assert.ok(await killWhenRecordLands(loaders[1]!, daemons[1]!, 60_000), `no checkpoint of loader-2 landed:\n${daemons[1]!.output().slice(-3000)}`);
    assert.equal((await daemons[1]!.exited).signal, 'SIGKILL');
    assert.ok(!producedAll, 'the kill came while the producer was still writing');
    // Within its session (6 s) no other loader reads its partitions yet.
    const undone = await undoRenamesOfNamedRecords(await committed(), 'loader-2', new LocalFileSystem(loaders[1]!.warehouse));
    assert.ok(undone > 0, "the committed offsets name a record of loader-2 with files");
    // Once its session ends, the group gives its partitions to the others, which commit them as theirs.
    const survivors = [daemons[0]!, daemons[2]!];
    await until('no committed group offset names loader-2 any more', daemons[0]!, async () => !(await membersNamed()).has('loader-2') || undefined, 60_000);
    assert.ok(
      survivors.some((daemon) => takeOvers(daemon, 'loader-2').length > 0),
      `a survivor carried out the commits of loader-2's record before reading its partitions:\n${survivors.map((daemon) => daemon.output().slice(-2000)).join('\n')}`,
    );

    // loader-3 stopped past its session (6 s): loader-1 reads everything meanwhile; woken, loader-3's
    // next group commit is refused, or it rejoins first, and reads what it is given then.
    daemons[2]!.child.kill('SIGSTOP');
    await sleep(9000);
    daemons[2]!.child.kill('SIGCONT');
    // loader-2 comes back and joins again: the partitions spread over three loaders once more.
    daemons[1] = startKafkaDaemon(loaders[1]!);

    await producing;
    const ends = Object.fromEntries((await admin.fetchTopicOffsets(topic)).map(({ partition, high }) => [partition, high]));
    await until(
      'the group committed to the end of every partition',
      daemons[0]!,
      async () => {
        const offsets = await committed();
        return (offsets.length === PARTITIONS && offsets.every((p) => p.offset === ends[p.partition])) || undefined;
      },
      120_000,
    );
    t.diagnostic(
      daemons[2]!.output().includes('refused checkpoint')
        ? 'loader-3 woke and its group commit was refused (fenced)'
        : daemons[2]!.output().includes('the consumer group rebalanced')
          ? 'loader-3 woke into a rebalance and read its new assignment'
          : 'loader-3 woke and rejoined before its next group commit',
    );
  } finally {
    for (const daemon of daemons) if (daemon.child.exitCode === null && daemon.child.signalCode === null) await stopDaemon(daemon);
    await admin.disconnect();
  }

  workload.assertLoaded(await committedRows(loaders[0]!, 'ods', 'items'), topic, 'partition');
  // Every committed file has one writer, named in it, and each loader wrote some.
  const table = (await new LocalCatalog(loaders[0]!.catalogDir).getTable('ods', 'items'))!;
  const names = (await filesUnder(new LocalFileSystem(loaders[0]!.warehouse), table.location)).filter((path) => !path.includes('/.data/')).map((path) => path.slice(path.lastIndexOf('/') + 1));
  assert.equal(new Set(names).size, names.length, 'no file name twice');
  assert.deepEqual([...new Set(names.map((name) => memberOfJob(name.split('.')[1] ?? '')))].sort(), MEMBERS, 'every file names its loader, and each loader wrote some');
});
