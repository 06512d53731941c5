// FtpFileSystem against a real pure-ftpd (test/servers/ftp.ts): every FileSystem method, the staging
// and rename steps of the batch copy's FTP writer, several writers at once, dropped connections, and
// errors that name the server and the file.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isSluiceError } from '../src/core/errors.ts';
import { FtpFileSystem } from '../src/filesystem/ftp-filesystem.ts';
import { testFtp, type FtpEndpoints } from './helpers/servers.ts';
import { writeWholeFile } from './helpers/whole-file.ts';

const MiB = 1024 * 1024;
const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('FtpFileSystem on a real pure-ftpd', () => {
  let server: FtpEndpoints;
  let fs: FtpFileSystem;
  const opened: FtpFileSystem[] = [];
  // A fresh directory per run: the server's root may outlive this file.
  const base = `/ftp-test-${randomUUID().slice(0, 8)}`;

  function open(options: Partial<ConstructorParameters<typeof FtpFileSystem>[0]> = {}): FtpFileSystem {
    const made = new FtpFileSystem({ host: server.host, port: server.port, user: server.user, password: server.password, root: base, timeoutMs: 10_000, ...options });
    opened.push(made);
    return made;
  }

  /** Where a FileSystem path of `fs` lies on the server's disk. */
  const onDisk = (path: string): string => join(server.rootDir, base, path);

  before(async () => {
    server = await testFtp();
    fs = open();
  });

  after(async () => {
    await fs.delete('/', true);
    for (const made of opened) await made.close();
  });

  test('a 20 MiB file streams to the server while it is written, and close() returns once all of it is there', async (t) => {
    const data = randomBytes(20 * MiB);
    const path = '/big/.data/0.job.0';
    const writer = await fs.create(path);
    let offset = 0;
    // Uneven chunks, as rows are.
    for (let size = 1; offset < data.length; size = (size * 7 + 13) % (512 * 1024)) {
      await writer.write(data.subarray(offset, offset + size + 1));
      offset += size + 1;
    }
    assert.equal(writer.bytesWritten, data.length);
    // Bounded memory: only the last chunk and socket buffers are not on the server yet.
    assert.ok(statSync(onDisk(path)).size > 15 * MiB, `only ${statSync(onDisk(path)).size} bytes reached the server before close()`);
    const started = process.hrtime.bigint();
    await writer.close();
    t.diagnostic(`close() after 20 MiB: ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(0)} ms`);
    assert.equal(statSync(onDisk(path)).size, data.length, 'close() resolved before the server had every byte');
    assert.deepEqual(await fs.status(path), { path, type: 'file', length: data.length });
    assert.equal(sha(await fs.readFile(path)), sha(data));
  });

  test('every byte value round-trips unchanged (binary mode, no line-end translation)', async () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const data = Buffer.concat([all, Buffer.from('\r\n\n\r\r\n\u0000\u00ff', 'latin1'), all.reverse(), Buffer.from('\n')]);
    await writeWholeFile(fs, '/binary/all-bytes', data);
    assert.deepEqual(readFileSync(onDisk('/binary/all-bytes')), data);
    assert.deepEqual(await fs.readFile('/binary/all-bytes'), data);
  });

  test('an empty file, and a file written as many small strings', async () => {
    await writeWholeFile(fs, '/small/empty', Buffer.alloc(0));
    assert.deepEqual(await fs.status('/small/empty'), { path: '/small/empty', type: 'file', length: 0 });
    assert.equal((await fs.readFile('/small/empty')).length, 0);
    const writer = await fs.create('/small/lines');
    const lines = Array.from({ length: 5000 }, (_, i) => `row ${i}\u0001é\n`);
    for (const line of lines) await writer.write(line);
    await writer.close();
    assert.equal((await fs.readFile('/small/lines')).toString('utf8'), lines.join(''));
  });

  test('create refuses a file that exists, as on local disk', async () => {
    await writeWholeFile(fs, '/exists/file', 'first');
    await assert.rejects(fs.create('/exists/file'), (error: unknown) => isSluiceError(error, 'SLUICE_FILESYSTEM') && /it exists/.test(error.message));
    assert.equal((await fs.readFile('/exists/file')).toString(), 'first');
  });

  test('rename refuses an existing target and leaves both files alone', async () => {
    await writeWholeFile(fs, '/commit/.data/0.job.1', 'new');
    await writeWholeFile(fs, '/commit/0.job.1', 'committed');
    await assert.rejects(fs.rename('/commit/.data/0.job.1', '/commit/0.job.1'), (error: unknown) => {
      assert.ok(isSluiceError(error, 'SLUICE_FILESYSTEM'));
      assert.match(error.message, /the target exists/);
      assert.equal(error.context.file, '/commit/0.job.1');
      assert.equal(error.context.server, `${server.host}:${server.port}`);
      return true;
    });
    assert.equal((await fs.readFile('/commit/0.job.1')).toString(), 'committed');
    assert.equal((await fs.readFile('/commit/.data/0.job.1')).toString(), 'new');
  });

  test('rename creates missing parents, and a missing source is an error that says so', async () => {
    await writeWholeFile(fs, '/stage/.data/1.job.0', 'rows');
    await fs.rename('/stage/.data/1.job.0', '/target/dt=2026-11-25/deeper/1.job.0');
    assert.equal(await fs.status('/stage/.data/1.job.0'), undefined);
    assert.equal((await fs.readFile('/target/dt=2026-11-25/deeper/1.job.0')).toString(), 'rows');
    await assert.rejects(fs.rename('/stage/.data/1.job.0', '/target/other'), (error: unknown) => {
      assert.ok(isSluiceError(error, 'SLUICE_FILESYSTEM'));
      assert.match(error.message, /the source does not exist/);
      assert.equal(error.context.file, '/stage/.data/1.job.0');
      return true;
    });
    assert.equal(await fs.status('/target/other'), undefined);
  });

  test('status, list (dot directories included) and recursive delete', async () => {
    await writeWholeFile(fs, '/tree/a', 'aa');
    await writeWholeFile(fs, '/tree/.data/0.job.0', '000');
    await writeWholeFile(fs, '/tree/sub/deep/b', 'b');
    await fs.mkdirs('/tree/empty/dir');
    await fs.mkdirs('/tree/empty/dir');

    assert.equal(await fs.status('/tree/missing'), undefined);
    assert.equal(await fs.status('/no/such/parent/file'), undefined);
    assert.deepEqual(await fs.status('/tree'), { path: '/tree', type: 'directory', length: 0 });
    assert.deepEqual(await fs.status('/tree/a'), { path: '/tree/a', type: 'file', length: 2 });
    assert.equal((await fs.status('/'))?.type, 'directory');
    assert.deepEqual(await fs.list('/tree'), [
      { path: '/tree/.data', type: 'directory', length: 0 },
      { path: '/tree/a', type: 'file', length: 2 },
      { path: '/tree/empty', type: 'directory', length: 0 },
      { path: '/tree/sub', type: 'directory', length: 0 },
    ]);
    assert.deepEqual(await fs.list('/tree/'), await fs.list('/tree'));
    assert.deepEqual(await fs.list('/tree/missing'), []);
    await assert.rejects(fs.list('/tree/a'), (error: unknown) => isSluiceError(error, 'SLUICE_FILESYSTEM'));

    await assert.rejects(fs.delete('/tree/sub', false), (error: unknown) => isSluiceError(error, 'SLUICE_FILESYSTEM'));
    await fs.delete('/tree/a', false);
    assert.equal(await fs.status('/tree/a'), undefined);
    await fs.delete('/tree/empty/dir', false);
    assert.equal(await fs.status('/tree/empty/dir'), undefined);
    // Overwrite mode empties a target; recovery deletes a stale .data/.
    await fs.delete('/tree/.data', true);
    await fs.delete('/tree', true);
    assert.equal(await fs.status('/tree'), undefined);
    assert.equal(existsSync(onDisk('/tree')), false);
    await fs.delete('/tree', true);
  });

  test('four channels write at once while metadata calls go on, then commit by rename', async () => {
    const channels = 4;
    const target = '/orders';
    const contents = Array.from({ length: channels }, (_, channel) => randomBytes(3 * MiB + channel * 1001));
    const names = contents.map((_, channel) => `${target}/.data/${channel}.job7.0`);
    const writers = await Promise.all(names.map((name) => fs.create(name)));
    const busy = { stop: false };
    // Metadata calls between the writers' chunks must neither wait for a transfer nor disturb one.
    // (A file shows up once its STOR reaches the server, which may be after create() returned.)
    const metadata = (async () => {
      let calls = 0;
      while (!busy.stop) {
        for (const entry of await fs.list(`${target}/.data`)) assert.ok(names.includes(entry.path), entry.path);
        calls++;
      }
      return calls;
    })();
    metadata.catch(() => undefined);
    await Promise.all(
      writers.map(async (writer, channel) => {
        const data = contents[channel]!;
        for (let offset = 0; offset < data.length; offset += 64 * 1024) await writer.write(data.subarray(offset, offset + 64 * 1024));
        await writer.close();
      }),
    );
    busy.stop = true;
    assert.ok((await metadata) > 0);
    for (let channel = 0; channel < channels; channel++) await fs.rename(`${target}/.data/${channel}.job7.0`, `${target}/${channel}.job7.0`);
    await fs.delete(`${target}/.data`, true);
    assert.deepEqual(
      (await fs.list(target)).map((entry) => [entry.path, entry.length]),
      contents.map((data, channel) => [`${target}/${channel}.job7.0`, data.length]),
    );
    for (let channel = 0; channel < channels; channel++) assert.equal(sha(await fs.readFile(`${target}/${channel}.job7.0`)), sha(contents[channel]!));
  });

  test('abort() leaves a file the caller can delete, and the connection pool keeps working', async () => {
    const writer = await fs.create('/aborted/.data/0.job.0');
    await writer.write(randomBytes(MiB));
    await writer.abort();
    await fs.delete('/aborted', true);
    assert.equal(await fs.status('/aborted'), undefined);
    await writeWholeFile(fs, '/aborted/again', 'fine');
    assert.equal((await fs.readFile('/aborted/again')).toString(), 'fine');
  });

  test('paths map below the configured root', async () => {
    const nested = open({ root: `${base}/nested/root/` });
    assert.equal(nested.description, `ftp://${server.user}@${server.host}:${server.port}${base}/nested/root`);
    await writeWholeFile(nested, '/x/file', 'below');
    assert.equal(readFileSync(onDisk('/nested/root/x/file'), 'utf8'), 'below');
    assert.deepEqual(await nested.list('/'), [{ path: '/x', type: 'directory', length: 0 }]);
    assert.throws(() => open({ root: 'relative' }), (error: unknown) => isSluiceError(error, 'SLUICE_FILESYSTEM'));
    await assert.rejects(nested.status('no-slash'), (error: unknown) => isSluiceError(error, 'SLUICE_FILESYSTEM'));
  });

  test('a wrong password is an error that names the server', async () => {
    const wrong = open({ password: 'not-the-password' });
    await assert.rejects(wrong.status('/'), (error: unknown) => {
      assert.ok(isSluiceError(error, 'SLUICE_FILESYSTEM'));
      assert.match(error.message, new RegExp(`cannot log in as ${server.user} on ftp://${server.user}@${server.host}:${server.port}`));
      assert.match(error.message, /530/);
      assert.equal(error.context.server, `${server.host}:${server.port}`);
      assert.equal(error.retriable, false);
      return true;
    });
  });

  test('a server that is not there is a retriable error naming it', async () => {
    const proxy = await startProxy(server.port);
    const port = proxy.port;
    await proxy.close();
    const nowhere = open({ port });
    await assert.rejects(nowhere.list('/'), (error: unknown) => {
      assert.ok(isSluiceError(error, 'SLUICE_FILESYSTEM'));
      assert.match(error.message, new RegExp(`cannot connect on ftp://${server.user}@${server.host}:${port}`));
      assert.equal(error.context.server, `${server.host}:${port}`);
      assert.equal(error.retriable, true);
      return true;
    });
  });

  describe('through a proxy that drops connections', () => {
    let proxy: Proxy;
    let proxied: FtpFileSystem;

    before(async () => {
      proxy = await startProxy(server.port);
      proxied = open({ port: proxy.port });
    });

    after(async () => {
      await proxy.close();
    });

    test('metadata calls reconnect after the connection was dropped', async () => {
      await writeWholeFile(proxied, '/dropped/file', 'kept');
      proxy.dropAll();
      assert.equal((await proxied.readFile('/dropped/file')).toString(), 'kept');
      proxy.dropAll();
      assert.deepEqual(await proxied.list('/dropped'), [{ path: '/dropped/file', type: 'file', length: 4 }]);
    });

    test('a rename whose answer was lost is done, not a "target exists" error, when tried again', async () => {
      await writeWholeFile(proxied, '/lost/.data/0.job.0', 'moved once');
      proxy.dropAfterCommand('RNTO');
      await proxied.rename('/lost/.data/0.job.0', '/lost/0.job.0');
      assert.equal(proxy.dropped, 1, 'the proxy did not cut off the RNTO answer');
      assert.equal(await proxied.status('/lost/.data/0.job.0'), undefined);
      assert.equal((await proxied.readFile('/lost/0.job.0')).toString(), 'moved once');
    });

    test('a writer whose connection drops fails with the server and the file, and never reports success', async () => {
      const path = '/cut/.data/2.job.0';
      const writer = await proxied.create(path);
      await writer.write(randomBytes(MiB));
      proxy.dropAll();
      const failure = (async () => {
        for (let i = 0; i < 100; i++) await writer.write(randomBytes(64 * 1024));
        await writer.close();
      })();
      await assert.rejects(failure, (error: unknown) => {
        assert.ok(isSluiceError(error, 'SLUICE_FILESYSTEM'));
        assert.equal(error.context.file, path);
        assert.equal(error.context.server, `${server.host}:${proxy.port}`);
        assert.equal(error.retriable, true);
        return true;
      });
      await writer.abort();
      // The next writer gets a working connection.
      await writeWholeFile(proxied, '/cut/.data/2.job.1', 'after the drop');
      assert.equal((await proxied.readFile('/cut/.data/2.job.1')).toString(), 'after the drop');
    });
  });

  test('a server without MLST and MLSD: status and list fall back to LIST', async () => {
    const proxy = await startProxy(server.port, { hideMlst: true });
    try {
      const old = open({ port: proxy.port });
      await writeWholeFile(old, '/old/.data/0.job.0', 'staged');
      await writeWholeFile(old, '/old/sub/file with space', 'x');
      assert.equal(await old.status('/old/missing'), undefined);
      assert.deepEqual(await old.status('/old/.data/0.job.0'), { path: '/old/.data/0.job.0', type: 'file', length: 6 });
      assert.deepEqual(await old.status('/old/sub'), { path: '/old/sub', type: 'directory', length: 0 });
      assert.deepEqual(await old.list('/old'), [
        { path: '/old/.data', type: 'directory', length: 0 },
        { path: '/old/sub', type: 'directory', length: 0 },
      ]);
      assert.deepEqual(await old.list('/old/sub'), [{ path: '/old/sub/file with space', type: 'file', length: 1 }]);
      await assert.rejects(old.rename('/old/.data/0.job.0', '/old/sub/file with space'), /the target exists/);
      await old.rename('/old/.data/0.job.0', '/old/0.job.0');
      await old.delete('/old', true);
      assert.equal(await old.status('/old'), undefined);
      assert.ok(proxy.hidden > 0, 'the proxy did not hide MLST from FEAT');
    } finally {
      await proxy.close();
    }
  });
});

interface Proxy {
  port: number;
  /** How many FEAT answers had MLST taken out. */
  hidden: number;
  /** How many connections a planned drop has cut so far. */
  dropped: number;
  dropAll(): void;
  /** Passes the next client command that starts with `command` on, then cuts the connection before the answer. */
  dropAfterCommand(command: string): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy for the FTP control connection. Passive data connections go to the server directly
 * (its PASV answers name 127.0.0.1 and its own ports), so cutting the proxy cuts control only, as a
 * dropped NAT entry or a restarted firewall does.
 */
async function startProxy(targetPort: number, options: { hideMlst?: boolean } = {}): Promise<Proxy> {
  const pairs = new Set<[Socket, Socket]>();
  let armed: string | undefined;
  const proxy: Proxy & { server?: Server } = {
    port: 0,
    dropped: 0,
    hidden: 0,
    dropAll() {
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    dropAfterCommand(command: string) {
      armed = command.toUpperCase();
    },
    close: () =>
      new Promise((resolveClose) => {
        proxy.dropAll();
        proxy.server!.close(() => resolveClose());
      }),
  };
  proxy.server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    let cutOnAnswer = false;
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('data', (chunk: Buffer) => {
      if (armed && chunk.toString('latin1').toUpperCase().startsWith(armed)) {
        armed = undefined;
        cutOnAnswer = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (cutOnAnswer) {
        proxy.dropped++;
        end();
        return;
      }
      if (options.hideMlst && /^ MLS[TD]\b/m.test(chunk.toString('latin1'))) {
        proxy.hidden++;
        client.write(chunk.toString('latin1').replace(/^ MLS[TD]\b[^\n]*\n/gm, ''), 'latin1');
        return;
      }
      client.write(chunk);
    });
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolveListen) => proxy.server!.listen(0, '127.0.0.1', resolveListen));
  const address = proxy.server.address();
  proxy.port = typeof address === 'object' && address ? address.port : 0;
  return proxy;
}
