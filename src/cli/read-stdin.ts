import { MAX_COMPACT_LENGTH } from '../core/jose/jws.ts';
import { CliError, type Io } from './command.ts';

/**
 * Reads standard input (for `-` arguments, which keep tokens out of shell history), refusing more than
 * `limit` bytes. Latin-1, like the compact JWS it is meant for.
 */
export async function readStdin(
  io: Io,
  limit = MAX_COMPACT_LENGTH + 1024,
  what = 'one token',
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > limit) {
      throw new CliError(`standard input is too long for ${what}`, `Pipe exactly ${what}.`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('latin1');
}
