// `sluice man` and `sluice completion bash`, both made from the commander definitions: checked here
// against what `--help` of each command prints (commander's own rendering), through groff and bash.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { REPO_ROOT } from './helpers/servers.ts';

function sluice(...args: string[]): string {
  const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/sluice.js'), ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  assert.equal(result.status, 0, `sluice ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** The names under "Commands:" in a --help text. */
function commandsIn(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((match) => match[1]!).filter((name) => name !== 'help');
}

/** Every command path with its --help text, found the way a person would: from `sluice --help` down. */
function commandsWithHelp(): Map<string, string> {
  const found = new Map<string, string>();
  const visit = (path: string[]): void => {
    const help = sluice(...path, '--help');
    const children = commandsIn(help);
    if (children.length === 0) found.set(path.join(' '), help);
    for (const child of children) visit([...path, child]);
  };
  visit([]);
  return found;
}

describe('the manual page and the shell completion, from the command definitions', () => {
  let helps: Map<string, string>;
  let page: string;
  before(() => {
    helps = commandsWithHelp();
    page = sluice('man');
  });

  test('sluice man is roff that groff renders without a warning', () => {
    const rendered = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z'], { input: page, encoding: 'utf8' });
    assert.equal(rendered.status, 0);
    assert.equal(rendered.stderr, '');
    const text = spawnSync('groff', ['-man', '-Tascii', '-P', '-cbou'], { input: page, encoding: 'utf8' }).stdout;
    assert.match(text, /^NAME\n\s+sluice\s+-\s+change-data capture/m);
  });

  test('the page has a section for every command, with every option --help lists', () => {
    assert.ok(helps.size >= 8, `commands found: ${[...helps.keys()].join(', ')}`);
    for (const [path, help] of helps) {
      const start = page.indexOf(`.SS "sluice ${path} `);
      assert.ok(start >= 0, `a section for sluice ${path}`);
      const section = page.slice(start, page.indexOf('\n.SS ', start + 1) >>> 0);
      const options = [...help.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)].map((match) => match[1]!).filter((option) => option !== '--help');
      for (const option of options) assert.ok(section.includes(`\\fB${option.replace(/-/g, '\\-')}\\fR`), `sluice ${path}: ${option} is in its section`);
    }
  });

  test('bash completes commands, subcommands, options and file names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-completion-'));
    writeFileSync(join(dir, 'sluice.yaml'), '');
    const script = join(dir, 'completion.bash');
    writeFileSync(script, sluice('completion', 'bash'));
    const complete = (...words: string[]): string[] => {
      const quoted = words.map((word) => `'${word}'`).join(' ');
      const result = spawnSync('bash', ['-c', `source '${script}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _sluice; printf '%s\\n' "\${COMPREPLY[@]}"`], { cwd: dir, encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      return result.stdout.split('\n').filter(Boolean).sort();
    };
    const top = [...new Set([...helps.keys()].map((path) => path.split(' ')[0]!))].sort();
    assert.deepEqual(complete('sluice', ''), top);
    assert.deepEqual(complete('sluice', 'checkpoint', ''), commandsIn(sluice('checkpoint', '--help')).sort());
    assert.deepEqual(complete('sluice', 'query', '--c'), ['--config', '--current']);
    assert.deepEqual(complete('sluice', 'run', '--config', 'slu'), ['sluice.yaml']);
    assert.deepEqual(complete('sluice', 'completion', ''), ['--help', '-h', 'bash']);
    // After an option that takes a value other than a file, nothing is offered (the value is the user's).
    assert.deepEqual(complete('sluice', 'query', '--sql', ''), []);
    // An argument does not move the command path: the options of `query` still follow it.
    assert.ok(complete('sluice', 'query', 'ods.orders', '--').includes('--limit'));
  });
});
