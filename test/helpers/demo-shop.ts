// The demo's sample: a sharded `orders` table (order_0, order_1) in one schema, a small workload of
// inserts, updates and a delete, and the routing rule that folds the shards into one Hive table.
// Shared by `npm run demo` (scripts/demo.ts) and the installed-package test (test/package.test.ts),
// which runs the same daemon from a tarball. Plain code, no test framework, like daemon-config.ts.
import type { Connection } from 'mysql2/promise';

/** The MariaDB GTID position the server's binlog has reached ('0-1-42'). */
export async function gtidBinlogPosition(db: Connection): Promise<string> {
  const [[{ pos }]] = (await db.query('SELECT @@gtid_binlog_pos AS pos')) as unknown as [[{ pos: string }]];
  return pos;
}

/** Creates `schema` afresh with the two shards, empty. */
export async function createShop(db: Connection, schema = 'shop'): Promise<void> {
  await db.query(`DROP DATABASE IF EXISTS ${schema}; CREATE DATABASE ${schema}`);
  for (const shard of ['order_0', 'order_1']) {
    await db.query(`CREATE TABLE ${schema}.${shard} (
      id BIGINT UNSIGNED PRIMARY KEY, customer VARCHAR(64) NOT NULL, amount DECIMAL(12,2) NOT NULL,
      status ENUM('new','paid','shipped') NOT NULL, created_at DATETIME(6) NOT NULL, note TEXT NULL)`);
  }
}

/** Six inserts over both shards, three updates and a delete: ten changes. */
export async function runShopWorkload(db: Connection, schema = 'shop'): Promise<void> {
  for (let id = 1; id <= 6; id++) {
    const shard = id % 2 === 0 ? 'order_0' : 'order_1';
    await db.query(`INSERT INTO ${schema}.${shard} VALUES (?, ?, ?, 'new', ?, ?)`, [
      id, `customer-${id}`, `${id * 10}.50`, `2026-11-25 09:0${id}:00.12345${id}`, id === 3 ? 'gift wrap,\nplease' : null,
    ]);
  }
  await db.query(`UPDATE ${schema}.order_1 SET status = 'paid' WHERE id IN (1, 3)`);
  await db.query(`UPDATE ${schema}.order_0 SET status = 'shipped', amount = amount + 1 WHERE id = 2`);
  await db.query(`DELETE FROM ${schema}.order_0 WHERE id = 4`);
}

/** The lines under `routing:` that send every shard of `schema` to `target`. */
export function shopRoutingYaml(schema = 'shop', target = 'ods.orders'): string {
  return `  include: ['${schema}.*']\n  rules:\n    - match: '^${schema}\\.order_\\d+$'\n      target: ${target}`;
}
