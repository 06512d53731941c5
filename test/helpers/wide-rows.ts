// A changelog table of ten columns and a generator of its rows, shared by the Parquet tests and the
// Parquet benchmark (bench/parquet.bench.ts), so both write the same data.
import type { HiveColumn } from '../../src/catalog/catalog.ts';
import type { CellValue } from '../../src/core/change-event.ts';

export const WIDE: HiveColumn[] = [
  { name: 'id', type: 'bigint' },
  { name: 'customer', type: 'string' },
  { name: 'amount', type: 'decimal(12,2)' },
  { name: 'status', type: 'string' },
  { name: 'qty', type: 'int' },
  { name: 'ratio', type: 'double' },
  { name: '_op', type: 'string' },
  { name: '_event_time', type: 'timestamp' },
  { name: '_seq', type: 'bigint' },
  { name: '_source', type: 'string' },
];
const STATUSES = ['new', 'paid', 'shipped', 'cancelled'];

/** Row i is a function of i alone, so a reader can check sums without keeping the rows. */
export function* wideRows(count: number): Generator<CellValue[]> {
  for (let i = 0; i < count; i++) {
    const second = 1_790_000_000 + Math.floor(i / 500);
    yield [
      String(i),
      `customer-${i % 10_000}`,
      `${i % 100_000}.${String(i % 100).padStart(2, '0')}`,
      STATUSES[i % 4]!,
      String(i % 1000),
      String(i / 7),
      i % 3 === 0 ? 'update' : 'insert',
      new Date(second * 1000).toISOString().slice(0, 19).replace('T', ' '),
      String(1_000_000_000_000 + i),
      `shop.order_${i % 4}`,
    ];
  }
}
