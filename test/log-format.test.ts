// The daemon's log as people and machines get it: JSON with ISO 8601 timestamps in a pipe (journald,
// docker, a log shipper), one readable line per entry on a terminal (a pseudo-TTY made by util-linux
// `script`), `log.format` overriding either way, and retry warnings that say what failed without a
// stack trace (the stack comes at debug).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { prettyLine } from '../src/core/log-format.ts';
import { gtidBinlogPos, makeWorkspace, startSluice, stopDaemon, until, type DaemonWorkspace, type RunningDaemon } from './helpers/daemon.ts';
import { REPO_ROOT, testMariaDb } from './helpers/servers.ts';
import { freePort, type MariaDbServer } from './servers/mariadb.ts';

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
/** A pretty line: local time, level, message, fields. */
const PRETTY = /^\d\d:\d\d:\d\d\.\d{3} (?:\x1b\[\d+m)?(TRACE|DEBUG|INFO |WARN |ERROR|FATAL)(?:\x1b\[0m)? \S/;

/** `sluice ARGS` on a pseudo-terminal: `script` gives it a pty for stdout and stderr and copies what it writes. */
function onTerminal(args: string[], cwd: string, env: NodeJS.ProcessEnv): RunningDaemon {
  const command = [process.execPath, join(REPO_ROOT, 'bin/sluice.js'), ...args].map((word) => `'${word.replace(/'/g, "'\\''")}'`).join(' ');
  const child = spawn('script', ['--quiet', '--return', '--command', command, '/dev/null'], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => output.replace(/\r\n/g, '\n'), exited };
}

/** Stops a daemon behind `script` as systemd would (SIGTERM to the daemon itself, whose pid the state lock holds). */
async function stopOnTerminal(workspace: DaemonWorkspace, running: RunningDaemon): Promise<number | null> {
  const pid = Number(readFileSync(join(workspace.stateDir, 'sluice.pid'), 'utf8').split('\n')[0]);
  process.kill(pid, 'SIGTERM');
  return (await running.exited).code;
}

function withLog(workspace: DaemonWorkspace, log: string): void {
  const text = readFileSync(workspace.configFile, 'utf8').replace(/^log:\n {2}level: info\n/m, `log:\n${log}`);
  assert.match(text, new RegExp(log.split('\n')[0]!));
  writeFileSync(workspace.configFile, text);
}

const lines = (output: string) => output.split('\n').filter((line) => line.trim() !== '');

describe('logs for people and machines', () => {
  let server: MariaDbServer;
  let start: string;

  before(async () => {
    server = await testMariaDb();
    const db = await server.rootConnection();
    try {
      await db.query('DROP DATABASE IF EXISTS log_format; CREATE DATABASE log_format; CREATE TABLE log_format.t (id INT PRIMARY KEY, note VARCHAR(20))');
      start = await gtidBinlogPos(server);
      await db.query("INSERT INTO log_format.t VALUES (1, 'one'), (2, 'two')");
    } finally {
      await db.end();
    }
  });

  const workspace = (extra?: string) =>
    makeWorkspace(server, { start: `{ gtid: '${start}' }`, routing: "  include: ['log_format.*']", ...(extra ? { extra } : {}) });
  const env = () => ({ SLUICE_TEST_PASSWORD: server.password });

  test('on a terminal (auto): one readable line per entry, with colours, no JSON', async () => {
    const ws = workspace();
    const daemon = onTerminal(['run', '--config', ws.configFile], ws.dir, env());
    await until('a checkpoint line on the terminal', daemon, () => /checkpoint committed/.test(daemon.output()) || undefined);
    assert.equal(await stopOnTerminal(ws, daemon), 0, daemon.output());
    const output = lines(daemon.output());
    for (const line of output) assert.match(line, PRETTY, `a pretty line: ${JSON.stringify(line)}`);
    assert.ok(output.some((line) => line.includes('\x1b[32mINFO')), 'the level in colour on a terminal');
    const checkpoint = output.find((line) => / checkpoint committed checkpoint=\d+ commits=\d+ /.test(line));
    assert.ok(checkpoint, daemon.output());
    assert.match(checkpoint, / changes=2 /);
    assert.match(checkpoint, / position=\{"file":"[^"]+","offset":\d+,"gtidSet":"[\d-]+"\}/);
    assert.ok(output.some((line) => /INFO.* sluice starting version=\d+\.\d+\.\d+ node=v\d+/.test(line)), daemon.output());
  });

  test('in a pipe (auto): JSON lines with ISO 8601 UTC timestamps', async () => {
    const ws = workspace();
    const daemon = startSluice(['run', '--config', ws.configFile], { cwd: ws.dir, env: env() });
    await until('a checkpoint line in the pipe', daemon, () => /checkpoint committed/.test(daemon.output()) || undefined);
    assert.equal((await stopDaemon(daemon)).code, 0, daemon.output());
    const entries = lines(daemon.output()).map((line) => JSON.parse(line) as { level: number; time: string; msg: string; changes?: number });
    for (const entry of entries) assert.match(entry.time, ISO_TIME);
    assert.equal(entries.find((entry) => entry.msg === 'checkpoint committed')?.changes, 2);
  });

  test('log.format overrides: json on a terminal, pretty (without colours) in a pipe', async () => {
    const json = workspace();
    withLog(json, '  level: info\n  format: json\n');
    const onTty = onTerminal(['run', '--config', json.configFile], json.dir, env());
    await until('a checkpoint line', onTty, () => /checkpoint committed/.test(onTty.output()) || undefined);
    assert.equal(await stopOnTerminal(json, onTty), 0, onTty.output());
    for (const line of lines(onTty.output())) assert.match((JSON.parse(line) as { time: string }).time, ISO_TIME);

    const pretty = workspace();
    withLog(pretty, '  level: info\n  format: pretty\n');
    const inPipe = startSluice(['run', '--config', pretty.configFile], { cwd: pretty.dir, env: env() });
    await until('a checkpoint line', inPipe, () => /checkpoint committed/.test(inPipe.output()) || undefined);
    assert.equal((await stopDaemon(inPipe)).code, 0, inPipe.output());
    for (const line of lines(inPipe.output())) assert.match(line, PRETTY);
    assert.doesNotMatch(inPipe.output(), /\x1b\[/, 'no colours where no terminal shows them');
  });

  test('a retried failure warns with its code and message, and shows the stack only at debug', async () => {
    const port = await freePort(); // nothing listens there: MySQL is down, retried in the process
    for (const level of ['info', 'debug']) {
      const ws = workspace();
      writeFileSync(ws.configFile, readFileSync(ws.configFile, 'utf8').replace(/^ {2}port: \d+$/m, `  port: ${port}`).replace(/^ {2}level: info$/m, `  level: ${level}`));
      const daemon = startSluice(['run', '--config', ws.configFile], { cwd: ws.dir, env: env() });
      await until('two retries', daemon, () => (daemon.output().match(/retriable failure, retrying/g) ?? []).length >= 2 || undefined);
      assert.equal((await stopDaemon(daemon)).code, 0, daemon.output());
      const entries = lines(daemon.output()).map((line) => JSON.parse(line) as { level: number; msg: string; error?: { code: string; message: string }; err?: { stack: string } });
      const warning = entries.find((entry) => entry.msg === 'retriable failure, retrying');
      assert.equal(warning?.level, 40);
      assert.equal(warning.error?.code, 'SLUICE_MYSQL_UNREACHABLE');
      assert.match(warning.error.message, new RegExp(`cannot reach MySQL at 127\\.0\\.0\\.1:${port}`));
      assert.doesNotMatch(JSON.stringify(warning), /stack|\n\s+at /, 'no stack in the warning');
      const stacks = entries.filter((entry) => entry.err?.stack?.includes('\n    at '));
      if (level === 'info') assert.deepEqual(stacks, [], 'no stack at info');
      else assert.ok(stacks.length > 0 && stacks.every((entry) => entry.level === 20), 'the stack, at debug');
    }
  });

  test('the pretty form of a line: fields as key=value, errors as one phrase, a stack only under debug', () => {
    const time = '2026-11-25T10:00:00.042Z';
    const local = new Date(time);
    const clock = [local.getHours(), local.getMinutes(), local.getSeconds()].map((value) => String(value).padStart(2, '0')).join(':') + '.042';
    const line = (entry: object) => prettyLine(JSON.stringify({ time, service: 'sluice', pid: 1, hostname: 'h', ...entry }), { colour: false });
    assert.equal(
      line({ level: 30, table: 'ods.orders', partition: 'dt=2026-11-22', filesIn: 5, note: 'two words', msg: 'partition compacted' }),
      `${clock} INFO  partition compacted table=ods.orders partition="dt=2026-11-22" filesIn=5 note="two words"\n`,
    );
    const error = { type: 'SluiceError', code: 'SLUICE_DISK_FULL', message: 'no space left under sink.filesystem.root', stack: 'SluiceError: no space\n    at write (x.ts:1:1)' };
    assert.equal(line({ level: 40, error, attempt: 2, msg: 'retriable failure, retrying' }), `${clock} WARN  retriable failure, retrying error="SluiceError [SLUICE_DISK_FULL]: no space left under sink.filesystem.root" attempt=2\n`);
    assert.equal(line({ level: 50, err: error, msg: 'failed' }), `${clock} ERROR failed err="SluiceError [SLUICE_DISK_FULL]: no space left under sink.filesystem.root"\n`);
    assert.equal(line({ level: 20, err: error, msg: 'the stack' }), `${clock} DEBUG the stack err="SluiceError [SLUICE_DISK_FULL]: no space left under sink.filesystem.root"\n    SluiceError: no space\n        at write (x.ts:1:1)\n`);
    assert.equal(prettyLine('not json', { colour: false }), 'not json\n');
  });
});
