// What is captured, without a server: the row-filter language (parsed at config load, evaluated by
// routing), masks, the transform's treatment of each operation, and config errors that name the
// file, line and key.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { parseConfig } from '../src/config/load.ts';
import { FilterSyntaxError, parseRowFilter } from '../src/config/row-filter-syntax.ts';
import type { CellValue, ChangeEvent, SourceColumn } from '../src/core/change-event.ts';
import { isSluiceError, type SluiceError } from '../src/core/errors.ts';
import { CaptureTransform } from '../src/routing/capture/capture-transform.ts';
import { bindRowFilter } from '../src/routing/capture/row-filter.ts';

const COLUMNS: SourceColumn[] = ['id', 'status', 'amount', 'region', 'deleted_at', 'email'].map((name) => ({ name, mysqlType: name === 'amount' ? 'decimal(30,2)' : 'varchar(40)', charset: 'utf8mb4' }));

function passes(filter: string, row: Record<string, CellValue>): boolean {
  const bound = bindRowFilter(parseRowFilter(filter), COLUMNS);
  assert.ok('predicate' in bound, `unbound: ${filter}`);
  return bound.predicate(COLUMNS.map((column) => row[column.name] ?? null));
}

test('row filters: comparisons, IN, IS NULL, LIKE, BETWEEN, AND/OR/NOT and parentheses', () => {
  const row = { id: '7', status: 'paid', amount: '100.00', region: 'eu', deleted_at: null, email: 'a@x.org' };
  const truths: [string, boolean][] = [
    ["status != 'draft'", true],
    ["status <> 'paid'", false],
    ["amount >= 100 AND region IN ('eu','us')", true],
    ['amount > 100', false],
    ['amount > 99.999', true],
    ["amount >= 100 AND region NOT IN ('eu')", false],
    ['deleted_at IS NULL', true],
    ['deleted_at IS NOT NULL', false],
    ["email LIKE '%@x.org'", true],
    ["email LIKE 'a_x.org'", true],
    ["email NOT LIKE 'a_x.com'", true],
    ['id BETWEEN 1 AND 7', true],
    ['id NOT BETWEEN 1 AND 7', false],
    ["NOT (status = 'draft' OR amount < 10)", true],
    ["`region` = 'eu' and STATUS == 'paid'", true],
    ['7 = id', true],
    // A quoted literal compares as text, exactly: '100.00' is not '100'.
    ["amount = '100'", false],
  ];
  for (const [filter, expected] of truths) assert.equal(passes(filter, row), expected, filter);
});

test('row filters: NULL is unknown, so neither a filter nor its negation lets the row through', () => {
  const row = { status: null, amount: null };
  for (const filter of ["status = 'x'", "status != 'x'", "NOT status = 'x'", "status IN ('x')", "status NOT IN ('x')", 'amount > 1', "status = NULL"]) {
    assert.equal(passes(filter, row), false, filter);
  }
  assert.equal(passes("status != 'x' OR amount IS NULL", row), true, 'OR with one true side is true');
  // A text that is no number fails a numeric comparison rather than being read as 0.
  assert.equal(passes('status >= 0', { status: 'abc' }), false);
});

test('row filters: numbers compare exactly, beyond what a double holds', () => {
  assert.equal(passes('amount > 9007199254740992', { amount: '9007199254740993' }), true);
  assert.equal(passes('amount < 0.10000000000000000001', { amount: '0.1' }), true);
  assert.equal(passes('amount = -0', { amount: '0.00' }), true);
  assert.equal(passes('amount > -2', { amount: '-1.5' }), true);
  assert.equal(passes('amount < -2', { amount: '-10' }), true);
  assert.equal(passes('amount > 1e3', { amount: '1000.5' }), true);
});

test('row filters: quoted strings take doubled and escaped quotes; LIKE keeps its escape', () => {
  assert.equal(passes("status = 'it''s'", { status: "it's" }), true);
  assert.equal(passes("status = 'it\\'s'", { status: "it's" }), true);
  assert.equal(passes("status LIKE '100\\%'", { status: '100%' }), true);
  assert.equal(passes("status LIKE '100\\%'", { status: '1000' }), false);
});

test('row filters: a syntax error says what was expected and where', () => {
  const cases: [string, RegExp, number][] = [
    ["status = ", /expected a column or a value after '=', found the end of the filter/, 9],
    ["status = 'draft", /quoted string' is not closed/, 9],
    ["status 'draft'", /expected a comparison .* found a quoted string/, 7],
    ["amount >= 100 region = 'eu'", /unexpected 'region' after a complete condition \(missing AND or OR\?\)/, 14],
    ["region IN ('eu' 'us')", /expected '\)' to close the IN list/, 16],
    ['deleted_at IS NOT', /expected NULL after 'IS'/, 17],
    ['1 = 1', /comparison of two values says nothing about the row/, 2],
    ['status ; drop', /unexpected ';'/, 7],
  ];
  for (const [text, message, offset] of cases) {
    assert.throws(
      () => parseRowFilter(text),
      (error: unknown) => error instanceof FilterSyntaxError && message.test(error.message) && error.offset === offset,
      text,
    );
  }
});

const SALT = 'a-salt-of-sixteen-or-more';

function event(op: ChangeEvent['op'], before: Record<string, string | null> | null, after: Record<string, string | null> | null): ChangeEvent {
  const image = (row: Record<string, string | null> | null) => (row ? COLUMNS.map((column) => row[column.name] ?? null) : null);
  return { schema: 'shop', table: 'orders', op, columns: COLUMNS, before: image(before), after: image(after), commitTs: 0, position: { file: 'mysql-bin.000001', offset: 4 }, sequence: 1n };
}

test('the transform: excluded columns gone, masked ones text, the column list kept per source list', () => {
  const capture = new CaptureTransform(
    { salt: SALT, tables: [{ match: 'shop.*', columns: { exclude: ['dele*'] }, mask: { email: 'hash', REGION: 'fixed', status: { fixed: 'x' } } }] },
    [],
  );
  const out = capture.apply(event('insert', null, { id: '1', status: 'paid', amount: '5.00', region: 'eu', email: 'a@x.org' }), undefined)!;
  assert.deepEqual(out.columns.map((column) => `${column.name} ${column.mysqlType}`), ['id varchar(40)', 'status text', 'amount decimal(30,2)', 'region text', 'email text']);
  assert.deepEqual(out.after, ['1', 'x', '5.00', '****', createHmac('sha256', SALT).update('a@x.org').digest('hex')]);
  const again = capture.apply(event('insert', null, { id: '2', email: null }), undefined)!;
  assert.equal(again.columns, out.columns, 'one column list per source list, so the sink caches its layout');
  assert.deepEqual(again.after, ['2', null, null, null, null], 'NULL stays NULL under a mask');

  const included = new CaptureTransform({ tables: [{ match: 'shop.orders', columns: { include: ['id', 'am*'], exclude: [] } }] }, []);
  assert.deepEqual(included.apply(event('delete', { id: '3', amount: '1.00', email: 'e' }, null), undefined)!.before, ['3', '1.00']);
  const untouched = { ...event('insert', null, { id: '4' }), table: 'other' };
  assert.equal(included.apply(untouched, undefined), untouched, 'a table no entry names goes on as it is');
});

test('the transform keeps the primary key only where it still tells rows apart: all key columns kept, none masked to one text', () => {
  const keyed = (columns: readonly SourceColumn[]): SourceColumn[] => columns.map((column) => (column.name === 'id' || column.name === 'region' ? { ...column, primaryKey: true as const } : column));
  const keyColumns = keyed(COLUMNS);
  const insert = { ...event('insert', null, { id: '1', region: 'eu', email: 'a@x.org' }), columns: keyColumns };
  const keyOf = (capture: CaptureTransform): string[] => capture.apply(insert, undefined)!.columns.filter((column) => column.primaryKey).map((column) => column.name);
  assert.deepEqual(keyOf(new CaptureTransform({ tables: [{ match: 'shop.orders', columns: { exclude: ['email'] } }] }, [])), ['id', 'region']);
  assert.deepEqual(keyOf(new CaptureTransform({ salt: SALT, tables: [{ match: 'shop.orders', mask: { region: 'hash' } }] }, [])), ['id', 'region'], 'a hashed key column still tells rows apart');
  assert.deepEqual(keyOf(new CaptureTransform({ tables: [{ match: 'shop.orders', columns: { exclude: ['region'] } }] }, [])), [], 'half a key is no key');
  assert.deepEqual(keyOf(new CaptureTransform({ tables: [{ match: 'shop.orders', mask: { region: 'fixed' } }] }, [])), [], 'a key masked to **** merges every row');
});

test('the transform warns once per table of a mask or column glob that names none of its columns', () => {
  const warnings: string[] = [];
  const capture = new CaptureTransform({ salt: SALT, tables: [{ match: 'shop.*', columns: { exclude: ['ssn'] }, mask: { emial: 'hash', email: 'fixed' } }] }, [], (message) => warnings.push(message));
  capture.apply(event('insert', null, { id: '1' }), undefined);
  capture.apply({ ...event('insert', null, { id: '2' }), columns: [...COLUMNS] }, undefined);
  assert.deepEqual(warnings, [
    "capture.tables[0].columns.exclude 'ssn' names no column of shop.orders (its columns: id, status, amount, region, deleted_at, email): it leaves out nothing there. Check the spelling.",
    "capture.tables[0].mask 'emial' names no column of shop.orders (its columns: id, status, amount, region, deleted_at, email): it masks nothing there. Check the spelling.",
  ]);
});

test("the transform: a rule's settings apply where no capture.tables entry names the table", () => {
  const capture = new CaptureTransform({ tables: [{ match: 'shop.special', columns: { exclude: ['email'] } }] }, [{}, { columns: { exclude: ['status', 'email', 'region', 'deleted_at'] } }]);
  assert.deepEqual(capture.apply(event('insert', null, { id: '1', amount: '2' }), 1)!.after, ['1', '2']);
  assert.equal(capture.apply({ ...event('insert', null, { id: '1' }), table: 'plain' }, 0)!.columns, COLUMNS);
  assert.equal(capture.apply({ ...event('insert', null, { id: '1' }), table: 'special' }, 1)!.columns.length, 5);
});

test('the transform: a row filter on inserts, deletes, snapshot reads and updates that enter or leave it', () => {
  const capture = new CaptureTransform({ tables: [{ match: 'shop.orders', filter: parseRowFilter("status != 'draft'") }] }, []);
  const apply = (op: ChangeEvent['op'], before: string | null, after: string | null) =>
    capture.apply(event(op, before === null ? null : { id: '1', status: before }, after === null ? null : { id: '1', status: after }), undefined);
  assert.equal(apply('insert', null, 'draft'), undefined);
  assert.equal(apply('insert', null, 'paid')?.op, 'insert');
  assert.equal(apply('read', null, 'draft'), undefined);
  assert.equal(apply('read', null, 'paid')?.op, 'read');
  assert.equal(apply('delete', 'draft', null), undefined, 'the row was never captured: no delete for it');
  assert.equal(apply('delete', 'paid', null)?.op, 'delete');
  assert.equal(apply('update', 'draft', 'draft'), undefined);
  const stays = apply('update', 'paid', 'shipped')!;
  assert.deepEqual([stays.op, stays.after?.[1]], ['update', 'shipped']);
  const enters = apply('update', 'draft', 'paid')!;
  assert.deepEqual([enters.op, enters.after?.[1], enters.before], ['update', 'paid', null], 'a row entering the filter appears; the row as it was, which did not pass, is dropped (no delete of an old key is written from it)');
  const leaves = apply('update', 'paid', 'draft')!;
  assert.deepEqual([leaves.op, leaves.after, leaves.before?.[1]], ['delete', null, 'paid'], 'a row leaving it is deleted, as it was');
  const marker: ChangeEvent = { ...event('truncate', null, null), columns: [] };
  assert.equal(capture.apply(marker, undefined), marker);
});

test('the transform: a filter on a column the table no longer has stops the table, naming columns, not values', () => {
  const capture = new CaptureTransform({ tables: [{ match: 'shop.orders', filter: parseRowFilter("state = 'x' AND id > 0") }] }, []);
  assert.throws(
    () => capture.apply(event('insert', null, { id: '1', status: 'secret-value' }), undefined),
    (error: unknown) => {
      assert.ok(isSluiceError(error, 'SLUICE_CAPTURE_FILTER'));
      assert.match(error.message, /^table shop\.orders: its row filter \(capture\.tables\[0\]\) "state = 'x' AND id > 0" reads 'state', which shop\.orders no longer has at mysql-bin\.000001:4/);
      assert.doesNotMatch(error.message, /secret-value/);
      assert.equal(error.context.table, 'shop.orders');
      return true;
    },
  );
});

const MINIMAL = 'source:\n  host: db\n  user: sluice\n';

function configError(text: string): SluiceError {
  try {
    parseConfig(text, 'sluice.yaml', {});
  } catch (error) {
    if (isSluiceError(error, 'SLUICE_CONFIG_INVALID')) return error;
    throw error;
  }
  assert.fail('the config was accepted');
}

test('config: a filter that does not parse names the file, line and key', () => {
  const text = `${MINIMAL}capture:\n  tables:\n    - match: shop.orders\n      columns: { exclude: [ssn] }\n      filter: "amount >= 100 AND region IN ('eu' 'us')"\n`;
  const error = configError(text);
  assert.match(error.message, /^sluice\.yaml:8:15 capture\.tables\[0\]\.filter: not a valid row filter: expected '\)' to close the IN list, found a quoted string \(at character 35 of "amount >= 100 AND region IN \('eu' 'us'\)"\)$/);
  assert.equal(error.context.line, 8);
  assert.equal(error.context.configKey, 'capture.tables[0].filter');

  const rule = configError(`${MINIMAL}routing:\n  rules:\n    - match: '^shop\\.(.*)$'\n      target: ods.$1\n      filter: status ==\n`);
  assert.match(rule.message, /^sluice\.yaml:8:15 routing\.rules\[0\]\.filter: not a valid row filter: expected a column or a value after '=='/);
});

test('config: a hash mask needs a salt; masks and column lists are checked', () => {
  const salted = parseConfig(`${MINIMAL}capture:\n  salt: ${SALT}\n  tables:\n    - match: shop.*\n      mask: { email: hash, phone: fixed, name: { fixed: '#' } }\n`, 'sluice.yaml', {});
  assert.deepEqual(salted.capture.tables[0]!.mask, { email: 'hash', phone: 'fixed', name: { fixed: '#' } });
  assert.equal(parseConfig(MINIMAL, 'sluice.yaml', {}).capture.tables.length, 0);

  const unsalted = configError(`${MINIMAL}capture:\n  tables:\n    - match: shop.*\n      mask: { email: hash }\n`);
  assert.match(unsalted.message, /^sluice\.yaml:7:13 capture\.tables\[0\]\.mask: a 'hash' mask needs capture\.salt/);
  const shortSalt = configError(`${MINIMAL}capture:\n  salt: short\n`);
  assert.match(shortSalt.message, /capture\.salt: expected at least 16 characters/);
  const kind = configError(`${MINIMAL}capture:\n  tables:\n    - match: shop.*\n      mask: { email: sha1 }\n`);
  assert.match(kind.message, /capture\.tables\[0\]\.mask\.email: expected 'hash' \(HMAC-SHA256 with capture\.salt\), 'fixed'/);
  const misspelt = configError(`${MINIMAL}capture:\n  tables:\n    - match: shop.*\n      colums: { exclude: [a] }\n`);
  assert.match(misspelt.message, /unknown key 'colums' \(did you mean 'columns'\?\)/);
});
