/**
 * The `htu` comparison form of RFC 9449 §4.3: an absolute http(s) URI with scheme and host lower-cased,
 * the default port removed, dot segments resolved (RFC 3986 §6.2.2–6.2.3, as the WHATWG URL parser does),
 * and no query or fragment. Returns undefined for anything else (relative, other schemes, userinfo).
 */
export function htuForm(uri: string): string | undefined {
  // Memoised: a gateway compares the same few URIs on every request (its own request URL, each client's
  // proof `htu`), and two WHATWG URL parses were ~20 µs of each request's CPU (issue 13). The function is
  // pure, so a remembered answer is exact; the map is bounded (dropped whole when full).
  const known = FORMS.get(uri);
  if (known !== undefined || FORMS.has(uri)) return known;
  const form = parseHtu(uri);
  if (FORMS.size >= MAX_FORMS) FORMS.clear();
  FORMS.set(uri, form);
  return form;
}

const MAX_FORMS = 1024;
const FORMS = new Map<string, string | undefined>();

function parseHtu(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username !== '' || url.password !== '' || url.host === '') return undefined;
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** True when the text names a query or fragment, even an empty one (`/a?`, `/a#`). */
export function hasQueryOrFragment(uri: string): boolean {
  return uri.includes('?') || uri.includes('#');
}
