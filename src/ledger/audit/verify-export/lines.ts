/** Phase 1 of `verifyExport`: the file as lines of bytes, without ever buffering an overlong line. */
import { Buffer } from 'node:buffer';

/** The longest line accepted: 1 MiB. */
export const MAX_LINE_BYTES = 1 << 20;

export interface Line {
  readonly n: number;
  /** `null` when the line is longer than the limit. */
  readonly bytes: Buffer | null;
  readonly length: number;
  readonly terminated: boolean;
}

/** Splits a byte stream into lines without ever buffering more than `max` bytes of one line. */
export async function* splitLines(
  input: AsyncIterable<Uint8Array | string>,
  max: number,
): AsyncGenerator<Line> {
  let parts: Buffer[] = [];
  let length = 0;
  let over = false;
  let n = 0;
  for await (const chunk of input) {
    const buf =
      typeof chunk === 'string'
        ? Buffer.from(chunk, 'utf8')
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let pos = 0;
    while (pos < buf.length) {
      const nl = buf.indexOf(10, pos);
      const end = nl < 0 ? buf.length : nl;
      if (!over) {
        if (length + (end - pos) > max) {
          over = true;
          parts = [];
        } else if (end > pos) parts.push(buf.subarray(pos, end));
      }
      length += end - pos;
      if (nl < 0) break;
      n++;
      yield {
        n,
        bytes: over ? null : parts.length === 1 ? parts[0]! : Buffer.concat(parts),
        length,
        terminated: true,
      };
      parts = [];
      length = 0;
      over = false;
      pos = nl + 1;
    }
  }
  if (length > 0) {
    n++;
    yield { n, bytes: over ? null : Buffer.concat(parts), length, terminated: false };
  }
}
