// `npm run docs:errors`: writes docs/errors.md from the error codes in src/core/error-codes.ts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERRORS_DOC_PATH, renderErrorsDoc } from '../src/cli/errors-doc.ts';

const file = join(fileURLToPath(new URL('..', import.meta.url)), ERRORS_DOC_PATH);
writeFileSync(file, renderErrorsDoc());
console.log(`wrote ${file}`);
