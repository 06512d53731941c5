// What is captured (docs/configuration.md, "What is captured"), end to end through the daemon on the
// real MariaDB: excluded columns never reach the Hive table, a file or the log; masked ones land as
// salted hashes or a fixed mask, as STRING columns; a row filter keeps rows out, and an update that
// takes a row out of the filter (or into it) keeps the current state right; rows of the snapshot
// (`_op` read) are treated the same; a filter on a column a later ALTER drops stops its table alone.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalCatalog } from '../src/catalog/local-catalog.ts';
import { gtidBinlogPos, latestCheckpoint, makeWorkspace, metricsPort, until, waitForCheckpoint, withDaemon } from './helpers/daemon.ts';
import { runQueryCli } from './helpers/query-cli.ts';
import { snapshotDone, snapshotState } from './helpers/snapshot-check.ts';
import { testMariaDb } from './helpers/servers.ts';
import { changesOf } from './helpers/stopped-changes.ts';

const SALT = 'capture-test-salt-0123456789';
const hash = (value: string): string => createHmac('sha256', SALT).update(value).digest('hex');

/** Every file under `dir`, read whole. */
async function filesUnder(dir: string): Promise<{ path: string; content: Buffer }[]> {
  const found: { path: string; content: Buffer }[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    found.push({ path, content: await readFile(path) });
  }
  return found;
}

test('excluded and masked columns and filtered rows never reach the warehouse, the log or the metrics; the current state follows rows in and out of the filter', { timeout: 180_000 }, async () => {
  const server = await testMariaDb();
  const tag = `capture${Date.now() % 1_000_000}`;
  const db = await server.rootConnection();
  // Values no file, log line or metric may hold: the excluded, the masked, and every value of a filtered-out row.
  const secret = (what: string, id: number): string => `raw-${what}-${id}-${tag}`;
  const row = (id: number, status: string) => [id, secret('name', id), secret('mail', id), secret('ssn', id), secret('card', id), status, `${id}.50`];
  await db.query(
    `CREATE DATABASE ${tag}; CREATE TABLE ${tag}.customers (id INT PRIMARY KEY, name VARCHAR(60), email VARCHAR(80), ssn VARCHAR(60), card_no VARCHAR(60), status VARCHAR(10), amount DECIMAL(10,2));` +
      `CREATE TABLE ${tag}.orders (id INT PRIMARY KEY, region VARCHAR(10), v VARCHAR(10))`,
  );
  // Read by the snapshot: 1 passes the filter, 2 (a draft) does not.
  await db.query(`INSERT INTO ${tag}.customers VALUES ?`, [[row(1, 'paid'), row(2, 'draft')]]);
  const workspace = makeWorkspace(server, {
    start: 'latest',
    routing: `  include: ['${tag}.*']`,
    intervalSeconds: 0.3,
    extra:
      'snapshot:\n  mode: initial\n' +
      `capture:\n  salt: ${SALT}\n  tables:\n` +
      `    - match: '${tag}.customers'\n      columns: { exclude: [ssn, 'card_*'] }\n      mask: { email: hash, name: fixed, phone: fixed }\n      filter: "status != 'draft' AND amount >= 1"\n` +
      `    - match: '${tag}.orders'\n      filter: "region IN ('eu', 'us')"\n`,
  });
  try {
    const { daemon } = await withDaemon(workspace, server, async (daemon) => {
      await until('the snapshot is done', daemon, async () => snapshotDone(await snapshotState(workspace)) || undefined);
      await db.query(`INSERT INTO ${tag}.customers VALUES ?`, [[row(3, 'paid'), row(4, 'draft'), row(5, 'paid')]]);
      await db.query(`UPDATE ${tag}.customers SET status = 'draft' WHERE id = 1`); // leaves the filter
      await db.query(`UPDATE ${tag}.customers SET status = 'paid' WHERE id = 2`); // enters it
      await db.query(`UPDATE ${tag}.customers SET amount = 9.99 WHERE id = 3`); // stays in it
      await db.query(`UPDATE ${tag}.customers SET amount = 7.00 WHERE id = 4`); // stays out
      await db.query(`DELETE FROM ${tag}.customers WHERE id IN (4, 5)`); // 4 never was in; 5 was
      await db.query(`INSERT INTO ${tag}.orders VALUES (1, 'eu', 'a'), (2, 'apac', 'b')`);
      await waitForCheckpoint(workspace, await gtidBinlogPos(server), 30_000, daemon);

      const metrics = await (await fetch(`http://127.0.0.1:${await metricsPort(daemon)}/metrics`)).text();
      assert.ok(metrics.includes(`table="${tag}.customers"`), 'the metrics name the table');
      for (const id of [1, 2, 3, 4, 5]) assert.ok(!metrics.includes(secret('mail', id)) && !metrics.includes(secret('ssn', id)));

      // A filter on a column a later ALTER drops: the table stops, the others go on.
      await db.query(`ALTER TABLE ${tag}.orders DROP COLUMN region`);
      await db.query(`INSERT INTO ${tag}.orders VALUES (3, 'c')`);
      await db.query(`INSERT INTO ${tag}.customers VALUES ?`, [[row(6, 'paid')]]);
      await waitForCheckpoint(workspace, await gtidBinlogPos(server), 30_000, daemon);
    });

    const catalog = new LocalCatalog(workspace.catalogDir);
    const table = (await catalog.getTable(tag, 'customers'))!;
    assert.deepEqual(
      table.columns.map((column) => `${column.name} ${column.type}`),
      ['id int', 'name string', 'email string', 'status string', 'amount decimal(10,2)', '_op string', '_event_time timestamp', '_position string', '_seq bigint', '_source string'],
      'the table has no excluded column, and the masked ones are STRING',
    );
    const rows = await runQueryCli(workspace, server, `SELECT _op, id, name, email, status, amount FROM ${tag}.customers ORDER BY _seq`);
    assert.deepEqual(
      rows.map((r) => `${r._op} ${r.id} ${r.name} ${r.email === (r.id === null ? null : hash(secret('mail', Number(r.id)))) ? 'hash' : r.email} ${r.status} ${r.amount}`),
      [
        'read 1 **** hash paid 1.50',
        'insert 3 **** hash paid 3.50',
        'insert 5 **** hash paid 5.50',
        // Row 1 left the filter: a delete of the row as it was, so the current state loses it.
        'delete 1 **** hash paid 1.50',
        // Row 2 entered it: the update lands, so the current state gains it.
        'update 2 **** hash paid 2.50',
        'update 3 **** hash paid 9.99',
        'delete 5 **** hash paid 5.50',
        'insert 6 **** hash paid 6.50',
      ],
    );
    const current = await runQueryCli(workspace, server, `SELECT id, status FROM ${tag}.customers_current ORDER BY id`, {}, ['--key', 'id']);
    const [source] = (await db.query(`SELECT id, status FROM ${tag}.customers WHERE status != 'draft' AND amount >= 1 ORDER BY id`)) as unknown as [{ id: number; status: string }[]];
    assert.deepEqual(current, source.map((r) => ({ id: String(r.id), status: r.status })), 'the current state is the filtered source table');
    assert.deepEqual(current.map((r) => r.id), ['2', '3', '6']);

    assert.deepEqual(await changesOf(workspace, tag, 'orders'), ['insert 1 a'], "the filter let 'apac' out, and the table stopped at the ALTER");
    const stopped = (await latestCheckpoint(workspace))!.tables?.stopped ?? {};
    assert.deepEqual(Object.keys(stopped), [`${tag}.orders`]);
    assert.equal(stopped[`${tag}.orders`]!.code, 'SLUICE_CAPTURE_FILTER');
    assert.match(stopped[`${tag}.orders`]!.message, new RegExp(`^table ${tag}\\.orders: its row filter \\(capture\\.tables\\[1\\]\\) "region IN \\('eu', 'us'\\)" reads 'region', which ${tag}\\.orders no longer has at GTID 0-1-\\d+`));

    // The raw values are nowhere: not in any file of the warehouse (committed or staged), the catalog, or the daemon's log.
    const raw = [1, 2, 3, 4, 5, 6].flatMap((id) => [secret('name', id), secret('mail', id), secret('ssn', id), secret('card', id)]);
    const files = [...(await filesUnder(workspace.warehouse)), ...(await filesUnder(workspace.catalogDir))];
    assert.ok(files.some((file) => file.path.includes('customers')), 'the warehouse holds the table');
    assert.ok(daemon.output().includes(`${tag}.customers`), 'the log names the table');
    assert.ok(daemon.output().includes(`capture.tables[0].mask 'phone' names no column of ${tag}.customers (its columns: id, name, email, ssn, card_no, status, amount): it masks nothing there.`), 'a mask that names no column is warned of');
    for (const value of raw) {
      for (const file of files) assert.ok(!file.content.includes(value), `${value} in ${file.path}`);
      assert.ok(!daemon.output().includes(value), `${value} in the daemon's log`);
    }
  } finally {
    await db.end();
  }
});
