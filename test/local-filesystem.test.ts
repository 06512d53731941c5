// The local file system under a concurrent commit: `sluice query` lists a partition while the daemon
// renames or deletes files in it. A file gone between the directory listing and its stat is passed by,
// as HDFS's one-request listing would not have shown it, instead of failing the query with ENOENT.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalFileSystem } from '../src/filesystem/local-filesystem.ts';

test('a file deleted while its directory is listed is passed by, not an error', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-local-fs-'));
  try {
    const names = Array.from({ length: 400 }, (_, index) => `f${String(index).padStart(4, '0')}`);
    for (const name of names) writeFileSync(join(root, name), name);
    const fs = new LocalFileSystem(root);
    // Deletes from the end while the listing stats from the start: they meet half way.
    const deleting = (async () => {
      for (const name of [...names].reverse().slice(0, 300)) await unlink(join(root, name));
    })();
    const listed = await fs.list('/');
    await deleting;
    const remaining = new Set(names.slice(0, 100));
    for (const name of remaining) assert.ok(listed.some((entry) => entry.path === `/${name}`), `${name} was there throughout and is listed`);
    for (const entry of listed) assert.equal(entry.length, 5, `${entry.path} listed with its size`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
