import { parseStrictJson } from '../core/jose/strict-json.ts';
import type { CallArguments, CallDescriptor, CompiledParameter } from '../guard/catalog.ts';

/**
 * One parameter as read from the call: a JSON value (`json`, from the body or the arguments), a text value
 * (`text`, from a query parameter or a header), or why there is none.
 */
export type ParameterRead =
  | { readonly json: unknown }
  | { readonly text: string }
  | { readonly missing: string }
  | { readonly invalid: string };

/** Reads the parameters of one call. `ambiguous`: the call's arguments repeat a member name (always refused). */
export interface ParameterReader {
  read(parameter: CompiledParameter): ParameterRead;
  readonly ambiguous?: string;
}

const JSON_MEDIA_TYPE = /^application\/(?:[a-z0-9.+-]*\+)?json\s*(?:;|$)/i;

/**
 * The parts of one HTTP request that parameters are read from, shared by the calls of a JSON-RPC batch.
 * Nothing is parsed until a parameter asks for it, and the body at most once (JSON-RPC and OpenAI bodies
 * were already parsed to find the action: their values come with the call, never from a second parse).
 */
export class RequestParameters {
  readonly #url: URL;
  readonly #req: { readonly headersDistinct: NodeJS.Dict<string[]> };
  readonly #body: Buffer | undefined;
  #parsed: { readonly json: unknown } | { readonly invalid: string } | undefined;

  /** `req.headersDistinct` (every value of a repeated header) and `url.searchParams` are read on demand. */
  constructor(url: URL, req: { readonly headersDistinct: NodeJS.Dict<string[]> }, body: Buffer | undefined) {
    this.#url = url;
    this.#req = req;
    this.#body = body;
  }

  /** The reader for one call of this request. */
  reader(call: CallDescriptor): ParameterReader {
    const args = call.protocol === 'mcp' || call.protocol === 'a2a' ? call.arguments : undefined;
    const ambiguous = args !== undefined && 'repeated' in args ? args.invalid : undefined;
    return {
      read: (p) => this.#read(p, call, args),
      ...(ambiguous === undefined ? {} : { ambiguous }),
    };
  }

  #read(p: CompiledParameter, call: CallDescriptor, args: CallArguments | undefined): ParameterRead {
    switch (p.in) {
      case 'none':
        return { missing: 'the action carries no such value' };
      case 'query':
        return single(this.#url.searchParams.getAll(p.key), `query parameter ${p.key}`);
      case 'header':
        return single(this.#req.headersDistinct[p.key] ?? [], `header ${p.key}`);
      case 'arguments': {
        if (args === undefined) return { missing: 'the call has no arguments' };
        if (!('value' in args)) return args;
        return at(args.value, p.path);
      }
      case 'body': {
        if (call.protocol === 'openai' && call.body !== undefined) return at(call.body, p.path);
        const body = this.#json();
        return 'invalid' in body ? body : at(body.json, p.path);
      }
    }
  }

  #json(): { readonly json: unknown } | { readonly invalid: string } {
    if (this.#parsed !== undefined) return this.#parsed;
    const types = this.#req.headersDistinct['content-type'] ?? [];
    if (this.#body === undefined || this.#body.length === 0) this.#parsed = { invalid: 'the body is empty' };
    else if (types.length !== 1 || !JSON_MEDIA_TYPE.test(types[0]!)) {
      // An upstream reads the body by its media type: a form body that happens to parse as JSON says
      // something else to it than to this check.
      this.#parsed = { invalid: 'the body is not declared application/json' };
    } else {
      const text = this.#body.toString('utf8');
      const parsed = parseStrictJson(text);
      if (parsed !== undefined) this.#parsed = { json: parsed.value };
      else {
        let json = true;
        try {
          JSON.parse(text);
        } catch {
          json = false;
        }
        this.#parsed = { invalid: json ? 'the body repeats a member name' : 'the body is not JSON' };
      }
    }
    return this.#parsed;
  }
}

function single(values: readonly string[], what: string): ParameterRead {
  if (values.length === 0) return { missing: `the request has no ${what}` };
  if (values.length > 1) return { invalid: `the ${what} is repeated` };
  return { text: values[0]! };
}

/** RFC 6901 evaluation over parsed JSON: own members only; array indices in canonical decimal form. */
function at(root: unknown, path: readonly string[]): ParameterRead {
  let value: unknown = root;
  for (const [i, token] of path.entries()) {
    if (Array.isArray(value)) {
      if (!/^(?:0|[1-9][0-9]{0,8})$/.test(token) || Number(token) >= value.length)
        return { missing: `nothing at ${pointer(path, i + 1)}` };
      value = value[Number(token)];
    } else if (typeof value === 'object' && value !== null) {
      if (!Object.hasOwn(value, token)) return { missing: `nothing at ${pointer(path, i + 1)}` };
      value = (value as Record<string, unknown>)[token];
    } else {
      return { invalid: `${pointer(path, i) || 'the document'} is not an object or array` };
    }
  }
  return { json: value };
}

function pointer(path: readonly string[], length: number): string {
  return path
    .slice(0, length)
    .map((t) => `/${t.replaceAll('~', '~0').replaceAll('/', '~1')}`)
    .join('');
}
