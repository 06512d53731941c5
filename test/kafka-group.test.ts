// The Kafka loader and its consumer group. The checkpoint record holds the offsets; the group's
// committed offsets follow each record and name it in their metadata (`sluice:<jobId>:<record>:<state
// dir>`), so the group tells which record, and so which files, its offsets belong to: the hand-over
// the scale-out of docs/kafka.md builds on.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { CheckpointStore } from '../src/checkpoint/checkpoint-store.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { memberJobId, memberOfJob, ownedByMember } from '../src/sources/kafka/group-member.ts';
import { parseRecordReference } from '../src/sources/kafka/group-offset-metadata.ts';
import type { KafkaSourceState } from '../src/sources/kafka/kafka-position.ts';
import { killWhenRecordLands } from './helpers/crash-scenario.ts';
import { stopDaemon, until, type RunningDaemon } from './helpers/daemon.ts';
import { committedRows, connectProducer, createTopic, kafkaWorkspace, startKafkaDaemon, type KafkaWorkspace } from './helpers/kafka.ts';
import { bySequence } from './helpers/warehouse.ts';
import { REPO_ROOT, testKafka } from './helpers/servers.ts';

const newestRecord = (stateDir: string) => new CheckpointStore(stateDir).latest().catch(() => undefined);

/** Every file under `dir`, at any depth. */
async function filesUnder(fs: LocalFileSystem, dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await fs.list(dir)) files.push(...(entry.type === 'directory' ? await filesUnder(fs, entry.path) : [entry.path]));
  return files;
}

/** canal's fixture messages on two partitions of a new topic, and a loader's workspace (of `member`, if given) for it. */
async function canalTopicAndLoader(prefix: string, member?: string) {
  const { brokers } = await testKafka();
  const topic = await createTopic(brokers, prefix, 2);
  const producer = await connectProducer(brokers);
  const messages = readFileSync(join(REPO_ROOT, 'test/fixtures/kafka/canal-flat.jsonl'), 'utf8').trim().split('\n');
  await producer.send({ topic, messages: messages.map((value, index) => ({ partition: index % 2, value })) });
  await producer.disconnect();
  const workspace = kafkaWorkspace(brokers, `    - { name: ${topic}, format: canal-json }`, member ? { member } : {});
  const groupId = /groupId: (\S+)/.exec(readFileSync(workspace.configFile, 'utf8'))![1]!;
  return { brokers, topic, messages, workspace, groupId };
}

test("a group member's job id begins with its name; a single loader's names none", () => {
  assert.equal(memberOfJob(memberJobId('loader-1', 'mkk2l0x3a1b2c3')), 'loader-1');
  assert.equal(memberOfJob(memberJobId('a', 'mkk2l0x3a1b2c3')), 'a');
  assert.equal(memberOfJob('mkk2l0x3a1b2c3'), undefined);
  const owns = ownedByMember('loader');
  assert.deepEqual(['loader-x1', 'loader-1-x1', 'loader1-x1', 'x1'].map(owns), [true, false, false, false], 'loader-1 is not loader');
});

test("a loader's committed group offsets name the checkpoint record they belong to", async () => {
  const { brokers, topic, messages, workspace, groupId } = await canalTopicAndLoader('group-meta');
  const ends = { [`${topic}:0`]: String(Math.ceil(messages.length / 2)), [`${topic}:1`]: String(Math.floor(messages.length / 2)) };

  const admin = new Kafka({ clientId: 'sluice-test', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const daemon = startKafkaDaemon(workspace);
  try {
    const committed = await until('group offsets at the end of both partitions', daemon, async () => {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const partitions = offsets?.partitions ?? [];
      return partitions.every((p) => p.offset === ends[`${topic}:${p.partition}`]) && partitions.length === 2 ? partitions : undefined;
    });
    const references = committed.map((p) => parseRecordReference(p.metadata));
    assert.ok(references[0], `the metadata names a record: ${committed[0]!.metadata}`);
    assert.deepEqual(references[1], references[0], 'one commit, one record for all partitions');
    const { jobId, recordId, stateDir } = references[0];
    assert.equal(stateDir, workspace.stateDir);
    const record = await new CheckpointStore(stateDir).read(recordId);
    assert.equal(record.jobId, jobId);
    assert.deepEqual((record.sources.kafka as KafkaSourceState).position.offsets, ends, 'the named record holds the committed offsets');
  } finally {
    await stopDaemon(daemon);
    await admin.disconnect();
  }
});

test('a member of a group of loaders writes files under its own name and, starting again, deletes only its own staging', async () => {
  const { brokers, topic, messages, workspace, groupId } = await canalTopicAndLoader('group-member', 'loader-1');
  const admin = new Kafka({ clientId: 'sluice-test', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const fs = new LocalFileSystem(workspace.warehouse);
  let daemon = startKafkaDaemon(workspace);
  try {
    const metadata = await until('group offsets at the end of both partitions', daemon, async () => {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const partitions = offsets?.partitions ?? [];
      const total = partitions.reduce((sum, p) => sum + Number(p.offset), 0);
      return partitions.length === 2 && total === messages.length ? partitions[0]!.metadata : undefined;
    });
    const { jobId } = parseRecordReference(metadata)!;
    assert.equal(memberOfJob(jobId), 'loader-1', `the record's job id names the member: ${jobId}`);
    await stopDaemon(daemon);

    const tables = await new LocalCatalog(workspace.catalogDir).listTables();
    assert.ok(tables.length > 0);
    const written = (await Promise.all(tables.map((table) => filesUnder(fs, table.location)))).flat().map((path) => path.slice(path.lastIndexOf('/') + 1));
    assert.ok(written.length > 0);
    assert.deepEqual(written.filter((name) => memberOfJob(name.split('.')[1] ?? '') !== 'loader-1'), [], 'every file names loader-1');

    // Staging of a run of this member that died, and of another member still writing the same table.
    const staging = `${tables[0]!.location}/.data`;
    const ours = `${staging}/0.${memberJobId('loader-1', 'mkk2l0x3a1b2c3')}.9-0.parquet`;
    const theirs = `${staging}/0.${memberJobId('loader-2', 'mkk2l0x3a1b2c3')}.9-0.parquet`;
    for (const path of [ours, theirs]) {
      const file = await fs.create(path);
      await file.write('staged');
      await file.close();
    }
    daemon = startKafkaDaemon(workspace);
    await until('the restarted loader reading Kafka', daemon, () => daemon.output().includes('starting Kafka capture') || undefined);
    assert.equal(await fs.status(ours), undefined, "this member's uncommitted staging is deleted");
    assert.ok(await fs.status(theirs), "another member's staging is left alone");
  } finally {
    await stopDaemon(daemon);
    await admin.disconnect();
  }
});

const KEYED_MESSAGES = 1200;

/**
 * A group-mode loader on a new topic of two partitions, and a producer writing one INSERT per
 * message (key = id, partition = id mod 2) throughout, in batches of 20 every 100 ms.
 */
async function groupModeLoaderUnderLoad(prefix: string) {
  const { brokers } = await testKafka();
  const topic = await createTopic(brokers, prefix, 2);
  const workspace = kafkaWorkspace(brokers, `    - { name: ${topic}, format: canal-json }`, { member: 'loader-1', intervalSeconds: 0.2 });
  const groupId = /groupId: (\S+)/.exec(readFileSync(workspace.configFile, 'utf8'))![1]!;
  const message = (id: number) => ({
    partition: id % 2,
    value: JSON.stringify({ data: [{ id: String(id), tag: `m${id}` }], database: 'grp', table: 'items', es: 1764892800000 + id, isDdl: false, mysqlType: { id: 'bigint', tag: 'varchar(32)' }, old: null, type: 'INSERT' }),
  });
  const producer = await connectProducer(brokers);
  const producing = (async () => {
    for (let id = 0; id < KEYED_MESSAGES; id += 20) {
      await producer.send({ topic, messages: Array.from({ length: 20 }, (_, n) => message(id + n)) });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await producer.disconnect();
  })();
  const admin = new Kafka({ clientId: 'sluice-test', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const groupOffsets = async () => (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions ?? [];
  /** After the producer: until the group's offsets stand at the end of both partitions. */
  const caughtUp = async (daemon: RunningDaemon) => {
    await producing;
    await until('group offsets at the end of both partitions', daemon, async () => (await groupOffsets()).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0) === KEYED_MESSAGES || undefined, 120_000);
  };
  return { topic, workspace, groupOffsets, caughtUp, admin };
}

/** Every message in Hive once, each partition in its order, no `_seq` twice; the committed files' paths. */
async function expectEveryMessageOnce(workspace: KafkaWorkspace, topic: string): Promise<string[]> {
  const rows = bySequence(await committedRows(workspace, 'grp', 'items'));
  assert.equal(new Set(rows.map((row) => String(row._seq))).size, rows.length, 'no sequence number twice');
  assert.deepEqual(rows.map((row) => Number(row.id)).sort((a, b) => a - b), Array.from({ length: KEYED_MESSAGES }, (_, id) => id), 'every message exactly once');
  for (const partition of [0, 1]) {
    const ids = rows.filter((row) => String(row._position).startsWith(`${topic}-${partition}:`)).map((row) => Number(row.id));
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), `partition ${partition} in its order`);
  }
  const table = (await new LocalCatalog(workspace.catalogDir).getTable('grp', 'items'))!;
  return (await filesUnder(new LocalFileSystem(workspace.warehouse), table.location)).filter((path) => !path.includes('/.data/'));
}

test("in group mode a record counts only once the group's offsets name it: one killed before its group commit is never renamed, and its messages are read again", async () => {
  const { topic, workspace, groupOffsets, caughtUp, admin } = await groupModeLoaderUnderLoad('group-commit');
  const discarded: string[] = [];
  let daemon: RunningDaemon = startKafkaDaemon(workspace);
  try {
    // Killed the instant a record lands: before its group commit, most of the time; the group's
    // offsets tell whether the record counts.
    for (let kill = 0; kill < 6 && discarded.length < 2; kill++) {
      await until('a first checkpoint of this run', daemon, () => (daemon.output().includes('reading Kafka partitions') ? newestRecord(workspace.stateDir) : undefined));
      assert.ok(await killWhenRecordLands(workspace, daemon, 60_000), `no checkpoint landed:\n${daemon.output().slice(-3000)}`);
      await daemon.exited;
      const newest = (await newestRecord(workspace.stateDir))!;
      const named = (await groupOffsets()).some((p) => {
        const reference = parseRecordReference(p.metadata);
        return reference?.jobId === newest.jobId && reference.recordId === newest.id;
      });
      if (!named) discarded.push(`.${newest.jobId}.${newest.id}-`);
      daemon = startKafkaDaemon(workspace);
    }
    assert.ok(discarded.length > 0, 'at least one kill came between a record and its group commit');
    await caughtUp(daemon);
  } finally {
    await stopDaemon(daemon);
    await admin.disconnect();
  }
  const names = await expectEveryMessageOnce(workspace, topic);
  for (const never of discarded) assert.deepEqual(names.filter((name) => name.includes(never)), [], `no file of the uncommitted checkpoint (${never}) was renamed into place`);
});

test('a group-mode loader stopped (SIGSTOP) past its session and woken: its group membership ended meanwhile, and every message is still in Hive once', async (t) => {
  const { topic, workspace, caughtUp, admin } = await groupModeLoaderUnderLoad('group-stop');
  const daemon = startKafkaDaemon(workspace);
  try {
    await until('a first checkpoint', daemon, () => (daemon.output().includes('reading Kafka partitions') ? newestRecord(workspace.stateDir) : undefined));
    daemon.child.kill('SIGSTOP');
    // Past the session (6 s): the broker removes the member; its next group commit is refused, or it
    // rejoins first and commits as the new member.
    await new Promise((resolve) => setTimeout(resolve, 9000));
    daemon.child.kill('SIGCONT');
    await caughtUp(daemon);
    const output = daemon.output();
    t.diagnostic(
      output.includes('refused checkpoint')
        ? 'the group commit was refused (fenced); the job started again'
        : output.includes('sent this member no heartbeat')
          ? 'no heartbeat of the new generation in time; the job started again'
          : 'the loader rejoined before its next group commit',
    );
  } finally {
    await stopDaemon(daemon);
    await admin.disconnect();
  }
  await expectEveryMessageOnce(workspace, topic);
});
