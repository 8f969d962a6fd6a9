import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The public test vectors live outside the repository, in the sibling checkout `../shared/vectors/`
 * (CI clones the repo with `../shared` beside it; provenance in `shared/vectors/SOURCES.md`).
 * A missing directory is a hard error: a vector suite that silently checks nothing is worse than none.
 */
export const VECTORS_DIR: URL = new URL('../../../shared/vectors/', import.meta.url);

function requireDir(url: URL): void {
  const path = fileURLToPath(url);
  if (!existsSync(path) || !statSync(path).isDirectory()) {
    throw new Error(
      `test vectors not found at ${path}: clone the shared vectors beside the repository (../shared/vectors/)`,
    );
  }
}

requireDir(VECTORS_DIR);

/** Absolute URL of a file under the vectors directory, e.g. `vectorUrl('wycheproof/ed25519_test.json')`. */
export function vectorUrl(relative: string): URL {
  const url = new URL(relative, VECTORS_DIR);
  if (!url.href.startsWith(VECTORS_DIR.href))
    throw new Error(`vector path escapes the vectors dir: ${relative}`);
  return url;
}

/** Reads and parses one JSON vector file; throws (fails the test file) when it is missing or not JSON. */
export function readVectorJson<T = unknown>(relative: string): T {
  const url = vectorUrl(relative);
  if (!existsSync(url)) throw new Error(`test vector file missing: ${fileURLToPath(url)}`);
  return JSON.parse(readFileSync(url, 'utf8')) as T;
}

/** The common shape of a Wycheproof file: groups of cases, each with a result. */
export interface WycheproofFile<G> {
  readonly algorithm?: string;
  readonly numberOfTests: number;
  readonly testGroups: readonly G[];
}

export type WycheproofResult = 'valid' | 'invalid' | 'acceptable';

export interface WycheproofCase {
  readonly tcId: number;
  readonly comment: string;
  readonly flags: readonly string[];
  readonly result: WycheproofResult;
}

/** Tally of cases by expected result. */
export interface Tally {
  valid: number;
  invalid: number;
  acceptable: number;
}

export function emptyTally(): Tally {
  return { valid: 0, invalid: 0, acceptable: 0 };
}
