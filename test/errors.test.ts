// Errors that name themselves: isTransient over the failures the libraries and servers really raise
// (a reset socket, a MySQL lock wait, a WebHDFS 503, a full disk, an FTP answer), every code sluice
// uses listed in ERROR_CODES, and docs/errors.md being what `npm run docs:errors` writes from them.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FTPError } from 'basic-ftp';
import { pino } from 'pino';
import { ERRORS_DOC_PATH, renderErrorsDoc } from '../src/cli/errors-doc.ts';
import { exitCodeOf } from '../src/cli/exit-codes.ts';
import { ERROR_CODES } from '../src/core/error-codes.ts';
import { SluiceError } from '../src/core/errors.ts';
import { WebHdfsClient } from '../src/filesystem/webhdfs-client.ts';
import { nameDiskError } from '../src/core/local-disk.ts';
import { isTransient } from '../src/core/transient.ts';
import { REPO_ROOT, testMariaDb } from './helpers/servers.ts';

const silent = pino({ level: 'silent' });

/** What `attempt` rejects with; fails the test when it resolves. */
async function failureOf(attempt: () => Promise<unknown>): Promise<unknown> {
  try {
    await attempt();
  } catch (error) {
    return error;
  }
  assert.fail('expected a failure');
}

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('isTransient', () => {
  test('a Node socket reset by its peer (ECONNRESET) is transient', async () => {
    const server = createTcpServer((socket) => socket.resetAndDestroy());
    const port = await listen(server);
    try {
      const error = await failureOf(
        () =>
          new Promise((resolve, reject) => {
            const socket = connect(port, '127.0.0.1');
            socket.on('error', reject);
            socket.on('close', () => resolve(undefined));
          }),
      );
      assert.equal((error as NodeJS.ErrnoException).code, 'ECONNRESET');
      assert.equal(isTransient(error), true);
    } finally {
      server.close();
    }
  });

  test('a full disk as the kernel says it (ENOSPC on /dev/full) is not transient by itself; named SLUICE_DISK_FULL for the daemon, it is waited out', () => {
    const error = (() => {
      try {
        writeFileSync('/dev/full', 'x');
      } catch (caught) {
        return caught;
      }
      return assert.fail('/dev/full accepted a write');
    })();
    assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
    // Nothing passes without a person freeing space: only the daemon, which knows its checkpoint, waits.
    assert.equal(isTransient(error), false);
    const named = nameDiskError(error, [{ dir: '/dev', configKey: 'checkpoint.dir' }]);
    assert.equal(isTransient(named), true);
    assert.equal(isTransient(nameDiskError(error, [{ dir: '/dev', configKey: 'checkpoint.dir' }], 'stop')), false);
  });

  test('a SluiceError answers for itself, whatever its cause', () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    assert.equal(isTransient(new SluiceError('SLUICE_BINLOG_STREAM', 'lost', { retriable: true })), true);
    assert.equal(isTransient(new SluiceError('SLUICE_CONFIG_INVALID', 'bad key', { cause: reset })), false);
  });

  test('FTP answers: 4xx is "try again later", 5xx is final', () => {
    assert.equal(isTransient(new FTPError({ code: 421, message: '421 Too many connections', done: true } as never)), true);
    assert.equal(isTransient(new FTPError({ code: 450, message: '450 File busy', done: true } as never)), true);
    assert.equal(isTransient(new FTPError({ code: 550, message: '550 Connection refused by policy', done: true } as never)), false);
  });

  test('HiveServer2 statuses: the 3xxxx codes and a passing metastore are transient, a refused statement is not', () => {
    assert.equal(isTransient({ errorCode: 30041, errorMessage: 'Error while compiling statement' }), true);
    assert.equal(isTransient({ errorCode: 1, errorMessage: 'MetaException: Could not connect to meta store using any of the URIs provided' }), true);
    assert.equal(isTransient({ errorCode: 10001, errorMessage: 'Table not found orders' }), false);
  });

  test('values that are not errors are not transient', () => {
    assert.equal(isTransient(undefined), false);
    assert.equal(isTransient('ECONNRESET'), false);
  });

  describe('MySQL errors as mysql2 raises them', () => {
    let database: string;
    const connections: Array<{ end(): Promise<void> }> = [];
    let server: Awaited<ReturnType<typeof testMariaDb>>;

    before(async () => {
      server = await testMariaDb();
      database = `errors_${process.pid}`;
      const root = await server.rootConnection();
      connections.push(root);
      await root.query(`CREATE DATABASE IF NOT EXISTS ${database}`);
      await root.query(`CREATE OR REPLACE TABLE ${database}.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB`);
      await root.query(`INSERT INTO ${database}.t VALUES (1, 1)`);
    });

    after(async () => {
      const root = await server.rootConnection();
      await root.query(`DROP DATABASE IF EXISTS ${database}`);
      await root.end();
      for (const connection of connections) await connection.end().catch(() => undefined);
    });

    test('a lock wait timeout (errno 1205) is transient; a syntax error (1064) is not', async () => {
      const holder = await server.rootConnection(database);
      const waiter = await server.rootConnection(database);
      connections.push(holder, waiter);
      await holder.query('BEGIN');
      await holder.query('UPDATE t SET v = 2 WHERE id = 1');
      await waiter.query('SET SESSION innodb_lock_wait_timeout = 1');
      const lockWait = await failureOf(() => waiter.query('UPDATE t SET v = 3 WHERE id = 1'));
      await holder.query('ROLLBACK');
      assert.equal((lockWait as { errno?: number }).errno, 1205);
      assert.equal(isTransient(lockWait), true);
      // The same by number alone, as a client that has no name for the code reports it.
      assert.equal(isTransient({ errno: 1205, message: 'Lock wait timeout exceeded' }), true);

      const syntax = await failureOf(() => waiter.query('SELEC 1'));
      assert.equal((syntax as { errno?: number }).errno, 1064);
      assert.equal(isTransient(syntax), false);
    });
  });

  describe('WebHDFS answers, through the WebHDFS client', () => {
    let server: Server;
    let answer: (response: import('node:http').ServerResponse) => void = () => undefined;
    let client: WebHdfsClient;

    before(async () => {
      server = createHttpServer((_request, response) => answer(response));
      const port = await listen(server);
      client = new WebHdfsClient({ namenodes: [`http://127.0.0.1:${port}`], user: 'sluice', requestTimeoutMs: 300, logger: silent });
    });

    after(() => {
      server.closeAllConnections();
      server.close();
    });

    const remote = (status: number, exception: string, message: string) => (response: import('node:http').ServerResponse) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ RemoteException: { exception, javaClassName: `org.apache.hadoop.${exception}`, message } }));
    };

    test('an HTTP 503 is transient', async () => {
      answer = (response) => {
        response.writeHead(503);
        response.end('Service Unavailable');
      };
      const error = await failureOf(() => client.call('GET', 'GETFILESTATUS', '/warehouse'));
      assert.equal((error as SluiceError).context.httpStatus, 503);
      assert.equal(isTransient(error), true);
    });

    test('a NameNode in safe mode (403 SafeModeException) is transient; a permission error (403 AccessControlException) is not', async () => {
      answer = remote(403, 'SafeModeException', 'Cannot create directory /warehouse. Name node is in safe mode.');
      assert.equal(isTransient(await failureOf(() => client.call('PUT', 'MKDIRS', '/warehouse'))), true);
      answer = remote(403, 'AccessControlException', 'Permission denied: user=sluice, access=WRITE, inode="/":hdfs:supergroup:drwxr-xr-x');
      assert.equal(isTransient(await failureOf(() => client.call('PUT', 'MKDIRS', '/warehouse'))), false);
    });

    test('a server that goes silent times out as a transient SLUICE_HTTP_TIMEOUT', async () => {
      answer = () => undefined;
      const error = await failureOf(() => client.call('GET', 'GETFILESTATUS', '/warehouse'));
      assert.equal(((error as SluiceError).cause as SluiceError).code, 'SLUICE_HTTP_TIMEOUT');
      assert.equal(isTransient(error), true);
    });
  });
});

describe('error codes', () => {
  test('every SLUICE_ code written in src/ has an entry in ERROR_CODES', () => {
    const files = readdirSync(join(REPO_ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
    const used = new Set<string>();
    for (const file of files) {
      for (const match of readFileSync(join(REPO_ROOT, 'src', file), 'utf8').matchAll(/'(SLUICE_[A-Z0-9_]+)'/g)) used.add(match[1]!);
    }
    assert.ok(used.size > 20, `found only ${used.size} codes: is the pattern still right?`);
    assert.deepEqual([...used].filter((code) => !(code in ERROR_CODES)), []);
  });

  test('a code that needs a person exits 78, unless it is retriable; the others exit 1', () => {
    assert.equal(exitCodeOf(new SluiceError('SLUICE_CONFIG_INVALID', 'bad key')), 78);
    assert.equal(exitCodeOf(new SluiceError('SLUICE_DISK_FULL', 'full', { retriable: true })), 1);
    assert.equal(exitCodeOf(new SluiceError('SLUICE_CATALOG', 'refused')), 1);
    assert.equal(exitCodeOf(new Error('bug')), 1);
  });

  test(`${ERRORS_DOC_PATH} is what \`npm run docs:errors\` writes from ERROR_CODES`, () => {
    const doc = readFileSync(join(REPO_ROOT, ERRORS_DOC_PATH), 'utf8');
    assert.ok(doc === renderErrorsDoc(), `${ERRORS_DOC_PATH} differs from src/core/error-codes.ts: run \`npm run docs:errors\` and commit the result`);
    for (const code of Object.keys(ERROR_CODES)) assert.match(doc, new RegExp(`^## ${code}$`, 'm'));
  });

  test('docs/when-things-go-wrong.md links to the list of codes before its first subsection', () => {
    const page = readFileSync(join(REPO_ROOT, 'docs/when-things-go-wrong.md'), 'utf8');
    const section = page.slice(page.indexOf('# What happens when things go wrong'));
    assert.match(section.slice(0, section.indexOf('\n## ', 5)), /\]\(errors\.md\)/);
  });
});
