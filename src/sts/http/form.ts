import { OAuthError } from '../oauth-error.ts';

export const MAX_FORM_BYTES = 64 * 1024;
export const MAX_PARAMETER_BYTES = 16 * 1024;
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** One decoder for every request: `decode` without `stream` keeps no state between calls. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A form name or value: `+` is a space, `%XX` a byte of UTF-8 (most values, tokens, have neither). */
function formDecode(raw: string): string {
  if (!raw.includes('%') && !raw.includes('+')) return raw;
  return decodeURIComponent(raw.replaceAll('+', ' '));
}

/**
 * Strict `application/x-www-form-urlencoded` parsing for OAuth endpoints: valid UTF-8 and percent-encoding,
 * parameter names of a safe shape, no parameter twice (RFC 6749 §3.2), bounded sizes. Empty values count
 * as absent (RFC 6749 §3.1).
 */
export function parseForm(body: Buffer, contentType: string | undefined): Map<string, string> {
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType !== 'application/x-www-form-urlencoded') {
    throw new OAuthError(
      'invalid_request',
      'WARRANT_REQUEST_MALFORMED',
      'the body must be application/x-www-form-urlencoded',
    );
  }
  if (body.length > MAX_FORM_BYTES) {
    throw new OAuthError(
      'invalid_request',
      'WARRANT_REQUEST_MALFORMED',
      `the body is larger than ${MAX_FORM_BYTES} bytes`,
    );
  }
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    throw new OAuthError('invalid_request', 'WARRANT_REQUEST_MALFORMED', 'the body is not valid UTF-8');
  }
  const params = new Map<string, string>();
  // Every name seen, also those with an empty value (which count as absent but still may not repeat).
  const seen = new Set<string>();
  if (text.length === 0) return params;
  for (const pair of text.split('&')) {
    if (pair.length === 0) continue;
    const eq = pair.indexOf('=');
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    let name: string;
    let value: string;
    try {
      name = formDecode(rawName);
      value = formDecode(rawValue);
    } catch {
      throw new OAuthError(
        'invalid_request',
        'WARRANT_REQUEST_MALFORMED',
        'the body has invalid percent-encoding',
      );
    }
    if (!NAME.test(name))
      throw new OAuthError(
        'invalid_request',
        'WARRANT_REQUEST_MALFORMED',
        'a parameter name is not acceptable',
      );
    if (seen.has(name)) {
      throw new OAuthError('invalid_request', 'WARRANT_REQUEST_MALFORMED', `parameter ${name} is repeated`);
    }
    seen.add(name);
    if (Buffer.byteLength(value) > MAX_PARAMETER_BYTES) {
      throw new OAuthError('invalid_request', 'WARRANT_REQUEST_MALFORMED', `parameter ${name} is too large`);
    }
    if (value.length > 0) params.set(name, value);
  }
  return params;
}

export function required(params: Map<string, string>, name: string): string {
  const value = params.get(name);
  if (value === undefined)
    throw new OAuthError('invalid_request', 'WARRANT_REQUEST_MALFORMED', `parameter ${name} is missing`);
  return value;
}
