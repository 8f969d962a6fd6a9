/**
 * Reads the token usage an OpenAI-compatible upstream reports in its answer, as the answer streams past:
 * `usage.total_tokens` of a JSON completion, of the final SSE chunk of a streamed one (sent when the call
 * asked for `stream_options.include_usage`), or of a Responses API `response.completed` event. Memory
 * stays bounded: an SSE line longer than the cap is skipped, and a JSON answer longer than it is not read.
 */

/** The longest JSON answer (or SSE line) read for its usage. */
const MAX_BYTES = 4 * 1024 * 1024;

export class UsageMeter {
  #whole: Buffer[] = [];
  #wholeBytes = 0;
  #line = '';
  #lineTooLong = false;
  #decoder = new TextDecoder();
  #streamed: number | undefined;

  /** One chunk of the answer, in order. */
  write(chunk: Buffer): void {
    if (this.#wholeBytes <= MAX_BYTES) {
      this.#wholeBytes += chunk.length;
      if (this.#wholeBytes <= MAX_BYTES) this.#whole.push(chunk);
      else this.#whole = [];
    }
    const text = this.#decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      this.#endLine(this.#line + text.slice(start, nl));
      this.#line = '';
      this.#lineTooLong = false;
      start = nl + 1;
    }
    if (!this.#lineTooLong) {
      this.#line += text.slice(start);
      if (this.#line.length > MAX_BYTES) {
        this.#line = '';
        this.#lineTooLong = true;
      }
    }
  }

  #endLine(line: string): void {
    if (this.#lineTooLong || !line.startsWith('data:')) return;
    const total = totalTokens(parse(line.slice(5).trim()));
    if (total !== undefined) this.#streamed = total;
  }

  /** The tokens the answer reported (the last report of a stream), or `undefined` when it reported none. */
  total(): number | undefined {
    if (this.#line !== '') this.#endLine(this.#line);
    if (this.#streamed !== undefined) return this.#streamed;
    if (this.#wholeBytes > MAX_BYTES || this.#whole.length === 0) return undefined;
    return totalTokens(parse(Buffer.concat(this.#whole).toString('utf8')));
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** `usage.total_tokens` of a completion or chunk, or of the `response` of a Responses API event. */
function totalTokens(value: unknown): number | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as {
    usage?: { total_tokens?: unknown };
    response?: { usage?: { total_tokens?: unknown } };
  };
  const total = v.usage?.total_tokens ?? v.response?.usage?.total_tokens;
  return typeof total === 'number' && Number.isFinite(total) && total >= 0 ? total : undefined;
}
