/**
 * `createAgent()`: the agent side in one object — its key, its identity token (renewed), `exchange()`, a
 * token pool over the warrant it was handed, and a `fetch` for each hop it calls through the gateway.
 */
import type { SigningKey } from '../core/jose/jwk.ts';
import { AgentClient } from './agent-client.ts';
import { exchange, type HopRequest, type Subject } from './exchange.ts';
import { AgentIdentity, type IdentityOptions } from './identity.ts';
import { type KeySource, loadAgentKey } from './keys.ts';
import { type AgentRevocation, openRevocationStatus } from './revocation.ts';
import type { HeldWarrant } from './token-claims.ts';
import { type SubjectSource, TokenPool, type TokenPoolOptions } from './token-pool.ts';
import { createWarrantFetch, type WarrantFetchOptions } from './warrant-fetch.ts';

export interface AgentOptions {
  /** The STS issuer URL. */
  readonly issuer: string;
  /** The agent's SPIFFE ID (`spiffe://<trust-domain>/agent/<name>`). */
  readonly agentId: string;
  /** The private key, or where to load it from (default: the `WARRANT_AGENT_KEY` environment variable). */
  readonly key?: SigningKey | KeySource;
  /** The warrant addressed to this agent (or a person's assertion), which the pool exchanges from. */
  readonly subject?: SubjectSource;
  /**
   * Check pooled warrants against the STS's status lists and revocation feed (default true; `false` checks
   * expiry only).
   */
  readonly revocation?: boolean | { readonly stalenessSeconds?: number };
  readonly identity?: IdentityOptions;
  readonly pool?: Omit<TokenPoolOptions, 'client' | 'subject' | 'revocation'>;
}

type FetchOptions = Omit<Extract<WarrantFetchOptions, { pool: TokenPool }>, 'pool' | 'hop'>;

export class WarrantAgent {
  readonly client: AgentClient;
  readonly identity: AgentIdentity;
  readonly #revocation: AgentRevocation | undefined;
  readonly #pool: TokenPool | undefined;

  constructor(
    client: AgentClient,
    identity: AgentIdentity,
    pool: TokenPool | undefined,
    revocation: AgentRevocation | undefined,
  ) {
    this.client = client;
    this.identity = identity;
    this.#pool = pool;
    this.#revocation = revocation;
  }

  /** The token pool over `subject` (an error when the agent was created without one). */
  get pool(): TokenPool {
    if (this.#pool === undefined) throw new Error('createAgent({subject}) is needed for a token pool');
    return this.#pool;
  }

  /** One exchange, outside the pool: the next hop from `subject`. */
  exchange(subject: Subject, hop: HopRequest): Promise<HeldWarrant> {
    return exchange(this.client, subject, hop);
  }

  /** A `fetch` presenting pooled warrants for `hop` (one audience, typically one gateway route). */
  fetch(hop: HopRequest, options: FetchOptions = {}): typeof globalThis.fetch {
    return createWarrantFetch({ ...options, pool: this.pool, hop });
  }

  close(): void {
    this.#pool?.close();
    this.#revocation?.close();
  }
}

export async function createAgent(options: AgentOptions): Promise<WarrantAgent> {
  const key = isSigningKey(options.key) ? options.key : loadAgentKey(options.key ?? {});
  const client = new AgentClient({ issuer: options.issuer, agentId: options.agentId, key });
  const wanted = options.revocation ?? true;
  const revocation =
    wanted === false || options.subject === undefined
      ? undefined
      : await openRevocationStatus(client.issuer, wanted === true ? {} : wanted);
  const pool =
    options.subject === undefined
      ? undefined
      : new TokenPool({
          ...options.pool,
          client,
          subject: options.subject,
          ...(revocation ? { revocation: revocation.status } : {}),
        });
  return new WarrantAgent(client, new AgentIdentity(client, options.identity), pool, revocation);
}

function isSigningKey(key: SigningKey | KeySource | undefined): key is SigningKey {
  return key !== undefined && 'privateKey' in key;
}
