/**
 * The headers of a forwarded request (docs/gateway.md "What the upstream receives"): the caller's, minus
 * the connection-specific ones, its credentials and any identity it claims; plus the verified identity of
 * the call, set by the gateway only.
 */
import type { Grant } from '../../core/grants/index.ts';
import type { SigningKey } from '../../core/jose/jwk.ts';
import type { Actor } from '../../core/tokens/claims.ts';
import { issueTxnTokenAsync, TXN_TOKEN_HEADER } from '../../verify/txn-token.ts';
import type { Presented } from '../../verify/verify-presented.ts';
import { type GatewayCall, need } from '../context.ts';

/**
 * Headers never forwarded (either way): the connection-specific fields of RFC 9110 §7.6.1 (and whatever a
 * `Connection` header names, see `forwardable`), `Expect` (the gateway answers the expectation itself),
 * the caller's credentials, the forwarding facts the gateway sets itself, and `Host` and `Content-Length`,
 * which the gateway sets. `warrant-*` identity headers a caller sends are dropped too (IDENTITY_PREFIX).
 */
const STRIPPED = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'expect',
  'host',
  'authorization',
  'dpop',
  'warrant-chain',
  // A caller's own Txn-Token is never passed on: the upstream gets the one the gateway signs.
  'txn-token',
  'content-length',
  'forwarded',
  'x-forwarded-host',
  'x-forwarded-proto',
]);
const IDENTITY_PREFIX = 'warrant-';
/** W3C trace context: the gateway sends its own (its span as the upstream's parent). */
const TRACE_CONTEXT = new Set(['traceparent', 'tracestate']);

/**
 * The headers to pass on (request or answer): all but STRIPPED, the fields a `Connection` header names
 * (RFC 9110 §7.6.1), and, for requests, every `warrant-*` header (identity is set by the gateway only)
 * and the caller's trace context (the gateway sends its own).
 */
export function forwardable(
  headers: Record<string, string | string[] | undefined>,
  request: boolean,
): Record<string, string | string[]> {
  const connection = headers['connection'];
  const nominated =
    connection === undefined
      ? undefined
      : new Set(
          (Array.isArray(connection) ? connection.join(',') : connection)
            .split(',')
            .map((t) => t.trim().toLowerCase()),
        );
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || STRIPPED.has(name) || nominated?.has(name)) continue;
    if (request && (name.startsWith(IDENTITY_PREFIX) || TRACE_CONTEXT.has(name))) continue;
    out[name] = value;
  }
  return out;
}

/** Who the gateway is, to sign the Transaction Token: its key, public URL (`iss`) and id (`req_wl`). */
export interface TxnTokenSigner {
  readonly key: SigningKey;
  readonly issuer: string;
  readonly gateway: string;
  readonly now: number;
}

/**
 * Signs the call's Txn-Token on libuv's thread pool. The record step starts it before it waits for the
 * decision record to be durable, so the signature and the fdatasync overlap instead of adding up.
 */
export function issueCallTxnToken(
  presented: Presented,
  audience: string,
  decisionId: string,
  grants: readonly Grant[],
  signer: TxnTokenSigner,
): Promise<string> {
  const c = presented.leaf.claims;
  return issueTxnTokenAsync(signer.key, {
    issuer: signer.issuer,
    gateway: signer.gateway,
    audience,
    txn: c.txn,
    person: c.sub,
    personIssuer: c.sub_iss,
    actors: presented.chain?.actors ?? actorsOf(c.act),
    grants,
    warrantScope: c.scope,
    warrant: presented.leaf.hash,
    chain: presented.chain?.digest ?? presented.leaf.hash,
    decision: decisionId,
    now: signer.now,
  });
}

/** {@link issueCallTxnToken} for an allowed call, with the gateway's own key, URL and id. */
export function txnTokenFor(call: GatewayCall, decisionId: string): Promise<string> {
  const { gw } = call;
  return issueCallTxnToken(
    need(call.presented, 'presented'),
    need(call.route, 'route').audience,
    decisionId,
    need(call.verdict, 'verdict').grants,
    { key: gw.txnTokenKey, issuer: gw.publicUrl, gateway: gw.id, now: gw.now() },
  );
}

/**
 * The verified identity of an allowed call: the `Txn-Token` (signed by the gateway, verifiable by the
 * upstream: src/verify/txn-token.ts) and, for convenience and logs, the same facts as plain `warrant-*`
 * headers. The plain headers are informational only: anyone who can reach the upstream directly can send
 * them, so an upstream that makes decisions on identity verifies the Txn-Token (docs/verify.md).
 */
export async function setIdentityHeaders(
  headers: Record<string, string | string[]>,
  presented: Presented,
  audience: string,
  decisionId: string,
  grants: readonly Grant[],
  txnToken?: Promise<string>,
): Promise<void> {
  const c = presented.leaf.claims;
  if (txnToken !== undefined) headers[TXN_TOKEN_HEADER] = await txnToken;
  headers['warrant-person'] = c.sub;
  headers['warrant-person-issuer'] = c.sub_iss;
  headers['warrant-actor'] = c.act.sub;
  headers['warrant-txn'] = c.txn;
  headers['warrant-chain-digest'] = presented.chain?.digest ?? presented.leaf.hash;
  headers['warrant-decision'] = decisionId;
  const grant = grantHeader(grants);
  if (grant !== undefined) headers['warrant-grant'] = grant;
  // An agent recipient gets the warrant it received: its subject_token for its own exchange. It is bound
  // to the caller's key (cnf) and addressed to this recipient, so it opens nothing else. Tools never
  // delegate and never see it.
  if (audience.startsWith('spiffe://')) {
    headers['warrant-token'] = presented.token;
    // With the whole chain when the caller presented it: an agent of another organisation continues it at
    // its own STS, which takes a peer's warrant only with its chain (DESIGN §11, docs/guide-federation.md).
    if (presented.chain !== undefined)
      headers['warrant-chain'] = presented.chain.links.map((l) => l.compact).join(', ');
  }
}

/**
 * The `warrant-grant` header: the grant the call was allowed under, as JSON (an array when the calls of a
 * batch used different grants), non-ASCII escaped so it is a valid header value. Absent for session calls.
 */
function grantHeader(grants: readonly Grant[]): string | undefined {
  if (grants.length === 0) return undefined;
  if (grants.length > 1) return asciiJson(grants);
  // A verified warrant (and its frozen grants) is cached and presented again and again: so is this text.
  let text = GRANT_HEADERS.get(grants[0]!);
  if (text === undefined) {
    text = asciiJson(grants[0]);
    GRANT_HEADERS.set(grants[0]!, text);
  }
  return text;
}

const GRANT_HEADERS = new WeakMap<Grant, string>();

/** The actors of an RFC 8693 `act` claim, from the first agent to the current holder. */
function actorsOf(act: Actor): string[] {
  const out: string[] = [];
  for (let a: Actor | undefined = act; a; a = a.act) out.push(a.sub);
  return out.reverse();
}

function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
