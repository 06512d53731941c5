// The fencing of the standby (ha.zookeeper, docs/ha.md) against a real HDFS and ZooKeeper: the active
// daemon is paused (SIGSTOP) past its ZooKeeper session timeout, the standby takes over in a newer
// epoch and commits; then the old one is woken (SIGCONT), still holding whatever it had in hand. It
// must stand down without a record or a commit of its own, and the table must end holding every
// change of the workload exactly once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertSameStream } from './helpers/crash-scenario.ts';
import { exitWithin, fatalLine, gtidBinlogPos, latestCheckpoint, stopDaemon, until, waitForCheckpoint } from './helpers/daemon.ts';
import { haPair, isActive } from './helpers/ha-pair.ts';
import { testHdfs, testZooKeeper } from './helpers/servers.ts';

const SESSION_MS = 3000;

test('the active daemon paused past its session: the standby takes over and commits, the woken one stands down without committing', { timeout: 10 * 60_000 }, async (t) => {
  const zookeeper = await testZooKeeper();
  const pair = await haPair({ hdfs: await testHdfs(), zookeeper: zookeeper.connect, sessionTimeoutMs: SESSION_MS });
  try {
    const { first, a, second, b } = await pair.startActiveAndStandby();
    await new Promise((resolve) => setTimeout(resolve, 1000));

    a.child.kill('SIGSTOP');
    const lastOfA = await latestCheckpoint(first);
    assert.ok(lastOfA, 'A wrote a record before its pause');
    try {
      await until('B takes over', b, () => isActive(b), 60_000);
      // B commits on its own: a record beyond A's, covering changes made after the pause.
      const ofB = await waitForCheckpoint(second, await gtidBinlogPos(pair.server), 60_000, b);
      assert.ok(ofB.id > lastOfA.id, `B wrote record ${ofB.id} after A's ${lastOfA.id}`);
    } finally {
      a.child.kill('SIGCONT');
    }
    const woken = a.output().length;
    const code = await exitWithin(a, 60_000, 'the old leader should stand down once woken');
    assert.equal(code, 1, a.output().slice(-3000));
    const fatal = fatalLine(a);
    assert.ok(['SLUICE_HA_FENCED', 'SLUICE_HA_ZOOKEEPER_LOST', 'SLUICE_STATE_LOCK_LOST'].includes(fatal.code), `A stood down with ${fatal.code}: ${fatal.msg}`);
    const afterWake = a.output().slice(woken);
    assert.doesNotMatch(afterWake, /"msg":"checkpoint committed"|"msg":"stopped after a final checkpoint"/, `A committed nothing once woken:\n${afterWake.slice(0, 3000)}`);

    await new Promise((resolve) => setTimeout(resolve, 1000));
    await pair.stopWriting();
    const lastOfB = await waitForCheckpoint(second, await gtidBinlogPos(pair.server), 120_000, b);
    const exit = await stopDaemon(b);
    assert.equal(exit.code, 0, b.output().slice(-2000));
    assertSameStream(await pair.rows(), pair.generator.log);
    t.diagnostic(`${pair.generator.log.length} changes, each once; A paused after record ${lastOfA.id} and stood down with ${fatal.code}; B reached ${lastOfB.id}`);
  } finally {
    await pair.close();
  }
});
