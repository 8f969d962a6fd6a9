/**
 * The compensating call of one action (catalog `compensation`), built from the values the gateway kept: to
 * the upstream of the route the action was called on (`gateway.routes`, by audience), its path relative to
 * that upstream, with an `Idempotency-Key` derived from the original decision id — the same on every
 * attempt, so an upstream that honours it applies a compensation at most once however often it is sent.
 */
import type { GatewayRoute } from '../../gateway/context.ts';
import type { CatalogEntry } from '../catalog.ts';
import type { CompensationInputs } from './compensation-inputs.ts';

export interface CompensationRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly idempotencyKey: string;
}

/** The Idempotency-Key of the compensation of decision `decisionId`. */
export const idempotencyKeyOf = (decisionId: string): string => `warrant-contain-${decisionId}`;

const PLACEHOLDER = /\{([a-z][a-z0-9_]{0,59})\}/g;
const WHOLE_PLACEHOLDER = /^\{([a-z][a-z0-9_]{0,59})\}$/;

/** The request, or why it cannot be built (a value not kept, a route no longer configured). */
export function compensationRequest(
  action: CatalogEntry,
  inputs: CompensationInputs,
  routes: readonly GatewayRoute[],
  runId: string,
): CompensationRequest | { readonly missing: string } {
  const c = action.compensation;
  if (c === undefined) return { missing: 'the catalog registers no compensation for this action' };
  for (const v of action.compensationValues) {
    if (inputs.values[v.name] === undefined)
      return { missing: `the value ${v.name} was not found in the ${v.from} of the call` };
  }
  const route = routes.find((r) => r.audience === inputs.route);
  if (route === undefined) return { missing: `no route with audience ${inputs.route} is configured` };
  let pathValid = true;
  const path = c.path.replace(PLACEHOLDER, (_, name: string) => {
    const value = inputs.values[name];
    // A value is one path segment: `/` is percent-encoded, and `.`/`..` (which a URL resolves to another
    // path) or an empty segment are refused — a value from an upstream's answer cannot steer the call.
    if (typeof value !== 'string' && typeof value !== 'number') pathValid = false;
    const text = String(value);
    if (text === '' || text === '.' || text === '..') pathValid = false;
    return encodeURIComponent(text);
  });
  if (!pathValid)
    return { missing: 'a path value is not a usable path segment (a non-empty string or a number)' };
  const upstream = new URL(route.upstream);
  const base = upstream.pathname.replace(/\/+$/, '');
  const url = `${upstream.origin}${base}${path}`;
  const idempotencyKey = idempotencyKeyOf(inputs.decisionId);
  const body = c.body === undefined ? undefined : JSON.stringify(fill(c.body, inputs.values));
  return {
    method: c.method,
    url,
    idempotencyKey,
    headers: {
      'idempotency-key': idempotencyKey,
      'warrant-containment': runId,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body }),
  };
}

/** The body template with each string that is exactly `{name}` replaced by the value. */
function fill(template: unknown, values: Readonly<Record<string, unknown>>): unknown {
  if (typeof template === 'string') {
    const whole = WHOLE_PLACEHOLDER.exec(template);
    return whole ? values[whole[1]!] : template;
  }
  if (Array.isArray(template)) return template.map((t) => fill(t, values));
  if (template !== null && typeof template === 'object')
    return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, fill(v, values)]));
  return template;
}
