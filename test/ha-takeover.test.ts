// The standby (ha.zookeeper, docs/ha.md) against a real HDFS and ZooKeeper: two daemons on one
// config, one active and one standing by. SIGKILL the active one right after a checkpoint record
// lands (its commits still pending): the standby takes over once the dead daemon's ZooKeeper session
// ends, resumes from that record on HDFS in a newer epoch, and the table ends holding every change
// of the workload exactly once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertSameStream, killWhenRecordLands } from './helpers/crash-scenario.ts';
import { gtidBinlogPos, latestCheckpoint, metricsPort, stopDaemon, until, waitForCheckpoint } from './helpers/daemon.ts';
import { haPair, isActive } from './helpers/ha-pair.ts';
import { testHdfs, testZooKeeper } from './helpers/servers.ts';

const SESSION_MS = 4000;

async function statusOf(port: number): Promise<{ ha?: unknown }> {
  return (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { ha?: unknown };
}

test('two daemons on one config: SIGKILL the active one mid-workload, the standby takes over, every change once', { timeout: 10 * 60_000 }, async (t) => {
  const zookeeper = await testZooKeeper();
  const pair = await haPair({ hdfs: await testHdfs(), zookeeper: zookeeper.connect, sessionTimeoutMs: SESSION_MS });
  try {
    const { first, a, second, b } = await pair.startActiveAndStandby();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.doesNotMatch(b.output(), /"msg":"active/, 'B stands by while A lives');
    // The standby answers /ready and /status while it waits; the active one says it is active.
    const bPort = await metricsPort(b);
    const ready = await fetch(`http://127.0.0.1:${bPort}/ready`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), /standby: another daemon is active/);
    assert.deepEqual((await statusOf(bPort)).ha, { role: 'standby' });
    assert.deepEqual((await statusOf(await metricsPort(a))).ha, { role: 'active', epoch: 1 });

    assert.ok(await killWhenRecordLands(first, a, 30_000), `a record landed while A ran:\n${a.output().slice(-2000)}`);
    await a.exited;
    const lastOfA = await latestCheckpoint(first);
    assert.ok(lastOfA, 'A left a record on HDFS');
    await until('B takes over', b, () => isActive(b), 60_000);
    assert.match(b.output(), /"epoch":2,[^\n]*"msg":"active/, 'B leads in the epoch after A');
    assert.deepEqual((await statusOf(bPort)).ha, { role: 'active', epoch: 2 });
    const metrics = await (await fetch(`http://127.0.0.1:${bPort}/metrics`)).text();
    assert.match(metrics, /^sluice_ha_takeovers_total 1$/m);
    assert.match(metrics, /^sluice_ha_active 1$/m);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await pair.stopWriting();
    const lastOfB = await waitForCheckpoint(second, await gtidBinlogPos(pair.server), 120_000, b);
    const exit = await stopDaemon(b);
    assert.equal(exit.code, 0, b.output().slice(-2000));
    assert.ok(lastOfB.id > lastOfA.id, `B went on from A's record ${lastOfA.id} (now ${lastOfB.id})`);
    assert.match(b.output(), new RegExp(`"checkpoint":${lastOfA.id},[^\\n]*recovered: commits of the newest checkpoint are in place`), b.output().slice(0, 4000));

    assertSameStream(await pair.rows(), pair.generator.log);
    t.diagnostic(`${pair.generator.log.length} changes, each once; A's last record ${lastOfA.id} (${lastOfA.commits.length} pending commits), B reached ${lastOfB.id}`);
  } finally {
    await pair.close();
  }
});
