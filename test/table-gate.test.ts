// The gate that lets a stopped table fall behind while the others go on, and catch up after a restart
// without the others taking a change twice.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { upgradeRecord, type CheckpointRecord } from '../src/checkpoint/checkpoint-record.ts';
import type { BinlogSourceState } from '../src/sources/binlog/position/binlog-position.ts';
import { highestSequence, TableGate } from '../src/checkpoint/table-gate.ts';

function at(sequence: number): BinlogSourceState {
  return { kind: 'binlog', position: { file: 'mysql-bin.000001', offset: 1000 + sequence, gtidSet: `0-1-${sequence}` }, nextSequence: String(sequence) };
}

function record(source: BinlogSourceState, tables?: CheckpointRecord['tables']): CheckpointRecord {
  return upgradeRecord({ format: 1, id: 7, jobId: 'j', createdAt: '2026-12-04T00:00:00Z', source, commits: [], ...(tables ? { tables } : {}) });
}

const failure = { code: 'SLUICE_SCHEMA_UNSUPPORTED', message: 'decimal(38,10) does not fit', at: 'mysql-bin.000001:1234' };

describe('table gate', () => {
  it('admits every change when nothing is stopped, and records nothing about tables', () => {
    const { gate, start, retrying } = TableGate.resume(record(at(10)));
    assert.deepEqual(start, at(10));
    assert.deepEqual(retrying, []);
    assert.equal(gate.admits('ods.a', 10n), true);
    assert.equal(gate.progressAt(at(20)), undefined);
  });

  it('says while tables catch up after a retry (the snapshot holds its rows back meanwhile)', () => {
    const stopped = TableGate.resume(record(at(10)));
    assert.equal(stopped.gate.catchingUp, false);
    stopped.gate.stop('ods.a', at(15), failure);
    const { gate } = TableGate.resume(record(at(40), stopped.gate.progressAt(at(40))));
    assert.equal(gate.catchingUp, true, 'the others skip up to 40');
    gate.progressAt(at(30));
    assert.equal(gate.catchingUp, true, 'not past 40 yet');
    gate.progressAt(at(41));
    assert.equal(gate.catchingUp, false);
  });

  it('a stopped table takes nothing more and holds what the last checkpoint committed', () => {
    const { gate } = TableGate.resume(record(at(10)));
    const entry = gate.stop('ods.a', at(15), failure);
    assert.deepEqual(entry.since, at(15));
    assert.equal(gate.admits('ods.a', 16n), false);
    assert.equal(gate.admits('ods.b', 16n), true);
    const progress = gate.progressAt(at(30));
    assert.deepEqual(Object.keys(progress?.stopped ?? {}), ['ods.a']);
    assert.equal(progress?.stopped?.['ods.a']?.code, failure.code);
    assert.equal(progress?.ahead, undefined);
  });

  it('a table that caught up past its point keeps what it committed when another stays stopped at an earlier one', () => {
    // a and b stopped; a restart retries both from 15; a stops again at once, b catches up to 30.
    const first = TableGate.resume(record(at(10)));
    first.gate.stop('ods.a', at(15), failure);
    first.gate.stop('ods.b', at(22), failure);
    const retry = TableGate.resume(record(at(40), first.gate.progressAt(at(40))));
    retry.gate.stop('ods.a', at(15), failure);
    const midway = record(at(30), retry.gate.progressAt(at(30)));

    // A crash there: the next start reads from a's point again, before the record.
    const { gate, start } = TableGate.resume(midway);
    assert.deepEqual(start, at(15));
    assert.equal(gate.admits('ods.b', 25n), false, 'b committed everything before 30 at the record');
    assert.equal(gate.admits('ods.b', 30n), true);
    assert.equal(gate.admits('ods.c', 39n), false);
    assert.equal(gate.admits('ods.a', 15n), true);
  });

  it('a restart retries stopped tables from the earliest of them, and the others skip what they hold', () => {
    const stopped = TableGate.resume(record(at(10)));
    stopped.gate.stop('ods.a', at(15), failure);
    stopped.gate.stop('ods.b', at(22), failure);
    const written = record(at(40), stopped.gate.progressAt(at(40)));

    const { gate, start, retrying } = TableGate.resume(written);
    assert.deepEqual(start, at(15), 'the earliest stopped point');
    assert.deepEqual(retrying.map(([table]) => table).sort(), ['ods.a', 'ods.b']);
    assert.equal(gate.admits('ods.a', 15n), true, 'a from its own point');
    assert.equal(gate.admits('ods.b', 21n), false, 'b holds everything before 22');
    assert.equal(gate.admits('ods.b', 22n), true);
    assert.equal(gate.admits('ods.c', 39n), false, 'every other table holds everything before the record');
    assert.equal(gate.admits('ods.c', 40n), true);

    // A checkpoint during the catch-up records who is ahead, so a crash there resumes the same way.
    const midway = gate.progressAt(at(30));
    assert.deepEqual(midway, { ahead: { others: at(40), tables: { 'ods.a': at(15), 'ods.b': at(22) } } });
    const crashed = TableGate.resume(record(at(30), midway));
    assert.deepEqual(crashed.start, at(30));
    assert.equal(crashed.gate.admits('ods.c', 39n), false);
    assert.equal(crashed.gate.admits('ods.a', 30n), true);
    assert.equal(crashed.gate.progressAt(at(40)), undefined, 'caught up: nothing left to record');
  });

  it('a table that fails again while catching up keeps the point it already held', () => {
    const first = TableGate.resume(record(at(10)));
    first.gate.stop('ods.a', at(15), failure);
    const { gate } = TableGate.resume(record(at(40), first.gate.progressAt(at(40))));
    // The catch-up has recorded nothing yet (the last record is the start at 15), or a checkpoint at 12.
    assert.deepEqual(gate.stop('ods.a', at(15), failure).since, at(15));
    const other = TableGate.resume(record(at(30), { ahead: { others: at(40) } }));
    assert.deepEqual(other.gate.stop('ods.c', at(35), failure).since, at(40), 'c already held everything before 40');
  });

  it('a moved checkpoint goes on above every sequence number a table already has', () => {
    assert.equal(highestSequence(record(at(30), { ahead: { others: at(40), tables: { 'ods.b': at(35) } } })), 40n);
    assert.equal(highestSequence(record(at(30))), 30n);
  });
});
