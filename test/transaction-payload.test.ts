// The reading of MySQL's TRANSACTION_PAYLOAD event without a server: how the inner events are framed
// for zongji, where positions go, back-pressure, and the coded error for every payload that cannot be
// read (test/mysql-compression.test.ts runs the real thing on MySQL 9.7).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { isSluiceError, SluiceError } from '../src/core/errors.ts';
import { readPayloadBody, replayTransactionPayload, type TransactionPayloadEvent } from '../src/sources/binlog/decode/transaction-payload.ts';
import { inflateByBlocks } from '../src/sources/binlog/decode/zstd-blocks.ts';

const HEADER = 19;

/** A binlog event as the server writes it inside a payload: 19-byte header (end_log_pos 0), no checksum. */
function innerEvent(type: number, body: Buffer): Buffer {
  const event = Buffer.alloc(HEADER + body.length);
  event.writeUInt32LE(1_700_000_000, 0);
  event[4] = type;
  event.writeUInt32LE(1, 5);
  event.writeUInt32LE(event.length, 9);
  body.copy(event, HEADER);
  return event;
}

/** The body of a TRANSACTION_PAYLOAD event: its header fields (type, length, value), the end mark, the payload. */
function payloadBody(compression: number, payload: Buffer, extraField = false): Buffer {
  // A packed integer: one byte below 251, else 0xfc and two bytes (255 is 0xfc 0xff 0x00).
  const fields = compression < 251 ? [2, 1, compression] : [2, 3, 252, compression & 0xff, compression >> 8];
  const size = [1, 1, payload.length];
  const unknown = extraField ? [9, 3, 0xaa, 0xbb, 0xcc] : [];
  if (payload.length >= 251) throw new Error('the test keeps payloads short');
  return Buffer.concat([Buffer.from([...fields, ...unknown, ...size, 0]), payload]);
}

function payloadEvent(body: Buffer, nextPosition = 5000): TransactionPayloadEvent {
  return { timestamp: 0, nextPosition, size: body.length, ...readPayloadBody(body) };
}

/** zongji as the replay sees it: a Binlog command that records what it is handed, and a socket to pause. */
class FakeZongJi extends EventEmitter {
  options = { position: 5000 };
  stopped = false;
  useChecksum = true;
  fed: { bytes: Buffer; position: number }[] = [];
  socket = { paused: false };
  onFeed: (bytes: Buffer) => void = () => undefined;
  connection = {
    pause: () => {
      this.socket.paused = true;
    },
    resume: () => {
      this.socket.paused = false;
    },
    _command: {
      binlogData: (packet: object) => {
        const { buffer, offset, end } = packet as { buffer: Buffer; offset: number; end: number };
        const bytes = Buffer.from(buffer.subarray(offset, end));
        this.fed.push({ bytes, position: this.options.position });
        this.onFeed(bytes);
      },
    },
  };
}

const replayOptions = { describe: () => 'mysql-bin.000004:4721 (GTID u:9)', classify: () => undefined };

test('the inner events reach zongji framed as the dump sends events: a marker byte, a checksum placeholder, the last one ending at the payload\'s end', async () => {
  const begin = innerEvent(2, Buffer.from('BEGIN'));
  const xid = innerEvent(16, Buffer.alloc(8, 1));
  const body = payloadBody(255, Buffer.concat([begin, xid]), true);
  const zongji = new FakeZongJi();
  await replayTransactionPayload(zongji, payloadEvent(body), replayOptions);

  assert.equal(zongji.fed.length, 2);
  for (const [index, inner] of [begin, xid].entries()) {
    const { bytes, position } = zongji.fed[index]!;
    assert.equal(bytes[0], 0, 'the OK marker the dump puts before each event');
    assert.equal(bytes.length, 1 + inner.length + 4, 'with room for the checksum zongji takes off');
    assert.equal(bytes.readUInt32LE(1 + 9), inner.length + 4, 'event_length counts it, as a checksummed event does');
    assert.deepEqual(bytes.subarray(1 + HEADER, 1 + inner.length), inner.subarray(HEADER));
    assert.equal(position, 5000 - (HEADER + body.length + 4), 'zongji reads the inner events at the payload\'s start');
  }
  assert.equal(zongji.fed[0]!.bytes.readUInt32LE(1 + 13), 0, 'an inner event moves no position');
  assert.equal(zongji.fed[1]!.bytes.readUInt32LE(1 + 13), 5000, 'the last one ends where the payload ends');
  assert.equal(zongji.socket.paused, false, 'the socket is resumed after the last one');
});

test('whoever pauses the socket while a payload is replayed (the full queue, a TableMap lookup) holds the replay until they resume', async () => {
  const events = [1, 2, 3].map((n) => innerEvent(2, Buffer.from(`Q${n}`)));
  const zongji = new FakeZongJi();
  const { pause, resume } = zongji.connection;
  zongji.onFeed = () => zongji.connection.pause();
  const done = replayTransactionPayload(zongji, payloadEvent(payloadBody(255, Buffer.concat(events))), replayOptions);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(zongji.fed.length, 1, 'nothing more until the pause ends');
  zongji.onFeed = () => undefined;
  zongji.connection.resume();
  await done;
  assert.equal(zongji.fed.length, 3);
  assert.equal(zongji.socket.paused, false);
  assert.ok(zongji.connection.pause === pause && zongji.connection.resume === resume, 'the socket\'s own pause and resume are back');
});

async function replayError(body: Buffer, setup: (zongji: FakeZongJi) => void = () => undefined): Promise<{ error: SluiceError; zongji: FakeZongJi }> {
  const zongji = new FakeZongJi();
  setup(zongji);
  let caught: unknown;
  await replayTransactionPayload(zongji, payloadEvent(body), replayOptions).catch((error: unknown) => (caught = error));
  assert.ok(caught instanceof SluiceError, `a coded error, not ${String(caught)}`);
  return { error: caught, zongji };
}

test('a payload that cannot be read is a coded error naming its position and the setting, and its last event never reaches zongji', async () => {
  const xid = innerEvent(16, Buffer.alloc(8, 1));
  const cases: [string, Buffer, RegExp][] = [
    ['a zstd frame that does not decompress', payloadBody(0, Buffer.from('not zstd at all')), /its zstd data does not decompress: no zstd frame starts at byte 0/],
    ['an inner event cut short', payloadBody(255, Buffer.concat([xid, xid.subarray(0, 25)])), /it ends 25 bytes into an unfinished inner event/],
    ['an inner event shorter than a header', payloadBody(255, Buffer.from([...Buffer.alloc(9), 4, 0, 0, 0, ...Buffer.alloc(10)])), /gives its length as 4 bytes/],
    ['a header without a compression type', Buffer.from([1, 1, 0, 0]), /its header cannot be read: the header lacks the payload size or the compression type/],
    ['a header whose payload runs past the event', Buffer.from([2, 1, 0, 1, 1, 200, 0, 1, 2]), /gives a payload of 200 bytes, but 2 follow it/],
  ];
  for (const [what, body, message] of cases) {
    const { error, zongji } = await replayError(body);
    assert.equal(error.code, 'SLUICE_BINLOG_PAYLOAD_UNREADABLE', what);
    assert.match(error.message, /^the compressed transaction \(TRANSACTION_PAYLOAD event, binlog_transaction_compression=ON\) at mysql-bin\.000004:4721 \(GTID u:9\) cannot be read: /, what);
    assert.match(error.message, message, what);
    assert.equal(error.context.setting, 'binlog_transaction_compression');
    assert.ok(zongji.fed.every((entry) => entry.bytes.readUInt32LE(1 + 13) === 0), `${what}: no event that would end the transaction`);
  }
});

test('a zongji whose Binlog command cannot be reached is an error, not a transaction stepped over', async () => {
  const body = payloadBody(255, innerEvent(16, Buffer.alloc(8)));
  const { error } = await replayError(body, (zongji) => Object.assign(zongji.connection, { _command: null }));
  assert.match(error.message, /zongji's Binlog command cannot be reached/);
  assert.equal(error.code, 'SLUICE_BINLOG_PAYLOAD_UNREADABLE');
});

test('an inner event zongji reports is the payload\'s error, unless the stream has a code of its own for it', async () => {
  const body = payloadBody(255, Buffer.concat([innerEvent(19, Buffer.alloc(4)), innerEvent(16, Buffer.alloc(8))]));
  const { error } = await replayError(body, (zongji) => (zongji.onFeed = () => zongji.emit('error', new Error('Unsupported type "250"'))));
  assert.match(error.message, /its inner event 1 cannot be decoded: Unsupported type "250"/);
  const own = new SluiceError('SLUICE_BINLOG_UNSUPPORTED_EVENT', 'partial JSON');
  const zongji = new FakeZongJi();
  zongji.onFeed = () => zongji.emit('error', new Error('PARTIAL_UPDATE_ROWS_EVENT'));
  await assert.rejects(
    replayTransactionPayload(zongji, payloadEvent(body), { ...replayOptions, classify: (_error, at) => (assert.match(at, /4721 \(GTID u:9\), inner event 1 of the compressed transaction$/), own) }),
    (error) => error === own,
  );
});

test('a compression type other than zstd or none keeps SLUICE_BINLOG_UNSUPPORTED_EVENT', async () => {
  const { error, zongji } = await replayError(payloadBody(7, innerEvent(16, Buffer.alloc(8))));
  assert.ok(isSluiceError(error, 'SLUICE_BINLOG_UNSUPPORTED_EVENT'));
  assert.match(error.message, /at mysql-bin\.000004:4721 \(GTID u:9\) uses compression type 7, which sluice does not know/);
  assert.equal(error.context.setting, 'binlog_transaction_compression');
  assert.equal(zongji.fed.length, 0);
});

test('zstd is inflated a block at a time: a 300 kB frame (RLE and compressed blocks, content checksum) comes out in pieces of at most 128 KiB', () => {
  // zstd -3 --check of 200,000 bytes of 7, then 100,000 bytes of (i * 7919) % 251.
  const frame = Buffer.from(
    'KLUv/aTgkwQAVAAAEAcHAQD7/znAAlQIAMQPBwCKGaMyvEvVZO59DJYlrz7IV+Fw+okYojG7StRj7XwLlSSuPcdW4G/5iBehMLpJ02LsewqUI608xlXfbviHFqAvuUjSYet6CZMirDvFVN5t94YVny64R9Fg6nkIkiGrOsRT3Wz2hRSeLbdG0F/peAeRIKo5w1Lca/WEE50stkXPXuh3BpAfqTjCUdtq9IMSnCu1RM5d53YFjx6oN8FQ2mnzghGbKrRDzVzmdQSOHac2wE/ZaPKBEJops0LMW+V0A40cpjW/Tthn8YAPmSiyQcta5HMCjBulNL5N12bwfw6YJ7FAylnjcgGLGqQzvUzWZe9+DZcmsD/JWOJxAgB74bjf6MLTkAM2TQAACM4BANwTHQgBbCqIaw==',
    'base64',
  );
  const expected = Buffer.concat([Buffer.alloc(200_000, 7), Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 251))]);
  const pieces = [...inflateByBlocks(frame), ...inflateByBlocks(Buffer.concat([frame, frame]))];
  assert.ok(pieces.length >= 6 && pieces.every((piece) => piece.length <= 128 * 1024), `pieces of ${pieces.map((piece) => piece.length).join(', ')} bytes`);
  assert.deepEqual(Buffer.concat(pieces), Buffer.concat([expected, expected, expected]), 'one frame, then two in a row');
  assert.throws(() => [...inflateByBlocks(frame.subarray(0, frame.length - 10))], /the payload ends inside a block/);
});
