/**
 * A `fetch` that calls through the Warrant gateway (DESIGN §7): every request carries the warrant
 * (`Authorization: DPoP <warrant>`, and `Warrant-Chain` when a chain is presented) and a fresh DPoP proof
 * bound to its method, URI and the warrant (`htm`, `htu`, `ath`, the server's nonce when it asked for one).
 * It is a drop-in `fetch` for the MCP SDK's `StreamableHTTPClientTransport`, the A2A SDK and the `openai`
 * client; responses — streams included — are returned untouched.
 *
 * It answers, once each, what the gateway may ask of a request:
 * - `use_dpop_nonce` (401 with a `DPoP-Nonce`): the request is sent again with that nonce;
 * - a pooled warrant refused as invalid (401 `invalid_token`, e.g. revoked since it was pooled): the pool
 *   forgets it and the request is sent again with a fresh one;
 * - `WARRANT_APPROVAL_REQUIRED` (403 with `approval_id`, or on MCP/A2A routes a JSON-RPC error carrying it):
 *   `onApproval` is told the approval id; then, unless `approvals: 'return'`, the fetch waits for the
 *   person's decision, exchanges the warrant naming the approval (a short-lived warrant carrying `apv`,
 *   bound to exactly that call), and sends the same request once more with it. A denied, expired or
 *   withdrawn approval returns the original refusal.
 * A request body is read once and replayed; the gateway forwards nothing it refused, so a retry cannot
 * duplicate a call.
 */
import { createDpopProof } from '../core/dpop/index.ts';
import type { AgentClient } from './agent-client.ts';
import { exchange, type HopRequest } from './exchange.ts';
import { holdWarrant } from './token-claims.ts';
import type { TokenPool } from './token-pool.ts';
import { type ApprovalOutcome, type WaitOptions, waitForApproval } from './wait-for-approval.ts';

/** An approval the gateway asked for. */
export interface ApprovalRequired {
  readonly approvalId: string;
  readonly approvalUri: string | undefined;
  /** The request that needs it. */
  readonly method: string;
  readonly url: string;
}

interface CommonOptions {
  /** `'wait'` (default): wait for the decision and retry; `'return'`: hand back the refusal at once. */
  readonly approvals?: 'wait' | 'return';
  /** Told of every approval asked for (show the person where to approve; log the id). */
  readonly onApproval?: (approval: ApprovalRequired) => void | Promise<void>;
  /** Told how a waited-for approval ended. */
  readonly onApprovalOutcome?: (approval: ApprovalRequired, outcome: ApprovalOutcome) => void;
  readonly approvalWait?: Omit<WaitOptions, 'signal'>;
  /** The underlying fetch (default: the global one). */
  readonly fetch?: typeof globalThis.fetch;
}

export type WarrantFetchOptions = CommonOptions &
  (
    | {
        /** Warrants from a token pool, for this hop. */
        readonly pool: TokenPool;
        readonly hop: HopRequest;
      }
    | {
        readonly client: AgentClient;
        /** The warrant to present (or a function giving the current one). */
        readonly warrant: string | (() => string | Promise<string>);
        /** Present the whole chain (root first, this warrant last) as `Warrant-Chain`. */
        readonly chain?: readonly string[];
      }
  );

interface Presentation {
  readonly token: string;
  readonly chain?: readonly string[] | undefined;
}

/** The largest refusal body read to look for an approval id. */
const MAX_REFUSAL_BYTES = 64 * 1024;

export function createWarrantFetch(options: WarrantFetchOptions): typeof globalThis.fetch {
  const base = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const client = 'pool' in options ? options.pool.client : options.client;
  const nonces = new Map<string, string>();

  const present = async (): Promise<Presentation> => {
    if ('pool' in options) return { token: (await options.pool.get(options.hop)).token };
    const token = typeof options.warrant === 'function' ? await options.warrant() : options.warrant;
    return { token, chain: options.chain };
  };

  const send = async (request: Request, body: ArrayBuffer | undefined, p: Presentation) => {
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    headers.set('authorization', `DPoP ${p.token}`);
    const nonce = nonces.get(url.origin);
    headers.set(
      'dpop',
      createDpopProof({
        key: client.key,
        htm: request.method,
        htu: request.url,
        accessToken: p.token,
        ...(nonce === undefined ? {} : { nonce }),
      }),
    );
    if (p.chain !== undefined && p.chain.length > 0) headers.set('warrant-chain', p.chain.join(', '));
    else headers.delete('warrant-chain');
    const response = await base(request.url, {
      method: request.method,
      headers,
      redirect: request.redirect,
      signal: request.signal,
      ...(body === undefined ? {} : { body }),
    });
    const fresh = response.headers.get('dpop-nonce');
    if (fresh) nonces.set(url.origin, fresh);
    return response;
  };

  return async (input, init) => {
    const request = new Request(input, init);
    const body = request.body === null ? undefined : await request.arrayBuffer();
    let presented = await present();
    let response = await send(request, body, presented);
    if (challenged(response, 'use_dpop_nonce') && response.headers.get('dpop-nonce')) {
      await response.body?.cancel();
      response = await send(request, body, presented);
    }
    if ('pool' in options && challenged(response, 'invalid_token')) {
      await response.body?.cancel();
      options.pool.dropWarrant(presented.token);
      presented = await present();
      response = await send(request, body, presented);
    }
    const asked = await approvalAsked(response);
    if (asked === undefined) return response;
    const approval: ApprovalRequired = { ...asked, method: request.method, url: request.url };
    await options.onApproval?.(approval);
    if (options.approvals === 'return') return response;
    const outcome = await waitForApproval(client.issuer, approval.approvalId, {
      ...options.approvalWait,
      signal: request.signal,
    });
    options.onApprovalOutcome?.(approval, outcome);
    if (outcome !== 'approved') return response;
    // The approval binds the call made with this very warrant: exchange it, keeping its audience.
    const approved = await exchange(
      client,
      { token: presented.token },
      { audience: holdWarrant(presented.token).claims.aud, approvalId: approval.approvalId },
    );
    await response.body?.cancel();
    const chain = presented.chain?.length ? [...presented.chain.slice(0, -1), approved.token] : undefined;
    return send(request, body, { token: approved.token, chain });
  };
}

/** A 401 whose `WWW-Authenticate` (or JSON body code) names `error`. */
function challenged(response: Response, error: string): boolean {
  if (response.status !== 401) return false;
  return (response.headers.get('www-authenticate') ?? '').includes(`error="${error}"`);
}

/**
 * The approval a refusal asks for: the gateway's 403 body, or on MCP/A2A routes the JSON-RPC error's
 * `data` (whatever the status). Read from a clone, so the response stays whole for the caller.
 */
async function approvalAsked(
  response: Response,
): Promise<{ approvalId: string; approvalUri: string | undefined } | undefined> {
  if (!/^application\/json/i.test(response.headers.get('content-type') ?? '')) return undefined;
  if (response.status !== 403 && response.status !== 200) return undefined;
  // The gateway's refusals are small and sized; anything else is the upstream's answer, not looked into.
  const length = Number(response.headers.get('content-length') ?? Number.NaN);
  if (!(length <= MAX_REFUSAL_BYTES)) return undefined;
  let parsed: unknown;
  try {
    const text = await response.clone().text();
    if (text.length > MAX_REFUSAL_BYTES || !text.includes('WARRANT_APPROVAL_REQUIRED')) return undefined;
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const rpc = (parsed as { error?: { data?: unknown } } | null)?.error?.data;
  const body = (rpc ?? parsed) as { code?: unknown; approval_id?: unknown; approval_uri?: unknown } | null;
  if (body?.code !== 'WARRANT_APPROVAL_REQUIRED' || typeof body.approval_id !== 'string') return undefined;
  return {
    approvalId: body.approval_id,
    approvalUri: typeof body.approval_uri === 'string' ? body.approval_uri : undefined,
  };
}
