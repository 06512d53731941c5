// Compaction under SIGKILL: the real daemon streams a random workload into OLD partitions (the source
// session sets TIMESTAMP to days ago, which stamps the binlog events, so the rows land in closed
// partitions) while a schedule that fires every second compacts them after checkpoints. The daemon is
// killed at random moments and the instant a compaction record lands; after a final clean run the
// table must hold exactly the source's change stream, and the closed partitions fewer files.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, watch } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { upgradeRecord, type StoredRecord } from '../src/checkpoint/checkpoint-record.ts';
import { binlogHiveRecord, type BinlogHiveRecord as CheckpointRecord } from '../src/pipeline/binlog-to-hive-record.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { ChangeGenerator, prng } from './helpers/change-generator.ts';
import { assertSameStream } from './helpers/crash-scenario.ts';
import type { DaemonWorkspace } from './helpers/daemon.ts';
import { cleanRun, killOnce, shardedOrders } from './helpers/intent-crash.ts';
import { bySequence, readCommittedRows } from './helpers/warehouse.ts';

const KILLS = Number(process.env.SLUICE_COMPACTION_KILLS ?? 8);
const SEED = Number(process.env.SLUICE_CRASH_SEED ?? Date.now() % 1_000_000);
const MIN_FILES = 3;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const DAY_SECONDS = 86_400;

test(`compaction under ${KILLS} SIGKILLs keeps exactly the source's change stream (seed ${SEED})`, { timeout: 5 * 60_000 }, async () => {
  const started = Date.now();
  const tag = `k${SEED}`;
  const sharded = await shardedOrders(tag, `  compaction:\n    schedule: '* * * * * *'\n    minFiles: ${MIN_FILES}\n`);
  const { connection, tables, workspace } = sharded;
  const table = join(workspace.warehouse, `ods_${tag}.db`, 'orders');

  // Two closed days (3 and 4 days ago) and today, which stays open.
  const now = Math.floor(Date.now() / 1000);
  const closedDays = [now - 3 * DAY_SECONDS, now - 4 * DAY_SECONDS];
  const closedPartitions = closedDays.map((seconds) => `dt=${new Date(seconds * 1000).toISOString().slice(0, 10)}`);
  const openPartition = `dt=${new Date(now * 1000).toISOString().slice(0, 10)}`;
  const generator = new ChangeGenerator(connection, tables, SEED);
  const random = prng(SEED + 1);
  let generating = true;
  let transactions = 0;
  const generation = (async () => {
    while (generating) {
      const pick = random();
      if (pick < 0.8) await connection.query('SET TIMESTAMP = ?', [closedDays[pick < 0.4 ? 0 : 1]]);
      else await connection.query('SET TIMESTAMP = DEFAULT');
      await generator.randomTransaction();
      transactions++;
      await sleep(5);
    }
  })();

  // Every file a checkpoint commits, read from each record as it lands (records are pruned later).
  mkdirSync(workspace.stateDir, { recursive: true });
  const committed = new Map<string, Set<string>>();
  const recordWatcher = watch(workspace.stateDir, (_event, name) => {
    if (!name || !/^checkpoint-\d+\.json$/.test(String(name))) return;
    let record: CheckpointRecord;
    try {
      record = binlogHiveRecord(upgradeRecord(JSON.parse(readFileSync(join(workspace.stateDir, String(name)), 'utf8')) as StoredRecord));
    } catch {
      return; // pruned already
    }
    for (const commit of record.commits) {
      if (commit.kind !== 'rename') continue;
      const [partition, file] = commit.to.split('/').slice(-2) as [string, string];
      if (!committed.has(partition)) committed.set(partition, new Set());
      committed.get(partition)!.add(file);
    }
  });

  let killsAtCompactionRecord = 0;
  let interruptedCompactions = 0;
  let sampleLine: string | undefined;
  try {
    for (let kill = 0; kill < KILLS; kill++) {
      // Three kills in four land the instant a compaction record appears: between the record and the
      // end of its renames and deletes. A record left behind: the kill interrupted a recorded merge,
      // which the next start completes.
      const killed = await killOnce(sharded, {
        record: /^compaction-.+\.json$/,
        atRecord: kill % 4 !== 0,
        timeoutMs: 6000,
        otherwiseMs: 500 + random() * 2500,
        onOutput: (chunk) => (sampleLine ??= chunk.split('\n').find((line) => line.includes('"msg":"partition compacted"'))),
      });
      if (killed.atRecord) killsAtCompactionRecord++;
      if (killed.recordLeft) interruptedCompactions++;
    }
    generating = false;
    await generation;

    // A clean run: catch up, let compaction finish its work on the closed partitions, stop.
    await cleanRun(sharded, (last) =>
      waitFor(() => closedPartitions.every((partition) => uncompacted(table, partition, workspace).length < MIN_FILES), 15_000, () =>
        `closed partitions still hold small files: ${JSON.stringify(closedPartitions.map((p) => uncompacted(table, p, workspace)))}\n${last.output().slice(-3000)}`,
      ),
    );
  } finally {
    generating = false;
    recordWatcher.close();
    await generation.catch(() => undefined);
    await connection.end();
  }

  const rows = bySequence(
    await readCommittedRows(new LocalCatalog(workspace.catalogDir), new LocalFileSystem(workspace.warehouse), `ods_${tag}`, 'orders'),
  );
  assertSameStream(rows, generator.log);
  const byPartition = new Map<string, number>();
  for (const row of rows) byPartition.set(`dt=${String(row.dt)}`, (byPartition.get(`dt=${String(row.dt)}`) ?? 0) + 1);

  const figures: string[] = [];
  for (const partition of closedPartitions) {
    const files = visibleFiles(table, partition);
    const sinkFiles = new Set([...(committed.get(partition) ?? []), ...files.filter((name) => !name.startsWith('c.'))]);
    figures.push(`${partition}: ${byPartition.get(partition) ?? 0} rows, ${sinkFiles.size}+ files committed -> ${files.length} files`);
    assert.ok(files.some((name) => name.startsWith('c.')), `${partition} holds merged files`);
    assert.ok(files.length < sinkFiles.size, `${partition} ends with fewer files (${files.length}) than were committed into it (${sinkFiles.size})`);
  }
  const open = visibleFiles(table, openPartition);
  assert.ok(open.length > 0 && open.every((name) => !name.startsWith('c.')), `the open partition ${openPartition} is never compacted`);
  assert.deepEqual(readdirSync(workspace.stateDir).filter((name) => name.startsWith('compaction-')), [], 'no compaction record is left');
  console.log(
    `compaction crash test: ${KILLS} kills (${killsAtCompactionRecord} the instant a compaction record landed, ` +
      `${interruptedCompactions} left a compaction record for recovery), ${transactions} transactions, ` +
      `${rows.length} rows; ${figures.join('; ')}; open ${openPartition}: ${open.length} files; ${Math.round((Date.now() - started) / 1000)} s\n` +
      `a compaction log line: ${sampleLine}`,
  );
  assert.ok(killsAtCompactionRecord >= 1, 'at least one kill landed the instant a compaction record appeared');
  assert.ok(interruptedCompactions >= 1, 'at least one kill interrupted a recorded compaction, which recovery then completed');
});

function visibleFiles(table: string, partition: string): string[] {
  let names: string[];
  try {
    names = readdirSync(join(table, partition));
  } catch {
    return [];
  }
  return names.filter((name) => !name.startsWith('.') && !name.startsWith('_')).sort();
}

/** Sink files in a partition that no kept checkpoint record names: what compaction still has to merge. */
function uncompacted(table: string, partition: string, workspace: DaemonWorkspace): string[] {
  const named = new Set<string>();
  for (const name of readdirSync(workspace.stateDir).filter((entry) => /^checkpoint-\d+\.json$/.test(entry))) {
    try {
      const record = binlogHiveRecord(upgradeRecord(JSON.parse(readFileSync(join(workspace.stateDir, name), 'utf8')) as StoredRecord));
      for (const commit of record.commits) if (commit.kind === 'rename') named.add(commit.to.slice(commit.to.lastIndexOf('/') + 1));
    } catch {
      // pruned meanwhile
    }
  }
  return visibleFiles(table, partition).filter((name) => !name.startsWith('c.') && !named.has(name));
}

async function waitFor(condition: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(describe());
    await sleep(100);
  }
}
