/**
 * The head of an inbound request, read before anything else (docs/gateway.md, "Hosts and origins"): the
 * request target must be in origin form, there must be exactly one well-formed `Host`, the route must
 * allow that host, and a browser `Origin` must be the gateway itself or one the route lists. Each refusal
 * comes before any credential is read, so a DNS-rebound browser page never gets a warrant checked, a
 * session opened or a call forwarded.
 */
import type { IncomingMessage } from 'node:http';
import { GatewayError } from './gateway-error.ts';

/** `name` or `name:port`; a bracketed IPv6 literal or a registered name of unreserved characters. */
const HOST = /^(\[[0-9a-f:.]+\]|[a-z0-9._~-]+)(?::([0-9]{1,5}))?$/;
/** Names every gateway answers to: loopback only, which no DNS-rebound page can present as its Host. */
const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '']);

export interface HostEntry {
  readonly name: string;
  /** Absent: any port. */
  readonly port?: string;
}

/** The route facts this module reads (a subset of `GatewayRoute`). */
export interface HostRoute {
  readonly match: { readonly host?: string };
  readonly allowedHosts?: readonly string[];
  readonly allowedOrigins?: readonly string[];
}

/** The request target must be origin form (`/path?query`): not absolute form, not `*`. */
export function checkTarget(req: IncomingMessage): void {
  const target = req.url ?? '';
  if (!target.startsWith('/'))
    throw new GatewayError(
      'WARRANT_TARGET_INVALID',
      'the request target must be a path (origin form), not an absolute URL',
    );
}

/** The one `Host` of the request, lower case. A missing, repeated or malformed Host is refused. */
export function readHost(req: IncomingMessage): string {
  const values = req.headersDistinct['host'];
  if (values === undefined || values.length !== 1)
    throw new GatewayError(
      'WARRANT_HOST_INVALID',
      values === undefined ? 'the Host header is missing' : 'the Host header is repeated',
    );
  const host = values[0]!.toLowerCase();
  const parsed = parseHost(host);
  if (parsed === undefined || (parsed.port !== undefined && Number(parsed.port) > 65535))
    throw new GatewayError('WARRANT_HOST_INVALID', 'the Host header is malformed');
  return host;
}

export function parseHost(value: string): HostEntry | undefined {
  const m = HOST.exec(value.toLowerCase());
  if (!m) return undefined;
  return m[2] === undefined ? { name: m[1]! } : { name: m[1]!, port: m[2] };
}

/**
 * The hosts a gateway answers for routes that list none: the loopback names, its listen address (unless
 * it listens on every interface) and the host of its public URL — each on any port.
 */
export function defaultHosts(publicUrl: string, listenHost: string | undefined): readonly HostEntry[] {
  const names = new Set(LOOPBACK);
  if (listenHost !== undefined && !WILDCARDS.has(listenHost))
    names.add(
      listenHost.includes(':') ? `[${listenHost.replace(/^\[|\]$/g, '')}]` : listenHost.toLowerCase(),
    );
  names.add(new URL(publicUrl).hostname.toLowerCase());
  return [...names].map((name) => ({ name }));
}

/** The hosts a route allows: its `allowedHosts`, else its `match.host` (any port), else the defaults. */
export function allowedHosts(route: HostRoute, defaults: readonly HostEntry[]): readonly HostEntry[] {
  if (route.allowedHosts !== undefined && route.allowedHosts.length > 0)
    return route.allowedHosts.map((h) => parseHost(h)).filter((h) => h !== undefined);
  if (route.match.host !== undefined) return [{ name: route.match.host.toLowerCase() }];
  return defaults;
}

/** Refuses a Host the route does not allow (421 Misdirected Request: not a host this route answers). */
export function checkHost(host: string, allowed: readonly HostEntry[]): void {
  const h = parseHost(host);
  if (h && allowed.some((a) => a.name === h.name && (a.port === undefined || a.port === h.port))) return;
  throw new GatewayError('WARRANT_HOST_NOT_ALLOWED', 'this route does not answer for this host');
}

/**
 * Refuses a browser `Origin` that is neither this request's own origin (`<scheme>://<Host>`, the Host
 * already allowed), nor the gateway's public origin, nor one the route lists. No Origin (a non-browser
 * client) passes; `null` passes only when listed; a repeated Origin is refused.
 */
export function checkOrigin(
  req: IncomingMessage,
  scheme: 'http' | 'https',
  host: string,
  publicUrl: string,
  route: HostRoute,
): void {
  const values = req.headersDistinct['origin'];
  if (values === undefined) return;
  const refuse = (why: string) => new GatewayError('WARRANT_ORIGIN_NOT_ALLOWED', why);
  if (values.length !== 1) throw refuse('the Origin header is repeated');
  const origin = normalizeOrigin(values[0]!);
  if (origin === undefined) throw refuse('the Origin header is malformed');
  if (origin === normalizeOrigin(`${scheme}://${host}`) || origin === normalizeOrigin(publicUrl)) return;
  if (route.allowedOrigins?.some((o) => normalizeOrigin(o) === origin)) return;
  throw refuse('this route does not accept calls from this origin');
}

/** `scheme://host[:port]` in lower case without a default port, `null`, or undefined when malformed. */
export function normalizeOrigin(value: string): string | undefined {
  const v = value.trim().toLowerCase().replace(/\/$/, '');
  if (v === 'null') return v;
  const m = /^(https?):\/\/(.+)$/.exec(v);
  if (!m) return undefined;
  const host = parseHost(m[2]!);
  if (!host) return undefined;
  const defaultPort = m[1] === 'https' ? '443' : '80';
  return `${m[1]}://${host.name}${host.port === undefined || host.port === defaultPort ? '' : `:${host.port}`}`;
}
