// The write buffer every local and spooled file goes through: a full buffer is written while the
// next one fills, so the bytes must still land in the order they were handed over, and a write that
// failed while nobody waited for it must still fail the file's flush (a checkpoint closes its files
// with flush before it records them: a lost write would be a lost row).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BufferedFileHandle } from '../src/filesystem/buffered-file-handle.ts';

test('rows, in-place rows and large chunks land in the order they were handed over', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-buffered-'));
  try {
    const file = join(dir, 'out');
    const buffer = new BufferedFileHandle(await open(file, 'w'), file);
    const expected: Buffer[] = [];
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let index = 0; index < 40_000; index++) {
      const kind = next() % 100;
      if (kind < 60) {
        const text = `row ${index} ${'é'.repeat(next() % 40)}\n`;
        expected.push(Buffer.from(text, 'utf8'));
        await buffer.write(text);
      } else if (kind < 97) {
        // As the text encoder does: bytes straight into the buffer, after making room when short.
        const row = Buffer.from(`in place ${index} ${'x'.repeat(next() % 300)}\n`, 'latin1');
        if (buffer.bytes.length - buffer.at <= row.length) await buffer.makeRoom();
        row.copy(buffer.bytes, buffer.at);
        buffer.advance(buffer.at + row.length);
        expected.push(row);
      } else {
        const chunk = Buffer.alloc(next() % 400_000, index % 251);
        expected.push(chunk);
        await buffer.write(chunk);
      }
    }
    await buffer.flush();
    await buffer.handle.close();
    const written = readFileSync(file);
    const whole = Buffer.concat(expected);
    assert.equal(buffer.written, whole.length, 'every byte counted once');
    assert.equal(written.length, whole.length, 'the file holds every byte');
    assert.ok(written.equals(whole), 'in the order they were handed over');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a write that fails while the next buffer fills fails the flush that closes the file, naming it', async () => {
  // The kernel's full disk: every write to /dev/full is ENOSPC.
  const buffer = new BufferedFileHandle(await open('/dev/full', 'w'), '/dev/full');
  const row = Buffer.alloc(1000, 0x61);
  let rejected: unknown;
  try {
    // Enough rows to fill the buffer: its write goes out in flight, and nobody waits for it yet.
    for (let index = 0; index < 300; index++) await buffer.write(row);
  } catch (error) {
    rejected = error;
  }
  if (rejected === undefined) {
    rejected = await buffer.flush().then(
      () => undefined,
      (error: unknown) => error,
    );
  }
  assert.equal((rejected as NodeJS.ErrnoException | undefined)?.code, 'ENOSPC', 'the failed write is not passed over');
  assert.equal((rejected as NodeJS.ErrnoException).path, '/dev/full');
  // And it stays failed: a later flush does not report the file as written.
  await assert.rejects(buffer.flush(), { code: 'ENOSPC' });
  await buffer.discard();
});
