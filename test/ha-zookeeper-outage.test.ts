// ZooKeeper goes away under an active daemon (ha.zookeeper, docs/ha.md): the daemon cannot prove that
// it still leads, so it makes no checkpoint and no commit while ZooKeeper is down; when ZooKeeper is
// back (within the session timeout, so its session and leadership stand) it resumes from its last
// record, and the table ends holding every change once. The ZooKeeper is this test's own, on a fixed
// port, so that stopping it touches no other test.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertSameStream } from './helpers/crash-scenario.ts';
import { gtidBinlogPos, latestCheckpoint, metricsPort, startDaemon, stopDaemon, until, waitForCheckpoint } from './helpers/daemon.ts';
import { haPair, isActive } from './helpers/ha-pair.ts';
import { REPO_ROOT, testHdfs } from './helpers/servers.ts';
import { startZooKeeper } from './servers/jvm.ts';

const SESSION_MS = 10_000;
const OUTAGE_MS = 5_000;

test('ZooKeeper stopped under the active daemon: no commit while it is down, the daemon resumes when it is back, every change once', { timeout: 10 * 60_000 }, async (t) => {
  const dir = join(REPO_ROOT, '.sluice', 'test-zookeeper-outage');
  let zookeeper = await startZooKeeper({ dir });
  const pair = await haPair({ hdfs: await testHdfs(), zookeeper: zookeeper.connect, sessionTimeoutMs: SESSION_MS });
  try {
    const workspace = pair.host();
    const daemon = startDaemon(workspace, pair.server);
    await until('the daemon is active', daemon, () => isActive(daemon));
    await metricsPort(daemon);
    await waitForCheckpoint(workspace, await gtidBinlogPos(pair.server), 60_000, daemon);

    await zookeeper.stop();
    // A check answered just before the stop may still put its record in place: settle, then watch.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const frozen = (await latestCheckpoint(workspace))!.id;
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS - 1000));
    assert.equal((await latestCheckpoint(workspace))!.id, frozen, `no record while ZooKeeper is down:\n${daemon.output().slice(-3000)}`);
    assert.match(daemon.output(), /lost the connection to ZooKeeper: no checkpoint or commit until it answers again/, 'the daemon says why it does not commit');
    zookeeper = await startZooKeeper({ dir, port: zookeeper.port });

    const resumed = await waitForCheckpoint(workspace, await gtidBinlogPos(pair.server), 120_000, daemon);
    assert.ok(resumed.id > frozen, `records go on after ZooKeeper is back (${frozen} -> ${resumed.id})`);
    await pair.stopWriting();
    const last = await waitForCheckpoint(workspace, await gtidBinlogPos(pair.server), 120_000, daemon);
    const exit = await stopDaemon(daemon);
    assert.equal(exit.code, 0, daemon.output().slice(-3000));
    assertSameStream(await pair.rows(), pair.generator.log);
    t.diagnostic(`${pair.generator.log.length} changes, each once; records stood at ${frozen} while ZooKeeper was down, went on to ${last.id}`);
  } finally {
    await pair.close();
    await zookeeper.stop();
  }
});
