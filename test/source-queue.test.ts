// The bounded hand-over between a source and the pipeline (src/sources/source-queue.ts): a socket
// paused at the limit and resumed at half of it (the binlog), or a source that waits for room before
// it hands on more (Kafka, whose paused consumer would sleep a whole fetch wait before reading on).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SourceQueue } from '../src/sources/source-queue.ts';

test('room() waits while the queue is above half its limit and resolves once the pipeline takes it down', async () => {
  const queue = new SourceQueue<number>(4, () => undefined);
  for (let item = 1; item <= 4; item++) queue.push(item);
  let roomy = false;
  const room = queue.room().then(() => (roomy = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(roomy, false, 'four of four queued: no room yet');
  assert.equal(queue.poll(), 1);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(roomy, false, 'three of four queued: still above half');
  assert.equal(queue.poll(), 2);
  await room;
  assert.equal(queue.length, 2);
  assert.deepEqual([queue.poll(), queue.poll(), queue.poll()], [3, 4, undefined]);
  await queue.room();
});

test('room() resolves when the queue fails, so a waiting source sees the failure instead of hanging', async () => {
  const queue = new SourceQueue<number>(2, () => undefined);
  queue.push(1);
  queue.push(2);
  const room = queue.room();
  queue.fail(new Error('broken'));
  await room;
  assert.equal(queue.failed, true);
});

test('a socket is paused at the limit and resumed at half of it', () => {
  const calls: string[] = [];
  const queue = new SourceQueue<number>(4, () => ({ pause: () => calls.push('pause'), resume: () => calls.push('resume') }));
  for (let item = 1; item <= 5; item++) queue.push(item);
  assert.deepEqual(calls, ['pause']);
  queue.poll();
  queue.poll();
  assert.deepEqual(calls, ['pause']);
  queue.poll();
  assert.deepEqual(calls, ['pause', 'resume']);
});
