/**
 * `npm run docs:config`: writes docs/configuration-reference.md from the configuration and catalog JSON
 * Schemas (src/config/reference-doc.ts). Run it after changing either schema; a test fails when the
 * committed reference is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { currentReferenceDoc, REFERENCE_DOC_PATH } from '../src/config/reference-doc.ts';

writeFileSync(REFERENCE_DOC_PATH, currentReferenceDoc());
process.stdout.write(`wrote ${fileURLToPath(REFERENCE_DOC_PATH)}\n`);
