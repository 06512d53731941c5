// The batch copy's checkpoint barrier on its own: channels stop between pages for a checkpoint, and a
// channel's failure lets everyone waiting go, so a failed copy ends (and is retried) instead of hanging.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChannelBarrier } from '../src/sync/barrier.ts';

/** 'settled' when the promise settles within a few event-loop turns, else 'waiting'. */
async function state(promise: Promise<unknown>): Promise<'settled' | 'waiting'> {
  return Promise.race([promise.then(() => 'settled' as const), sleep(20).then(() => 'waiting' as const)]);
}

test('a checkpoint waits until every running channel has arrived, and the channels wait until it is taken', async () => {
  const barrier = new ChannelBarrier(2);
  const gathered = barrier.request();
  assert.equal(barrier.requested, true);
  const first = barrier.arrive();
  assert.equal(await state(gathered), 'waiting');
  const second = barrier.arrive();
  assert.equal(await state(gathered), 'settled');
  assert.equal(await state(first), 'waiting');
  barrier.open();
  assert.equal(await state(Promise.all([first, second])), 'settled');
  assert.equal(barrier.requested, false);
});

test('a channel that finishes no longer holds a checkpoint up', async () => {
  const barrier = new ChannelBarrier(2);
  const gathered = barrier.request();
  void barrier.arrive();
  barrier.leave();
  assert.equal(await state(gathered), 'settled');
});

test('a channel that fails before it arrives lets an asked-for checkpoint go, and nothing waits after that', async () => {
  // The copy that hung: a checkpoint was asked for, one channel was still writing, and the other
  // failed (a deadlock) before it arrived; the failure opened the barrier and dropped the request.
  const barrier = new ChannelBarrier(2);
  const gathered = barrier.request();
  barrier.end();
  barrier.leave();
  assert.equal(await state(gathered), 'settled');
  // The other channel reaches its page boundary: it must not wait for a checkpoint that never comes.
  assert.equal(await state(barrier.arrive()), 'settled');
  barrier.leave();
  assert.equal(await state(barrier.request()), 'settled');
});

test('a channel that fails while the others wait releases them', async () => {
  const barrier = new ChannelBarrier(3);
  const gathered = barrier.request();
  const waiting = [barrier.arrive(), barrier.arrive()];
  barrier.end();
  assert.equal(await state(gathered), 'settled');
  assert.equal(await state(Promise.all(waiting)), 'settled');
});
