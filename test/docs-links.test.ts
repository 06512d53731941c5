// The documentation's links hold: README.md and every page of docs/ link only to files that exist and
// to #anchors that a heading of the target page makes, and the README leads to every page of docs/.
// Pages move and headings get renamed; a broken link is found here rather than by a reader.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from './helpers/servers.ts';

const PAGES = ['README.md', ...readdirSync(join(REPO_ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

/** The page's lines outside fenced code blocks, inline code spans blanked (a `# comment` in a shell block is no heading). */
function proseLines(page: string): string[] {
  let fenced = false;
  const lines: string[] = [];
  for (const line of readFileSync(join(REPO_ROOT, page), 'utf8').split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    else if (!fenced) lines.push(line);
  }
  return lines;
}

/** The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as '-', repeats numbered. */
function anchorsOf(page: string): Set<string> {
  const anchors = new Set<string>();
  for (const line of proseLines(page)) {
    const heading = /^#{1,6} (.*)$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const text = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = text.trim().toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, '').replace(/ /g, '-');
    let anchor = base;
    for (let n = 1; anchors.has(anchor); n++) anchor = `${base}-${n}`;
    anchors.add(anchor);
  }
  return anchors;
}

/** Every link target in the page's prose, external ones left out. */
function linksOf(page: string): string[] {
  const targets: string[] = [];
  for (const line of proseLines(page)) {
    for (const [, target = ''] of line.replace(/`[^`]*`/g, '``').matchAll(/\]\(([^)\s]+)\)/g)) {
      if (!/^[a-z]+:/i.test(target)) targets.push(target);
    }
  }
  return targets;
}

/** The repository path a link of `page` leads to, and its anchor ('' for none). */
function resolveLink(page: string, target: string): { path: string; anchor: string } {
  const [file = '', anchor = ''] = target.split('#');
  const path = file === '' ? page : relative(REPO_ROOT, resolve(join(REPO_ROOT, dirname(page)), file));
  return { path, anchor };
}

describe('documentation links', () => {
  it('lead from README.md and docs/*.md to files that exist', () => {
    const broken = PAGES.flatMap((page) =>
      linksOf(page)
        .filter((target) => !existsSync(join(REPO_ROOT, resolveLink(page, target).path)))
        .map((target) => `${page}: ${target}`),
    );
    assert.deepEqual(broken, []);
  });

  it("lead to #anchors that a heading of the target page makes", () => {
    const broken = PAGES.flatMap((page) =>
      linksOf(page)
        .map((target) => ({ target, ...resolveLink(page, target) }))
        .filter(({ path, anchor }) => anchor !== '' && existsSync(join(REPO_ROOT, path)))
        .filter(({ path, anchor }) => !path.endsWith('.md') || !anchorsOf(path).has(anchor))
        .map(({ target }) => `${page}: ${target}`),
    );
    assert.deepEqual(broken, []);
  });

  it('lead from the README to every page of docs/', () => {
    const linked = new Set(linksOf('README.md').map((target) => resolveLink('README.md', target).path));
    assert.deepEqual(PAGES.filter((page) => page.startsWith('docs/') && !linked.has(page)), []);
  });

  it('reads headings as GitHub anchors them', () => {
    const anchors = anchorsOf('docs/mysql-setup.md');
    assert.ok(anchors.has('servers-without-binlog_row_metadatafull'), [...anchors].join(', '));
    assert.ok(anchorsOf('docs/errors.md').has('sluice_config_invalid'));
    assert.ok(!anchorsOf('docs/systemd.md').has('the-unit'), 'a comment in a shell block is no heading');
  });
});
