import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Alg } from '../core/jose/algorithms.ts';
import { exportPrivateJwk, importPrivateJwk, type SigningKey } from '../core/jose/jwk.ts';

export type KeyFileProblem = 'exists' | 'not_found' | 'permissions' | 'malformed' | 'io';

/**
 * A private key file cannot be read or written. The message names the file and never its content;
 * `hint` says what to do next.
 */
export class KeyFileError extends Error {
  override name = 'KeyFileError';
  readonly problem: KeyFileProblem;
  readonly path: string;
  readonly hint: string;
  constructor(
    problem: KeyFileProblem,
    path: string,
    message: string,
    hint: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.problem = problem;
    this.path = path;
    this.hint = hint;
  }
}

const PRIVATE_FILE_MODE = 0o600;

/**
 * Writes a private JWK with mode 0600, atomically: the key goes to a temporary file in the same directory
 * first, then is linked (no overwrite) or renamed (overwrite) into place, so no reader ever sees half a key
 * and an existing key is never replaced unless `overwrite` is set.
 */
export function writePrivateKeyFile(
  path: string,
  key: SigningKey,
  options: { overwrite?: boolean } = {},
): void {
  const text = `${JSON.stringify(exportPrivateJwk(key), null, 2)}\n`;
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  writeNewFile(temporary, text, path);
  try {
    if (options.overwrite) renameSync(temporary, path);
    else linkOrCreate(temporary, path, text);
  } catch (cause) {
    if (cause instanceof KeyFileError) throw cause;
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KeyFileError(
        'exists',
        path,
        `${path} already exists`,
        'Choose another file, or pass --force to replace it (the old key is lost).',
      );
    }
    throw ioError('write', path, cause);
  } finally {
    try {
      unlinkSync(temporary);
    } catch {
      // already renamed into place
    }
  }
}

/** Creates `target` exclusively with mode 0600, content flushed to disk. */
function writeNewFile(target: string, text: string, reportedPath: string): void {
  let fd: number;
  try {
    fd = openSync(target, 'wx', PRIVATE_FILE_MODE);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST' && target === reportedPath) throw cause;
    throw ioError('write', reportedPath, cause);
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (cause) {
    closeSync(fd);
    unlinkSync(target);
    throw ioError('write', reportedPath, cause);
  }
  closeSync(fd);
}

/** A hard link never replaces an existing file; where links are unsupported, an exclusive create does the same. */
function linkOrCreate(temporary: string, path: string, text: string): void {
  try {
    linkSync(temporary, path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw cause;
    writeNewFile(path, text, path);
  }
}

/**
 * Reads a private JWK written by `writePrivateKeyFile`. Refuses a file that other users can read or write
 * (like ssh does), and a key whose algorithm is not in `algorithms`.
 */
export function readPrivateKeyFile(path: string, algorithms?: readonly Alg[]): SigningKey {
  let text: string;
  try {
    const stat = statSync(path);
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      throw new KeyFileError(
        'permissions',
        path,
        `${path} is accessible by other users (mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')})`,
        `Restrict it with \`chmod 600 ${path}\` and run again.`,
      );
    }
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    if (cause instanceof KeyFileError) throw cause;
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new KeyFileError(
        'not_found',
        path,
        `${path} does not exist`,
        'Check the path, or create a key with `warrant keygen`.',
      );
    }
    throw ioError('read', path, cause);
  }
  let key: SigningKey;
  try {
    key = importPrivateJwk(JSON.parse(text));
  } catch (cause) {
    throw new KeyFileError(
      'malformed',
      path,
      `${path} is not a valid private JWK (Ed25519 or P-256)`,
      'Restore the file from a backup, or move it away to create a new key.',
      { cause },
    );
  }
  if (algorithms && !algorithms.includes(key.alg)) {
    throw new KeyFileError(
      'malformed',
      path,
      `${path} holds an ${key.alg} key, but the configured algorithms are ${algorithms.join(', ')}`,
      `Add ${key.alg} to sts.algorithms, or move the file away to create a new key.`,
    );
  }
  return key;
}

function ioError(verb: 'read' | 'write', path: string, cause: unknown): KeyFileError {
  const code = (cause as NodeJS.ErrnoException).code ?? 'unknown error';
  const hint =
    code === 'ENOENT'
      ? `Create the directory ${dirname(path)} first, or choose another path.`
      : code === 'EACCES' || code === 'EPERM'
        ? `Check the permissions of ${dirname(path)}.`
        : 'Check the path and the file system, then run again.';
  return new KeyFileError('io', path, `cannot ${verb} ${path} (${code})`, hint, { cause });
}
