// WebHdfsFileSystem against a real HDFS 3.4 (NameNode + DataNode, WebHDFS): every FileSystem method,
// the contract details the commit protocol relies on, and errors a person can act on.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { Catalog, PartitionSpec } from '../src/catalog/catalog.ts';
import { executeCommits, type PendingCommit } from '../src/sinks/hive-commits.ts';
import { parseConfig } from '../src/config/load.ts';
import { isSluiceError } from '../src/core/errors.ts';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';
import { WebHdfsFileSystem } from '../src/filesystem/webhdfs-filesystem.ts';
import { openStorage } from '../src/runtime/embedded-runtime.ts';
import { testHdfs } from './helpers/servers.ts';
import { writeWholeFile } from './helpers/whole-file.ts';

const silent = pino({ level: 'silent' });
const MiB = 1024 * 1024;
const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('WebHdfsFileSystem on a real HDFS', () => {
  let fs: WebHdfsFileSystem;
  let namenode: string;
  let spoolDir: string;
  // A fresh directory per run: the shared HDFS outlives this file.
  const root = `/sluice-test/webhdfs-${randomUUID().slice(0, 8)}`;

  before(async () => {
    const hdfs = await testHdfs();
    namenode = `http://127.0.0.1:${hdfs.namenodeHttpPort}`;
    spoolDir = mkdtempSync(join(tmpdir(), 'sluice-spool-test-'));
    fs = new WebHdfsFileSystem({ namenodes: [namenode], logger: silent, spoolDir, requestTimeoutMs: 20_000 });
  });

  after(async () => {
    await fs.delete(root, true).catch(() => undefined);
    fs.close();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  const writeFile = (path: string, data: Buffer | string): Promise<void> => writeWholeFile(fs, path, data);

  test('a 20 MiB file round-trips byte for byte, and its spool file is gone after close', async (t) => {
    const data = randomBytes(20 * MiB);
    const path = `${root}/big/.data/part-0`;
    const writer = await fs.create(path);
    for (let offset = 0; offset < data.length; offset += MiB) await writer.write(data.subarray(offset, offset + MiB));
    assert.equal(writer.bytesWritten, data.length);
    assert.equal(readdirSync(spoolDir).length, 1, 'the content waits in one spool file, not in memory');
    const started = process.hrtime.bigint();
    await writer.close();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    t.diagnostic(`upload of 20 MiB: ${(seconds * 1000).toFixed(0)} ms, ${(20 / seconds).toFixed(0)} MiB/s`);
    assert.deepEqual(readdirSync(spoolDir), []);
    assert.deepEqual(await fs.status(path), { path, type: 'file', length: data.length });
    const back = await fs.readFile(path);
    assert.equal(sha(back), sha(data));
    // The upload's own hidden name is gone: only the file is there.
    assert.deepEqual((await fs.list(`${root}/big/.data`)).map((entry) => entry.path), [path]);
  });

  test('an empty file, and a file written as many small strings', async () => {
    await writeFile(`${root}/small/empty`, Buffer.alloc(0));
    assert.deepEqual(await fs.status(`${root}/small/empty`), { path: `${root}/small/empty`, type: 'file', length: 0 });
    assert.equal((await fs.readFile(`${root}/small/empty`)).length, 0);
    const writer = await fs.create(`${root}/small/lines`);
    const lines = Array.from({ length: 5000 }, (_, i) => `row ${i}\u0001é\n`);
    for (const line of lines) await writer.write(line);
    await writer.close();
    assert.equal((await fs.readFile(`${root}/small/lines`)).toString('utf8'), lines.join(''));
  });

  test('names with Hive escapes, spaces, plus signs and non-ASCII survive', async () => {
    const path = `${root}/names/dt=2026-11-25/hr=10%3A00/a b+c ü.0`;
    await writeFile(path, 'x');
    assert.deepEqual(
      (await fs.list(`${root}/names/dt=2026-11-25/hr=10%3A00`)).map((entry) => entry.path),
      [path],
    );
    assert.equal((await fs.readFile(path)).toString(), 'x');
  });

  test('create refuses a path that exists, as local disk does', async () => {
    await writeFile(`${root}/exists/f`, 'first');
    await assert.rejects(fs.create(`${root}/exists/f`), /it exists/);
    assert.equal((await fs.readFile(`${root}/exists/f`)).toString(), 'first');
  });

  test('abort discards the content and the spool file; nothing reaches HDFS', async () => {
    const writer = await fs.create(`${root}/aborted/f`);
    await writer.write(randomBytes(MiB));
    await writer.abort();
    assert.deepEqual(readdirSync(spoolDir), []);
    assert.equal(await fs.status(`${root}/aborted/f`), undefined);
  });

  test('status: undefined for a missing path, type and length otherwise', async () => {
    assert.equal(await fs.status(`${root}/no/such/path`), undefined);
    await writeFile(`${root}/status/f`, '12345');
    assert.deepEqual(await fs.status(`${root}/status/f`), { path: `${root}/status/f`, type: 'file', length: 5 });
    assert.deepEqual(await fs.status(`${root}/status`), { path: `${root}/status`, type: 'directory', length: 0 });
  });

  test('mkdirs creates the parents and may be repeated', async () => {
    await fs.mkdirs(`${root}/dirs/a/b/c`);
    await fs.mkdirs(`${root}/dirs/a/b/c`);
    assert.equal((await fs.status(`${root}/dirs/a/b/c`))?.type, 'directory');
  });

  test('list: the entries of a directory, sorted, with types and lengths; a missing directory lists empty', async () => {
    await writeFile(`${root}/list/b`, 'bb');
    await writeFile(`${root}/list/a`, 'a');
    await fs.mkdirs(`${root}/list/c`);
    assert.deepEqual(await fs.list(`${root}/list`), [
      { path: `${root}/list/a`, type: 'file', length: 1 },
      { path: `${root}/list/b`, type: 'file', length: 2 },
      { path: `${root}/list/c`, type: 'directory', length: 0 },
    ]);
    assert.deepEqual(await fs.list(`${root}/list/`), await fs.list(`${root}/list`));
    assert.deepEqual(await fs.list(`${root}/no/such/dir`), []);
  });

  test("rename creates the target's parent and moves the file", async () => {
    await writeFile(`${root}/rename/.data/f`, 'content');
    await fs.rename(`${root}/rename/.data/f`, `${root}/rename/dt=1/f`);
    assert.equal(await fs.status(`${root}/rename/.data/f`), undefined);
    assert.equal((await fs.readFile(`${root}/rename/dt=1/f`)).toString(), 'content');
  });

  test('rename onto an existing file or directory fails and changes nothing', async () => {
    await writeFile(`${root}/clash/source`, 'new');
    await writeFile(`${root}/clash/target`, 'old');
    await fs.mkdirs(`${root}/clash/dir`);
    await assert.rejects(fs.rename(`${root}/clash/source`, `${root}/clash/target`), (error: unknown) => {
      assert.ok(isSluiceError(error, 'SLUICE_FILESYSTEM'));
      assert.equal(error.retriable, false);
      assert.match(error.message, /the target exists/);
      return true;
    });
    // Plain WebHDFS RENAME would move the file *into* an existing directory; the contract says fail.
    await assert.rejects(fs.rename(`${root}/clash/source`, `${root}/clash/dir`), /the target exists/);
    assert.equal((await fs.readFile(`${root}/clash/target`)).toString(), 'old');
    assert.equal((await fs.readFile(`${root}/clash/source`)).toString(), 'new');
    assert.deepEqual(await fs.list(`${root}/clash/dir`), []);
  });

  test('rename of a missing source fails naming it', async () => {
    await assert.rejects(fs.rename(`${root}/missing/source`, `${root}/missing/target`), /the source does not exist/);
  });

  test('delete: recursive on request, refuses a non-empty directory otherwise, ignores a missing path', async () => {
    await writeFile(`${root}/del/a/f`, 'x');
    await writeFile(`${root}/del/b/f`, 'x');
    await assert.rejects(fs.delete(`${root}/del/a`, false), /PathIsNotEmptyDirectoryException/);
    await fs.delete(`${root}/del/a/f`, false);
    assert.equal(await fs.status(`${root}/del/a/f`), undefined);
    await fs.delete(`${root}/del`, true);
    assert.equal(await fs.status(`${root}/del`), undefined);
    await fs.delete(`${root}/del`, true);
  });

  test('executeCommits lands each file once, and running it again (recovery) changes nothing', async () => {
    const table = `${root}/warehouse/ods.db/orders`;
    const renames: { from: string; to: string }[] = [];
    const commits: PendingCommit[] = [];
    for (const [index, dt] of ['2026-11-24', '2026-11-25'].entries()) {
      const rename = { from: `${table}/.data/dt=${dt}/0.job.7-${index}`, to: `${table}/dt=${dt}/0.job.7-${index}` };
      await writeFile(rename.from, `rows of ${dt}\n`);
      renames.push(rename);
      commits.push({ kind: 'rename', ...rename });
      commits.push({ kind: 'partition', database: 'ods', table: 'orders', values: { dt }, location: `${table}/dt=${dt}` });
    }
    const catalog = new RecordingCatalog();
    // The run that crashed got as far as the first rename; recovery carries out the whole list again.
    await fs.rename(renames[0]!.from, renames[0]!.to);
    await executeCommits(commits, fs, catalog);
    await executeCommits(commits, fs, catalog);
    for (const dt of ['2026-11-24', '2026-11-25']) {
      const files = await fs.list(`${table}/dt=${dt}`);
      assert.equal(files.length, 1);
      assert.equal((await fs.readFile(files[0]!.path)).toString(), `rows of ${dt}\n`);
    }
    assert.deepEqual(await fs.list(`${table}/.data/dt=2026-11-24`), []);
    assert.deepEqual(catalog.partitions.map((partition) => partition.values.dt), ['2026-11-24', '2026-11-25', '2026-11-24', '2026-11-25']);
  });

  test('executeCommits reports a commit whose staging file and target are both gone', async () => {
    await assert.rejects(
      executeCommits([{ kind: 'rename', from: `${root}/lost/.data/f`, to: `${root}/lost/f` }], fs, new RecordingCatalog()),
      (error: unknown) => isSluiceError(error, 'SLUICE_COMMIT_LOST') && /webhdfs:\/\//.test(error.message),
    );
  });

  test('a refused request names the NameNode URL, the operation, the path and the RemoteException, and is not retried', async () => {
    await writeFile(`${root}/errors/file`, 'x');
    await assert.rejects(fs.readFile(`${root}/errors/missing`), (error: unknown) => {
      assert.ok(isSluiceError(error, 'SLUICE_FILESYSTEM'));
      assert.equal(error.retriable, false);
      assert.match(error.message, /^WebHDFS OPEN \/sluice-test\/webhdfs-\w+\/errors\/missing failed at http:\/\/127\.0\.0\.1:\d+\/webhdfs\/v1\//);
      assert.match(error.message, /op=OPEN&user\.name=sluice/);
      assert.match(error.message, /HTTP 404 FileNotFoundException: File .*errors\/missing not found/);
      assert.equal(error.context.remoteException, 'FileNotFoundException');
      return true;
    });
    // A directory below a file: the NameNode's message, first line only (no Java stack trace).
    await assert.rejects(fs.mkdirs(`${root}/errors/file/sub`), (error: unknown) => {
      assert.ok(isSluiceError(error, 'SLUICE_FILESYSTEM'));
      assert.equal(error.retriable, false);
      assert.match(error.message, /WebHDFS MKDIRS .*errors\/file\/sub failed at .*HTTP 403 (ParentNotDirectoryException|FileAlreadyExistsException): /);
      assert.doesNotMatch(error.message, /\n\tat /);
      return true;
    });
  });

  test('a delegation token never appears in a message', async () => {
    // This cluster runs without security and ignores the token; a secure one checks it.
    const withToken = new WebHdfsFileSystem({ namenodes: [namenode], logger: silent, spoolDir, delegationToken: 'SECRET-TOKEN' });
    try {
      assert.equal(await withToken.status(`${root}/token/missing`), undefined);
      await assert.rejects(withToken.readFile(`${root}/token/missing`), (error: unknown) => {
        assert.match((error as Error).message, /delegation=\*\*\*/);
        assert.doesNotMatch((error as Error).message, /SECRET-TOKEN/);
        assert.doesNotMatch(JSON.stringify((error as { context?: unknown }).context), /SECRET-TOKEN/);
        return true;
      });
    } finally {
      withToken.close();
    }
  });

  test('openStorage builds WebHDFS for kind webhdfs (warehouse on HDFS) and keeps local disk for kind local', async () => {
    const base = 'source:\n  host: db\n  user: sluice\nsink:\n  filesystem:\n';
    const config = parseConfig(
      `${base}    kind: webhdfs\n    namenodes: ['${namenode}']\n    user: hive\n    warehouse: ${root}/hive-warehouse\n    spoolDir: ${spoolDir}\n`,
      '/etc/sluice/sluice.yaml',
      {},
    );
    const storage = openStorage(config, silent);
    assert.ok(storage.fs instanceof WebHdfsFileSystem);
    assert.equal(storage.warehouse, `${root}/hive-warehouse`);
    assert.equal(storage.fs.description, `webhdfs://${new URL(namenode).host}`);
    const writer = await storage.fs.create(`${storage.warehouse}/t/f`);
    await writer.write('as hive');
    await writer.close();
    const raw = await fetch(`${namenode}/webhdfs/v1${storage.warehouse}/t/f?op=GETFILESTATUS&user.name=sluice`).then((res) => res.json());
    assert.equal((raw as { FileStatus: { owner: string } }).FileStatus.owner, 'hive');
    (storage.fs as WebHdfsFileSystem).close();

    const local = openStorage(parseConfig(`${base}    root: /tmp/w\n`, '/etc/sluice/sluice.yaml', {}), silent);
    assert.ok(local.fs instanceof LocalFileSystem);
    assert.equal(local.warehouse, '/');
  });
});

test('sink.filesystem with kind webhdfs: defaults, relative spoolDir, and errors that name the key', () => {
  const base = 'source:\n  host: db\n  user: sluice\nsink:\n  filesystem:\n';
  const parse = (text: string) => parseConfig(base + text, '/etc/sluice/sluice.yaml', {});
  assert.deepEqual(parse("    kind: webhdfs\n    namenodes: ['http://nn1:9870', 'https://nn2:9871']\n    spoolDir: spool\n").sink.filesystem, {
    kind: 'webhdfs',
    namenodes: ['http://nn1:9870', 'https://nn2:9871'],
    user: 'sluice',
    warehouse: '/user/hive/warehouse',
    spoolDir: '/etc/sluice/spool',
    requestTimeoutMs: 60000,
  });
  const problems = (text: string): string => {
    try {
      parse(text);
    } catch (error) {
      return (error as Error).message;
    }
    return 'valid';
  };
  assert.equal(problems('    kind: hdfs\n'), "/etc/sluice/sluice.yaml:6:11 sink.filesystem.kind: expected kind 'local' or 'webhdfs', got string 'hdfs'");
  assert.match(problems('    kind: webhdfs\n'), /sink\.filesystem\.namenodes: missing required key 'namenodes'/);
  assert.match(problems('    kind: webhdfs\n    namenodes: []\n'), /sink\.filesystem\.namenodes: expected at least 1 item/);
  assert.match(problems("    kind: webhdfs\n    namenodes: ['nn1:9870']\n"), /sink\.filesystem\.namenodes\[0\]: expected an http:\/\/ or https:\/\/ address/);
  assert.match(problems("    kind: webhdfs\n    namenodes: ['http://nn1:9870']\n    warehouse: user/hive\n"), /sink\.filesystem\.warehouse: expected an absolute HDFS path/);
  assert.match(problems("    kind: webhdfs\n    namenodes: ['http://nn1:9870']\n    usr: hive\n"), /sink\.filesystem\.usr: unknown key 'usr' \(did you mean 'user'\?\)/);
  assert.match(problems("    kind: webhdfs\n    namenodes: ['http://nn1:9870']\n    root: /x\n"), /sink\.filesystem\.root: unknown key 'root'/);
});

/** Only what executeCommits touches: partitions, recorded. */
class RecordingCatalog implements Catalog {
  readonly description = 'recording';
  readonly partitions: { table: string; values: Record<string, string> }[] = [];
  async addPartition(database: string, name: string, partition: PartitionSpec): Promise<void> {
    this.partitions.push({ table: `${database}.${name}`, values: partition.values });
  }
  getTable(): never {
    throw new Error('not used');
  }
  createTable(): never {
    throw new Error('not used');
  }
  addColumns(): never {
    throw new Error('not used');
  }
  changeColumnType(): never {
    throw new Error('not used');
  }
  dropPartition(): never {
    throw new Error('not used');
  }
  setLocation(): never {
    throw new Error('not used');
  }
  setPrimaryKey(): never {
    throw new Error('not used');
  }
  listPartitions(): never {
    throw new Error('not used');
  }
  listTables(): never {
    throw new Error('not used');
  }
  async close(): Promise<void> {}
}
