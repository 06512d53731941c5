// The binlog stream as a pipeline source (core/source.ts): BinlogSource's items, with each boundary
// turned into the state a checkpoint records of the binlog, and the boundary's statement logged.
import type { Logger } from 'pino';
import type { ChangeEvent } from '../../../core/change-event.ts';
import type { Source, SourceItem } from '../../../core/source.ts';
import type { Route } from '../../../routing/router.ts';
import { describePosition, type BinlogSourceState } from '../position/binlog-position.ts';
import type { BinlogDumpStart } from '../position/dump-start.ts';
import type { BinlogSource } from './binlog-source.ts';

export class BinlogPipelineSource implements Source<BinlogSourceState, Route> {
  constructor(
    private readonly stream: BinlogSource,
    private readonly from: BinlogDumpStart,
    private readonly logger: Logger,
    /** A statement at a boundary (DDL), handed on in stream order before its boundary: the Kafka sink's schema topic. */
    private readonly onStatement?: (statement: { text: string; schema: string; commitTs: number; state: BinlogSourceState }) => void,
  ) {}

  start(): void {
    this.stream.start(this.from);
  }

  async next(): Promise<SourceItem<BinlogSourceState, Route>> {
    return this.toPipelineItem(await this.stream.next());
  }

  poll(): SourceItem<BinlogSourceState, Route> | undefined {
    const item = this.stream.poll();
    return item === undefined ? undefined : this.toPipelineItem(item);
  }

  private toPipelineItem(item: Awaited<ReturnType<BinlogSource['next']>>): SourceItem<BinlogSourceState, Route> {
    if (item.kind !== 'boundary') return item;
    if (item.statement) this.logger.info({ statement: item.statement.slice(0, 500), position: item.position }, 'statement in binlog');
    const state: BinlogSourceState = { kind: 'binlog', position: item.position, nextSequence: item.nextSequence.toString() };
    if (item.statement && item.statementAt) this.onStatement?.({ text: item.statement, ...item.statementAt, state });
    return { kind: 'boundary', state, ...(item.xa ? { xa: item.xa } : {}), ...(item.also ? { also: item.also } : {}) };
  }

  injectTick(): void {
    this.stream.injectTick();
  }

  get queuedItems(): number {
    return this.stream.queuedItems;
  }

  stop(): Promise<void> {
    return this.stream.stop();
  }

  describe(state: BinlogSourceState): string {
    return describePosition(state.position);
  }

  describeChange(event: ChangeEvent): string {
    const at = `${event.position.file}:${event.position.offset}`;
    return event.position.gtid ? `${at} (GTID ${event.position.gtid})` : at;
  }
}
