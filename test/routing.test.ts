import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planRoutes } from '../src/cli/routing-preview.ts';
import { Router } from '../src/routing/router.ts';

test('shards matching a rule merge into one target, with capture groups', () => {
  const router = new Router({
    include: ['*.*'],
    exclude: [],
    rules: [
      { match: '^shop_\\d+\\.order_\\d+$', target: 'ods.orders' },
      { match: '^(crm)\\.(\\w+)$', target: 'ods_$1.$2' },
    ],
  });
  assert.deepEqual(router.decide('shop_1', 'order_7'), { kind: 'routed', target: { database: 'ods', table: 'orders' }, rule: 0 });
  assert.deepEqual(router.decide('shop_22', 'order_0'), { kind: 'routed', target: { database: 'ods', table: 'orders' }, rule: 0 });
  assert.deepEqual(router.decide('crm', 'Customers'), { kind: 'routed', target: { database: 'ods_crm', table: 'customers' }, rule: 1 });
});

test('the first matching rule wins', () => {
  const router = new Router({
    include: ['*.*'],
    exclude: [],
    rules: [
      { match: '^a\\.special$', target: 'x.special' },
      { match: '^a\\..*$', target: 'x.everything' },
    ],
  });
  const special = router.decide('a', 'special');
  assert.ok(special.kind === 'routed' && special.target.table === 'special');
  const other = router.decide('a', 'other');
  assert.ok(other.kind === 'routed' && other.target.table === 'everything');
});

test('unmatched tables are skipped and counted; excluded and system tables are not counted', () => {
  const router = new Router({ include: ['shop*.*'], exclude: ['shop.audit_*'], rules: [{ match: '^shop\\.orders$', target: 'ods.orders' }] });
  assert.equal(router.decide('shop', 'customers').kind, 'unmatched');
  router.countUnmatched('shop', 'customers', 3);
  router.countUnmatched('shop', 'customers');
  assert.equal(router.unmatchedCounts.get('shop.customers'), 4);
  assert.equal(router.decide('shop', 'audit_2026').kind, 'excluded');
  assert.equal(router.decide('other', 'orders').kind, 'excluded');
  assert.equal(router.decide('mysql', 'user').kind, 'excluded');
});

test('without rules a captured table keeps its own name, lower-cased for Hive', () => {
  const router = new Router({ include: ['*.*'], exclude: [], rules: [] });
  assert.deepEqual(router.decide('Shop', 'Orders'), { kind: 'routed', target: { database: 'shop', table: 'orders' }, rule: undefined });
});

test('globs are case-insensitive and ? matches one character', () => {
  const router = new Router({ include: ['SHOP_?.*'], exclude: [], rules: [] });
  assert.equal(router.decide('shop_1', 't').kind, 'routed');
  assert.equal(router.decide('shop_12', 't').kind, 'excluded');
});

test("sluice check's routing preview: where each table goes, and the patterns that match nothing", () => {
  const tables = ['shop.order_0', 'shop.order_1', 'shop.notes', 'shop.tmp_x', 'crm.customers', 'hr.people'];
  const preview = planRoutes(
    {
      include: ['shop.*', 'crm.*', 'ap.*'],
      exclude: ['shop.tmp_*', 'crm.audit', 'mysql.*'],
      rules: [
        { match: '^shop\\.order_\\d+$', target: 'ods.orders' },
        { match: '^shop\\.order_0$', target: 'ods.first_order' },
        { match: '^(crm)\\.(\\w+)$', target: 'ods_$1.$2' },
        { match: '^billing\\.', target: 'ods.billing' },
      ],
    },
    tables,
  );
  assert.deepEqual(preview.lines, [
    '3 of 6 tables on the server captured, into 2 Hive tables',
    'ods.orders <- shop.order_0, shop.order_1 (routing.rules[0])',
    'ods_crm.customers <- crm.customers (routing.rules[2])',
    'included, but no rule matches (skipped, counted in sluice_unmatched_changes_total): shop.notes',
    'excluded by routing.exclude: shop.tmp_x',
    'not in routing.include: hr.people',
  ]);
  assert.deepEqual(preview.warnings, [
    "routing.include[2] 'ap.*' matches no table on the server (the server's schemas: shop, crm, hr)",
    "routing.exclude[1] 'crm.audit' matches no included table",
    "routing.rules[1].match '^shop\\.order_0$' takes no table: an earlier rule takes each it matches (shop.order_0)",
    "routing.rules[3].match '^billing\\.' matches no captured table",
  ]);
});

test('the routing preview without rules: each table is its own target; a typo captures nothing and says so', () => {
  const tables = Array.from({ length: 8 }, (_, index) => `app.t${index}`);
  assert.deepEqual(planRoutes({ include: ['app.*'], exclude: [], rules: [] }, tables).lines, [
    '8 of 8 tables on the server captured, into 8 Hive tables',
    ...tables.map((name) => `${name} <- ${name}`),
  ]);
  const typo = planRoutes({ include: ['ap.*'], exclude: [], rules: [] }, tables);
  assert.deepEqual(typo.lines, ['0 of 8 tables on the server captured, into 0 Hive tables', 'not in routing.include: app.t0, app.t1, app.t2, app.t3, app.t4 and 3 more']);
  assert.deepEqual(typo.warnings, ["routing.include[0] 'ap.*' matches no table on the server (the server's schemas: app)"]);
});
