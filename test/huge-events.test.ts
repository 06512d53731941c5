// Huge binlog events, end to end. A LONGBLOB row and a LONGTEXT row of 64 MiB each, the UPDATE of
// such a row (one rows event of 128 MiB: both images), and a multi-row INSERT whose one rows event
// passes 16 MiB, the MySQL protocol's packet size, so the server sends each of them in several
// protocol packets. The source runs with max_allowed_packet=64M, as users set it for such rows.
// The real daemon captures them in text and in Parquet; what `sluice query` reads back from the
// warehouse must have the source's digest (MD5 and length of every value), byte for byte.
//
// Its own MariaDB: a rows event holds many rows only up to binlog_row_event_max_size (8 KiB by
// default, read-only at run time), so the server starts with a larger one, as users who want few
// large events set it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type mysql from 'mysql2/promise';
import { isSluiceError } from '../src/core/errors.ts';
import { eventTooLargeError } from '../src/sources/binlog/stream/event-too-large.ts';
import { gtidBinlogPos, makeWorkspace, waitForCheckpoint, withDaemon } from './helpers/daemon.ts';
import { runQueryCli } from './helpers/query-cli.ts';
import { TEST_MARIADB_DIR } from './helpers/servers.ts';
import { startMariaDb, type MariaDbServer } from './servers/mariadb.ts';

const HUGE_DIR = `${process.env.SLUICE_TEST_MARIADB_DIR ?? TEST_MARIADB_DIR}-huge`;
const MIB = 1024 * 1024;
const HUGE_BYTES = 64 * MIB;
const HEAP_MIB = 512;

let server: MariaDbServer;

before(async () => {
  server = await startMariaDb({ dir: HUGE_DIR, extraArgs: ['--binlog-row-event-max-size=256M'] });
  const root = await server.rootConnection();
  await root.query('DROP DATABASE IF EXISTS huge; SET GLOBAL max_allowed_packet = 64 * 1024 * 1024; RESET MASTER');
  await root.query('CREATE DATABASE IF NOT EXISTS huge_marker; DROP DATABASE huge_marker');
  await root.end();
});

after(async () => {
  await server?.stop();
});

/** Builds a value of `bytes` in a session variable, 1 MiB per statement (a statement must fit max_allowed_packet). */
async function buildVariable(connection: mysql.Connection, name: string, chunks: (Buffer | string)[]): Promise<void> {
  await connection.query(`SET @${name} = ${typeof chunks[0] === 'string' ? "''" : "X''"}`);
  for (const chunk of chunks) await connection.query(`SET @${name} = CONCAT(@${name}, ?)`, [chunk]);
}

/** 64 MiB of UTF-8 text holding every character the text format escapes, multi-byte ones and a literal \N. */
function hugeText(): string[] {
  const palette = ['a', 'Z', ' ', 'é', '☃', '😀', '\x01', '\x02', '\n', '\r', '\\', '\\N', '\t', '\x00'];
  const pieces: string[] = [];
  let bytes = 0;
  while (bytes < MIB - 64) {
    const piece = palette[Math.floor(Math.random() * palette.length)]!;
    pieces.push(piece);
    bytes += Buffer.byteLength(piece);
  }
  const base = pieces.join('');
  const baseBytes = Buffer.byteLength(base);
  const chunks: string[] = [];
  for (let index = 0; index < HUGE_BYTES / MIB; index++) {
    const head = `<${index}>`;
    chunks.push(head + base + 'x'.repeat(MIB - baseBytes - head.length));
  }
  return chunks;
}

const TABLE_DIGEST_SQL = {
  mariadb: 'SELECT id, MD5(b) AS b_md5, LENGTH(b) AS b_len, MD5(t) AS t_md5, LENGTH(t) AS t_len FROM huge.t ORDER BY id',
  duckdb:
    'SELECT id, md5(b) AS b_md5, octet_length(b) AS b_len, md5(t) AS t_md5, strlen(t) AS t_len, _op, _seq FROM huge.t ' +
    "UNION ALL SELECT count(DISTINCT _seq), md5(string_agg(CAST(id AS VARCHAR) || ':' || hex(v), ',' ORDER BY id)), count(*), NULL, NULL, 'many', NULL FROM huge.m " +
    // A key move's delete and update share the event's one _seq (sinks/key-move.ts): _op orders the
    // two ('delete' before 'update'), which the files need not.
    'ORDER BY _seq, _op',
};
// The many-row event, digested alike on both sides: every id with the hex of its bytes, in id order.
const MANY_DIGEST_MARIADB = "SELECT MD5(GROUP_CONCAT(id, ':', HEX(v) ORDER BY id SEPARATOR ',')) AS digest, COUNT(*) AS n FROM huge.m";

function peakRssMiB(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024);
}

type Digest = [id: string, bMd5: string | null, bLength: string | null, tMd5: string | null, tLength: string | null];

describe('huge events', () => {
  let blob: Digest;
  let text: Digest;
  let many: { digest: string; n: string };

  before(async () => {
    const connection = await server.rootConnection();
    await connection.query(
      'CREATE DATABASE huge; CREATE TABLE huge.t (id INT PRIMARY KEY, b LONGBLOB, t LONGTEXT) CHARACTER SET utf8mb4; ' +
        'CREATE TABLE huge.m (id INT PRIMARY KEY, v VARBINARY(1024))',
    );
    // Each value is exactly 64 MiB, max_allowed_packet: what the server lets a value be.
    await buildVariable(connection, 'b', Array.from({ length: HUGE_BYTES / MIB }, () => randomBytes(MIB)));
    await connection.query('INSERT INTO huge.t VALUES (1, @b, NULL)');
    await buildVariable(connection, 's', hugeText());
    await connection.query('INSERT INTO huge.t VALUES (2, NULL, @s)');
    await connection.query('SET @b = NULL, @s = NULL');
    const [before] = await connection.query(TABLE_DIGEST_SQL.mariadb);
    // Both images of the row in one rows event: 128 MiB, twice max_allowed_packet.
    await connection.query('UPDATE huge.t SET id = 3 WHERE id = 1');
    // 30,000 rows of 1000 bytes in one statement: one rows event of about 30 MiB.
    await connection.query('INSERT INTO huge.m SELECT seq, RANDOM_BYTES(1000) FROM huge.seq_1_to_30000');
    await connection.query('SET SESSION group_concat_max_len = 1024 * 1024 * 1024');
    const [manyRows] = await connection.query(MANY_DIGEST_MARIADB);
    await connection.end();
    const asText = (value: unknown): string | null => (value === null ? null : String(value));
    const digests = (before as Record<string, unknown>[]).map((row) => [asText(row.id), asText(row.b_md5), asText(row.b_len), asText(row.t_md5), asText(row.t_len)] as Digest);
    [blob, text] = digests as [Digest, Digest];
    assert.equal(blob[2], String(HUGE_BYTES), 'the source holds the whole 64 MiB blob');
    assert.equal(text[4], String(HUGE_BYTES), 'the source holds the whole 64 MiB text');
    const manyRow = (manyRows as { digest: string; n: unknown }[])[0]!;
    many = { digest: manyRow.digest, n: String(manyRow.n) };
  });

  for (const format of ['text', 'parquet']) {
    test(`${format}: 64 MiB values and rows events past 16 MiB land byte for byte`, async () => {
      const end = await gtidBinlogPos(server);
      const workspace = makeWorkspace(server, { start: 'earliest', routing: "  include: ['huge.*']", sinkExtra: `  format: ${format}` });
      // A heap that holds a few copies of a 64 MiB value and not many more: a sink that multiplies a
      // huge row (the whole line as strings, then its bytes) runs out of it and the daemon dies.
      const env = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${HEAP_MIB}` };
      const started = Date.now();
      const { daemon } = await withDaemon(workspace, server, async (daemon) => {
        await waitForCheckpoint(workspace, end, 90_000, daemon);
        // A figure to read, not to assert on (see "Huge rows" in docs/when-things-go-wrong.md).
        console.log(`${format}: every change committed in ${Date.now() - started} ms; the daemon's peak RSS (VmHWM) was ${peakRssMiB(daemon.child.pid)} MiB`);
      }, { env });
      assert.doesNotMatch(daemon.output(), /"level":50/, 'no error was logged');
      const rows = await runQueryCli(workspace, server, TABLE_DIGEST_SQL.duckdb);
      const landed = rows.map((row) => [row.id, row.b_md5, row.b_len, row.t_md5, row.t_len, row._op]);
      const [, ...blobValues] = blob;
      const [, ...textValues] = text;
      assert.deepEqual(landed, [
        ['1', ...blobValues, 'insert'],
        ['2', ...textValues, 'insert'],
        // The UPDATE moved the row's key: the old key's delete (its before image), then the new key's update.
        ['1', ...blobValues, 'delete'],
        ['3', ...blobValues, 'update'],
        // The many-row event: each of its 30,000 rows once, with the source's bytes.
        [many.n, many.digest.toLowerCase(), many.n, null, null, 'many'],
      ]);
    });
  }
});

// What cannot pass: an event past the dump thread's limit (1 GiB on MariaDB, whatever max_allowed_packet
// says, so not built here), and a text value past Node's longest string (~512 MiB). Both are the
// errors the stream reports, shaped as mysql2 and Node.js make them; each must stop the daemon with a
// code naming the limit, not be retried for ever as a passing stream failure.
describe('events too large to pass', () => {
  const at = 'mysql-bin.000007:4711';

  test("the server's max_allowed_packet refusal names the setting and the way on", () => {
    const refusal = Object.assign(
      new Error('log event entry exceeded max_allowed_packet; Increase max_allowed_packet on master; the first event ... failed'),
      { errno: 1236, code: 'ER_MASTER_FATAL_ERROR_READING_BINLOG' },
    );
    const error = eventTooLargeError(refusal, '127.0.0.1:3306', at);
    assert.ok(isSluiceError(error, 'SLUICE_BINLOG_EVENT_TOO_LARGE'));
    assert.equal(error.retriable, false);
    assert.match(error.message, /127\.0\.0\.1:3306 .*after mysql-bin\.000007:4711.*SET GLOBAL max_allowed_packet = 1073741824/);
    // Error 1236 for a purged position stays what it was.
    assert.equal(eventTooLargeError(Object.assign(new Error('Could not find GTID state requested by slave in any binlog files'), { errno: 1236 }), '127.0.0.1:3306', at), undefined);
  });

  test('a text value past the longest string Node.js can hold names the limit', () => {
    const tooLong = Object.assign(new Error('Cannot create a string longer than 0x1fffffe8 characters'), { code: 'ERR_STRING_TOO_LONG' });
    const error = eventTooLargeError(tooLong, '127.0.0.1:3306', at);
    assert.ok(isSluiceError(error, 'SLUICE_BINLOG_EVENT_TOO_LARGE'));
    assert.equal(error.retriable, false);
    assert.match(error.message, /after mysql-bin\.000007:4711 .*536,870,888 UTF-16 units.*routing\.exclude.*sluice checkpoint set/);
    assert.equal(eventTooLargeError(new Error('read ECONNRESET'), '127.0.0.1:3306', at), undefined);
  });
});
