// The pipeline loop with a source and a sink that live in memory: what any pairing gets from it
// (routing, the table gate, checkpoints only at transaction boundaries, a final checkpoint on stop),
// and that a new kind of source or sink needs no change to the checkpoint code to be recorded.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { CheckpointCoordinator } from '../src/checkpoint/checkpoint-coordinator.ts';
import { CheckpointStore } from '../src/checkpoint/checkpoint-store.ts';
import { TableGate } from '../src/checkpoint/table-gate.ts';
import type { ChangeEvent } from '../src/core/change-event.ts';
import type { Sink } from '../src/core/sink.ts';
import type { Source, SourceItem, SourceState } from '../src/core/source.ts';
import { SluiceError } from '../src/core/errors.ts';
import { PipelineLoop, type PipelineFigures } from '../src/pipeline/pipeline-loop.ts';
import { routeKey, Router, type Route } from '../src/routing/router.ts';
import { SluiceMetrics } from '../src/runtime/metrics.ts';

/** A source of another kind than the binlog: its position is a plain counter of transactions. */
interface CounterState extends SourceState {
  kind: 'counter';
  position: { transactions: number };
}

class MemorySource implements Source<CounterState, Route> {
  private readonly items: SourceItem<CounterState, Route>[] = [];
  private waiter: (() => void) | undefined;
  private sequence = 1n;
  private transactions = 0;
  stopped = false;

  /** One transaction: its changes, then its boundary. */
  transaction(...tables: string[]): void {
    for (const name of tables) {
      const [schema, table] = name.split('.') as [string, string];
      this.push({ kind: 'change', event: change(schema, table, this.sequence++) });
    }
    this.transactions++;
    this.push({ kind: 'boundary', state: this.state() });
  }

  /** Changes of a transaction whose boundary has not come yet. */
  changes(...tables: string[]): void {
    for (const name of tables) {
      const [schema, table] = name.split('.') as [string, string];
      this.push({ kind: 'change', event: change(schema, table, this.sequence++) });
    }
  }

  boundary(): void {
    this.transactions++;
    this.push({ kind: 'boundary', state: this.state() });
  }

  private state(): CounterState {
    return { kind: 'counter', position: { transactions: this.transactions }, nextSequence: this.sequence.toString() };
  }

  start(): void {}

  async next(): Promise<SourceItem<CounterState, Route>> {
    while (this.items.length === 0) await new Promise<void>((resolve) => (this.waiter = resolve));
    return this.items.shift()!;
  }

  injectTick(): void {
    this.push({ kind: 'tick' });
  }

  private push(item: SourceItem<CounterState, Route>): void {
    this.items.push(item);
    this.waiter?.();
    this.waiter = undefined;
  }

  get queuedItems(): number {
    return this.items.length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }

  describe(state: CounterState): string {
    return `transaction ${state.position.transactions}`;
  }

  describeChange(event: ChangeEvent): string {
    return `change ${event.sequence}`;
  }
}

/** A sink of another kind than Hive: its commits name the sequence numbers they make visible. */
class MemorySink implements Sink<Route, { commits: string[] }> {
  private staged: string[] = [];
  readonly visible: string[] = [];
  readonly failing = new Set<string>();

  async write(target: Route, event: ChangeEvent): Promise<void> {
    if (this.failing.has(routeKey(target))) throw new SluiceError('SLUICE_SCHEMA_UNSUPPORTED', `${routeKey(target)} cannot take it`, { context: { table: routeKey(target) } });
    this.staged.push(`${routeKey(target)}#${event.sequence}`);
  }

  async preCommit(): Promise<{ commits: string[] }> {
    const commits = this.staged;
    this.staged = [];
    return { commits };
  }

  async commit(pending: { commits: string[] }): Promise<void> {
    for (const commit of pending.commits) if (!this.visible.includes(commit)) this.visible.push(commit);
  }

  async abort(): Promise<void> {
    this.staged = [];
  }

  async discard(target: Route): Promise<void> {
    this.staged = this.staged.filter((entry) => !entry.startsWith(`${routeKey(target)}#`));
  }
}

function change(schema: string, table: string, sequence: bigint): ChangeEvent {
  return {
    schema,
    table,
    op: 'insert',
    columns: [{ name: 'id', mysqlType: 'int', charset: null }],
    before: null,
    after: [String(sequence)],
    commitTs: 1_795_000_000,
    position: { file: 'memory', offset: Number(sequence) },
    sequence,
  };
}

function pipeline() {
  const store = new CheckpointStore(mkdtempSync(join(tmpdir(), 'sluice-loop-')));
  const source = new MemorySource();
  const sink = new MemorySink();
  const gate = new TableGate<CounterState>();
  const figures: PipelineFigures<CounterState['position']> = { changesWritten: 0, checkpoints: 0, lastCheckpointAt: undefined, lastPosition: undefined };
  const loop = new PipelineLoop<CounterState>({
    sourceName: 'counter',
    source,
    sink,
    coordinator: new CheckpointCoordinator(store, { memory: sink }, 'job1', 3, 0),
    router: new Router({ include: ['shop.*'], exclude: [], rules: [] }),
    gate,
    start: { kind: 'counter', position: { transactions: 0 }, nextSequence: '1' },
    checkpointed: undefined,
    checkpointIntervalMs: 3_600_000,
    onTableError: 'table',
    logger: pino({ level: 'silent' }),
    metrics: new SluiceMetrics(),
    figures,
  });
  return { store, source, sink, loop, figures };
}

test('a tick inside a transaction checkpoints at its boundary; a stop takes a final checkpoint; only routed changes are written', async () => {
  const { store, source, sink, loop, figures } = pipeline();
  const running = loop.run();
  source.transaction('shop.orders', 'other.skipped', 'shop.items');
  source.changes('shop.orders');
  source.injectTick();
  source.changes('shop.orders');
  source.boundary();
  await until(async () => (await store.latest())?.id === 1);
  const first = (await store.latest())!;
  assert.deepEqual(first.sources, { counter: { kind: 'counter', position: { transactions: 2 }, nextSequence: '6' } }, 'the checkpoint waited for the boundary after the tick');
  assert.deepEqual(first.sinks, { memory: { commits: ['shop.orders#1', 'shop.items#3', 'shop.orders#4', 'shop.orders#5'] } });
  assert.deepEqual(sink.visible, ['shop.orders#1', 'shop.items#3', 'shop.orders#4', 'shop.orders#5'], 'committed once recorded');

  source.transaction('shop.items');
  loop.requestStop();
  await running;
  const last = (await store.latest())!;
  assert.equal(last.id, 2);
  assert.deepEqual(last.sources.counter?.position, { transactions: 3 });
  assert.deepEqual(sink.visible.at(-1), 'shop.items#6');
  assert.equal(figures.changesWritten, 5);
  assert.equal(figures.checkpoints, 2);
  assert.ok(source.stopped);
});

test('a stop behind the queue (initial_only at the end of the snapshot) hands on every queued transaction before its final checkpoint', async () => {
  const { store, source, sink, loop, figures } = pipeline();
  const running = loop.run();
  // The source is ahead of the loop: three transactions queued, none taken yet, when the stop is asked for.
  source.transaction('shop.orders', 'shop.items');
  source.transaction('shop.orders');
  source.transaction('shop.items', 'shop.items');
  loop.requestStopBehindQueued();
  await running;
  const last = (await store.latest())!;
  assert.deepEqual(last.sources.counter?.position, { transactions: 3 }, 'the final checkpoint is behind every queued transaction, not at the first boundary');
  assert.deepEqual(sink.visible, ['shop.orders#1', 'shop.items#2', 'shop.orders#3', 'shop.items#4', 'shop.items#5']);
  assert.equal(figures.changesWritten, 5);
  assert.ok(source.stopped);
});

test('a table the sink cannot write is stopped and recorded; the other tables go on', async () => {
  const { store, source, sink, loop } = pipeline();
  sink.failing.add('shop.bad');
  const running = loop.run();
  source.transaction('shop.good', 'shop.bad');
  source.transaction('shop.bad', 'shop.good');
  source.injectTick();
  await until(async () => (await store.latest())?.id === 1);
  const record = (await store.latest())!;
  assert.deepEqual(sink.visible, ['shop.good#1', 'shop.good#4']);
  assert.deepEqual(Object.keys(record.tables?.stopped ?? {}), ['shop.bad']);
  assert.deepEqual(record.tables?.stopped?.['shop.bad']?.since, { kind: 'counter', position: { transactions: 0 }, nextSequence: '1' }, 'it holds what the start held');
  assert.equal(record.tables?.stopped?.['shop.bad']?.at, 'change 2');
  assert.match(loop.notReadyReason() ?? '', /tables stopped by an error: shop\.bad \(SLUICE_SCHEMA_UNSUPPORTED\)/);
  // A stop at rest: the final checkpoint has nothing new, and the loop ends.
  loop.requestStop();
  await running;
  assert.equal((await store.latest())?.id, 2);
  assert.match(loop.notReadyReason() ?? '', /not streaming from the counter yet/);
});

async function until(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
