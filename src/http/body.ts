/**
 * Request bodies under a limit: read whole, or streamed through a counter. Larger bodies are refused
 * without being buffered whole — a declared `Content-Length` above the limit before anything is read.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform } from 'node:stream';

/** Node's `IncomingMessage`, as far as reading its body goes. */
export interface BodySource extends AsyncIterable<unknown> {
  readonly headers: { readonly 'content-length'?: string | undefined };
}

/** Whether the request declares a body larger than `limit` (`Content-Length`). */
export function declaresMoreThan(req: BodySource, limit: number): boolean {
  return Number(req.headers['content-length'] ?? 0) > limit;
}

/**
 * The whole body, at most `limit` bytes. Past it (declared, or as it arrives) `tooLarge()` is thrown:
 * each server answers it with its own refusal.
 */
export async function readBody(req: BodySource, limit: number, tooLarge: () => Error): Promise<Buffer> {
  if (declaresMoreThan(req, limit)) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

/**
 * The body as a stream that fails (an `Error` whose `code` is `WARRANT_BODY_TOO_LARGE`) once more than
 * `limit` bytes went through; an error of the request fails it too.
 */
export function limitedBody(req: IncomingMessage, limit: number): NodeJS.ReadableStream {
  let size = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > limit)
        callback(Object.assign(new Error('body too large'), { code: 'WARRANT_BODY_TOO_LARGE' }));
      else callback(null, chunk);
    },
  });
  req.on('error', (e) => limiter.destroy(e));
  return req.pipe(limiter);
}

const continued = new WeakSet<ServerResponse>();

/**
 * `Expect: 100-continue` (RFC 9110 §10.1.1): a server whose `checkContinue` handler is its request
 * handler sends no interim answer by itself, so a caller holding back its body gets `100 Continue` only
 * when this is called — once the server wants the body. A refusal before that is a final answer and the
 * body is never sent. Sends it at most once per response.
 */
export function sendContinue(req: IncomingMessage, res: ServerResponse): void {
  if (req.headers.expect === undefined || req.httpVersion !== '1.1' || continued.has(res)) return;
  continued.add(res);
  res.writeContinue();
}
