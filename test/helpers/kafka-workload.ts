// A keyed change stream for Kafka loaders, as canal flat messages: inserts, updates and deletes of one
// to three rows each, every key staying in one partition (id mod partitions) so that its changes keep
// their order, and the rows each partition must end up with in Hive, in order. The check reads the
// rows back by `_seq`: for every partition, exactly its changes, once each, in the order produced.
import assert from 'node:assert/strict';
import { bySequence, type TableRow } from './warehouse.ts';

export interface ExpectedRow {
  op: string;
  id: string;
  tag: string;
}

export class KeyedCanalWorkload {
  /** Per partition, the rows its messages carry, in order. */
  readonly expected: ExpectedRow[][];
  private readonly live = new Set<number>();
  private nextId = 1;

  constructor(
    private readonly partitions: number,
    private readonly random: () => number,
    private readonly database = 'shop',
  ) {
    this.expected = Array.from({ length: partitions }, () => []);
  }

  /** The `index`-th message (its partition is index mod partitions). */
  message(index: number): { partition: number; value: string } {
    const { partitions, random, live } = this;
    const partition = index % partitions;
    const keys = [...live].filter((id) => id % partitions === partition);
    const roll = random();
    const type = keys.length < 5 || roll < 0.5 ? 'INSERT' : roll < 0.8 ? 'UPDATE' : 'DELETE';
    const count = 1 + Math.floor(random() * 3);
    const data: Record<string, string>[] = [];
    const old: Record<string, string>[] = [];
    for (let row = 0; row < count; row++) {
      let id: number;
      if (type === 'INSERT') {
        while (this.nextId % partitions !== partition) this.nextId++;
        id = this.nextId++;
        live.add(id);
      } else {
        const candidates = keys.filter((key) => !data.some((d) => d.id === String(key)));
        if (candidates.length === 0) break;
        id = candidates[Math.floor(random() * candidates.length)]!;
        if (type === 'DELETE') live.delete(id);
      }
      const tag = `${index}.${row}`;
      data.push({ id: String(id), tag });
      old.push({ tag: 'before' });
      this.expected[partition]!.push({ op: type.toLowerCase(), id: String(id), tag });
    }
    const value = {
      data,
      database: this.database,
      table: 'items',
      es: 1764892800000 + index,
      isDdl: false,
      mysqlType: { id: 'bigint', tag: 'varchar(32)' },
      old: type === 'UPDATE' ? old : null,
      type,
    };
    return { partition, value: JSON.stringify(value) };
  }

  /**
   * Every row once, each partition's rows in the order they were produced when read by `_seq`, and no
   * `_seq` twice: in the whole table for one loader; within a partition (so within a key) for several,
   * which count apart (docs/kafka.md).
   */
  assertLoaded(rows: TableRow[], topic: string, sequenceUnique: 'table' | 'partition' = 'table'): void {
    const ordered = bySequence(rows);
    const unique = (some: TableRow[], what: string) => assert.equal(new Set(some.map((row) => String(row._seq))).size, some.length, `no sequence number twice ${what}`);
    if (sequenceUnique === 'table') unique(ordered, 'in the table');
    for (let partition = 0; partition < this.partitions; partition++) {
      const rowsOfPartition = ordered.filter((row) => String(row._position).startsWith(`${topic}-${partition}:`));
      if (sequenceUnique === 'partition') unique(rowsOfPartition, `in partition ${partition}`);
      const actual = rowsOfPartition.map((row) => ({ op: String(row._op), id: String(row.id), tag: String(row.tag) }));
      assert.equal(actual.length, this.expected[partition]!.length, `partition ${partition}: rows in Hive`);
      assert.deepEqual(actual, this.expected[partition], `partition ${partition}: every row once, in order`);
    }
  }
}
