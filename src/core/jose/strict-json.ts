import { JwsError } from '../errors.ts';

/**
 * JSON.parse that also rejects duplicate member names at any depth (RFC 7515 §5.2 allows rejecting
 * them; accepting "last one wins" is a classic parser-differential hole) and requires a top-level object.
 */
export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new JwsError('WARRANT_JWS_MALFORMED', `${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new JwsError('WARRANT_JWS_MALFORMED', `${what} is not a JSON object`);
  }
  if (hasDuplicateMember(text)) {
    throw new JwsError('WARRANT_JWS_MALFORMED', `${what} has a duplicate member name`);
  }
  return value as Record<string, unknown>;
}

/**
 * JSON.parse for any JSON value that refuses duplicate member names at any depth, so a check and the
 * system behind it can never read different values for the same key. Returns undefined on bad JSON.
 */
export function parseStrictJson(text: string): { value: unknown } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return hasDuplicateMember(text) ? undefined : { value };
}

/** The index of the quote that closes the string opening at `open` in already-valid JSON text. */
function closingQuote(text: string, open: number): number {
  let i = open + 1;
  while (i < text.length) {
    const d = text.charCodeAt(i);
    if (d === 0x5c /* \ */) i += 2;
    else if (d === 0x22 /* " */) break;
    else i++;
  }
  return i;
}

/** The value of the string token `text[open..close]` (quotes included), unescaped only when it must be. */
function memberName(text: string, open: number, close: number): string {
  const raw = text.slice(open, close + 1);
  return raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
}

/** Scans already-valid JSON text; returns true when some object repeats a member name. */
function hasDuplicateMember(text: string): boolean {
  // Fast path: no object can repeat a name if there are fewer than two members anywhere.
  const stack: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      i = closingQuote(text, i);
      const top = stack[stack.length - 1];
      if (expectKey && top) {
        const key = memberName(text, start, i);
        if (top.has(key)) return true;
        top.add(key);
        expectKey = false;
      }
    } else if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] != null;
    }
  }
  return false;
}

/**
 * The JSON pointers (RFC 6901) of the repeated member names in already-valid JSON text, in document
 * order, at most `limit` of them: `{"a":{"b":1,"b":2}}` gives `['/a/b']`. For the refusal path only (it
 * builds paths); `parseStrictJson` is the fast check.
 */
export function duplicateMembers(text: string, limit = 16): string[] {
  type Frame =
    | { readonly kind: 'object'; readonly keys: Set<string>; key: string | undefined; expectKey: boolean }
    | { readonly kind: 'array'; index: number };
  const stack: Frame[] = [];
  const found: string[] = [];
  const pointer = (last: string): string =>
    [...stack.slice(0, -1).map((f) => (f.kind === 'array' ? String(f.index) : f.key!)), last]
      .map((t) => `/${t.replaceAll('~', '~0').replaceAll('/', '~1')}`)
      .join('');
  for (let i = 0; i < text.length && found.length < limit; i++) {
    const c = text.charCodeAt(i);
    const top = stack[stack.length - 1];
    if (c === 0x22 /* " */) {
      const start = i;
      i = closingQuote(text, i);
      if (top?.kind === 'object' && top.expectKey) {
        const key = memberName(text, start, i);
        if (top.keys.has(key)) found.push(pointer(key));
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
    } else if (c === 0x7b /* { */) {
      stack.push({ kind: 'object', keys: new Set(), key: undefined, expectKey: true });
    } else if (c === 0x5b /* [ */) {
      stack.push({ kind: 'array', index: 0 });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      if (top?.kind === 'object') top.expectKey = true;
      else if (top?.kind === 'array') top.index++;
    }
  }
  return found;
}
