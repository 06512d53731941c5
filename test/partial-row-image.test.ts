// Row images without every column (a session's binlog_row_image=MINIMAL or NOBLOB) must never be
// written with NULLs for the missing columns: the table stops, naming the setting. An event zongji
// cannot decode (MySQL's partial JSON updates) stops the stream.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSluiceError } from '../src/core/errors.ts';
import { fedSource } from './helpers/fed-source.ts';
import { changesOf, checkpointAtEnd, withCapture } from './helpers/stopped-changes.ts';

test('MINIMAL and NOBLOB row images stop their tables, naming binlog_row_image; FULL ones go on', { timeout: 120_000 }, async () => {
  const setup = (tag: string) =>
    ['minimal', 'noblob', 'minimal_insert', 'u'].map((table) => `CREATE TABLE ${tag}.${table} (id INT PRIMARY KEY, v VARCHAR(20), b BLOB)`).join('; ');
  await withCapture('ri', setup, async ({ server, db, tag, workspace, daemon }) => {
    for (const table of ['minimal', 'noblob', 'minimal_insert', 'u']) await db.query(`INSERT INTO ${tag}.${table} VALUES (1, 'row', 'blob')`);
    await checkpointAtEnd(workspace, daemon, server);
    const session = await server.rootConnection(tag);
    try {
      await session.query('SET SESSION binlog_row_image=MINIMAL');
      await session.query(`UPDATE minimal SET v = 'minimal' WHERE id = 1`);
      // An INSERT that names only some columns leaves the others out of its row under MINIMAL.
      await session.query(`INSERT INTO minimal_insert (id) VALUES (2)`);
      await session.query('SET SESSION binlog_row_image=NOBLOB');
      await session.query(`DELETE FROM noblob WHERE id = 1`);
      // An insert carries every column under NOBLOB: nothing is missing, the table goes on.
      await session.query(`INSERT INTO u VALUES (2, 'noblob', 'b2')`);
    } finally {
      await session.end();
    }
    await db.query(`UPDATE ${tag}.u SET v = 'after' WHERE id = 1`);
    const record = await checkpointAtEnd(workspace, daemon, server);

    const stopped = record.tables?.stopped ?? {};
    assert.deepEqual(Object.keys(stopped).sort(), [`${tag}.minimal`, `${tag}.minimal_insert`, `${tag}.noblob`]);
    for (const [table, entry] of Object.entries(stopped)) {
      assert.equal(entry.code, 'SLUICE_BINLOG_ROW_IMAGE', table);
      assert.match(entry.message, new RegExp(`^table ${table}: the \\w+ rows event of ${table} at mysql-bin\\.\\d+:\\d+ \\(GTID 0-1-\\d+\\) does not carry every column`));
      assert.match(entry.message, /binlog_row_image=MINIMAL or NOBLOB/);
      assert.match(entry.message, new RegExp(`sluice checkpoint skip-table ${table}\``));
    }
    assert.match(stopped[`${tag}.minimal`]!.message, /the update rows event .*\(v, b missing from the before image; id, b missing from the after image\)/);
    assert.match(stopped[`${tag}.minimal_insert`]!.message, /the insert rows event .*\(v, b missing from the row\)/);
    assert.match(stopped[`${tag}.noblob`]!.message, /the delete rows event .*\(b missing from the before image\)/);
    assert.equal(daemon.child.exitCode, null);

    for (const table of ['minimal', 'noblob', 'minimal_insert']) assert.deepEqual(await changesOf(workspace, tag, table), ['insert 1 row'], table);
    assert.deepEqual(await changesOf(workspace, tag, 'u'), ['insert 1 row', 'insert 2 noblob', 'update 1 after']);
  });
});

// zongji's own class for the event, so the test feeds the exact error text zongji emits. MariaDB
// cannot write it, so this path is tested without a server. (zongji's error for a compressed
// transaction is gone: sluice decodes them, see test/mysql-compression.test.ts.)
type UnsupportedEventClass = { name: string; unsupportedReason: string };
const zongjiEvents = (await import(new URL('../node_modules/@vlasky/zongji/lib/binlog_event.js', import.meta.url).href)) as Record<string, UnsupportedEventClass>;
for (const [EventClass, setting] of [[zongjiEvents.PartialUpdateRows!, 'binlog_row_value_options']] as const) {
  test(`zongji's error for a ${EventClass.name} event stops the stream, naming ${setting}, and no later boundary is handed on`, async () => {
    const { source, emit, report } = fedSource(['*.*']);
    emit({ name: 'xid', nextPosition: 4800 });
    // What zongji does with such an event: reports it once ('error'), emits no rows, reads on.
    report(new Error(EventClass.unsupportedReason));
    emit({ name: 'xid', nextPosition: 4900 });

    const first = await source.next();
    assert.equal(first.kind, 'boundary', 'what came before the event is handed on');
    await assert.rejects(source.next(), (error: unknown) => {
      assert.ok(isSluiceError(error, 'SLUICE_BINLOG_UNSUPPORTED_EVENT'), String(error));
      assert.equal(error.retriable, false);
      assert.equal(error.context.setting, setting);
      assert.match(error.message, new RegExp(`^127\\.0\\.0\\.1:1 sent a \\w+ after mysql-bin\\.000007:4800, .*${setting}`));
      return true;
    });
  });
}
