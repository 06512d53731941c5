import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reconcileHiveType } from '../src/catalog/type-evolution.ts';

test('integer widening follows, narrowing keeps the wider column', () => {
  assert.deepEqual(reconcileHiveType('int', 'bigint'), { kind: 'widen', type: 'bigint' });
  assert.deepEqual(reconcileHiveType('bigint', 'int'), { kind: 'keep' });
  assert.deepEqual(reconcileHiveType('smallint', 'tinyint'), { kind: 'keep' });
});

test('an integer meeting a decimal becomes a decimal wide enough for both', () => {
  assert.deepEqual(reconcileHiveType('bigint', 'decimal(20,0)'), { kind: 'widen', type: 'decimal(20,0)' });
  assert.deepEqual(reconcileHiveType('int', 'decimal(5,2)'), { kind: 'widen', type: 'decimal(12,2)' });
  assert.deepEqual(reconcileHiveType('decimal(10,2)', 'decimal(8,4)'), { kind: 'widen', type: 'decimal(12,4)' });
  assert.deepEqual(reconcileHiveType('decimal(12,4)', 'decimal(8,2)'), { kind: 'keep' });
  assert.deepEqual(reconcileHiveType('decimal(38,0)', 'decimal(38,10)'), { kind: 'incompatible' });
});

test('anything but binary can become a string; binary never changes', () => {
  assert.deepEqual(reconcileHiveType('int', 'string'), { kind: 'widen', type: 'string' });
  assert.deepEqual(reconcileHiveType('string', 'bigint'), { kind: 'keep' });
  assert.deepEqual(reconcileHiveType('binary', 'string'), { kind: 'incompatible' });
  assert.deepEqual(reconcileHiveType('string', 'binary'), { kind: 'incompatible' });
  assert.deepEqual(reconcileHiveType('float', 'double'), { kind: 'widen', type: 'double' });
  assert.deepEqual(reconcileHiveType('double', 'float'), { kind: 'keep' });
});
