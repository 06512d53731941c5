#!/usr/bin/env node
// Which code runs is decided by where this file sits, never by whether a build happens to exist:
// - in a checkout (src/ beside bin/), the TypeScript sources, through tsx (a devDependency). A dist/
//   left by an earlier `npm run build` is ignored there, so it can never run instead of the code
//   being edited.
// - in an installed package, the Docker image or a /opt/sluice tree (no src/: `files` in
//   package.json leaves it out), the compiled dist/, with production dependencies only.
import { existsSync } from 'node:fs';

const sources = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(sources)) {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(
      'sluice: this is a checkout (src/ is here) and tsx is not installed: run `npm ci` in it first,\n' +
        'or install the package (npm pack, then npm install -g ./sluice-<version>.tgz) to run the compiled code.\n',
    );
    process.exit(1);
  }
  register();
  await import(sources.href);
} else {
  await import(new URL('../dist/src/cli/main.js', import.meta.url).href);
}
