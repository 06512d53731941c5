import assert from 'node:assert/strict';
import { test } from 'node:test';
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
