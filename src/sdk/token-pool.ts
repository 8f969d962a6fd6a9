/**
 * The token pool (DESIGN §1 SDK): warrants pre-exchanged for the audiences and grants an agent uses often,
 * refreshed before they expire, and never handed out expired or revoked.
 *
 * - One exchange per key at a time (single flight): a hundred concurrent `get`s of a cold key cost one
 *   exchange; a warm key costs a map lookup and a status check.
 * - Refresh at about three quarters of the lifetime, less a random jitter of up to a tenth, so many agents
 *   started together do not refresh together; a warrant in its refresh window is still handed out while the
 *   refresh runs (it is valid), a warrant past `exp − minRemainingSeconds` never is. A re-exchange that
 *   cannot outlive the current warrant (the parent's `exp` caps it) is not repeated until expiry.
 * - Revocation: every hand-out asks the revocation status (`RevocationStatus`: the STS's signed status lists,
 *   pulled and cached, plus its SSE push feed — the gateway's own view, see `openRevocationStatus`): a
 *   synchronous bit lookup, no request per call, and a revoked warrant is seen within the feed's delay. A
 *   revoked warrant is dropped and exchanged again (which fails if what it came from is revoked too); when
 *   the status data is stale and cannot be refreshed, `get` fails closed (`WARRANT_STATUS_STALE`), as the
 *   gateway would. Introspection per call would also be correct but costs a round trip per call.
 * - `use_dpop_nonce` at the STS is answered by the client (one retry with the fresh nonce).
 * - Keys not asked for within `idleSeconds` are dropped rather than refreshed.
 */
import type { ErrorCode } from '../core/errors.ts';
import type { Grant } from '../core/grants/index.ts';
import type { RevocationStatus } from '../verify/revocation-view.ts';
import type { AgentClient } from './agent-client.ts';
import { exchange, type HopRequest, type Subject } from './exchange.ts';
import type { HeldWarrant } from './token-claims.ts';

/** What the pool needs to exchange: the warrant addressed to this agent (or a person's assertion). */
export type SubjectSource = Subject | (() => Subject | Promise<Subject>);

export interface TokenPoolOptions {
  readonly client: AgentClient;
  /** The token each exchange starts from, asked for again at every exchange (so it can be renewed too). */
  readonly subject: SubjectSource;
  /** Revocation data; without it the pool checks expiry only (say so in your threat model). */
  readonly revocation?: RevocationStatus;
  /** A warrant is never handed out with less than this left (default 10 s: it must survive the call). */
  readonly minRemainingSeconds?: number;
  /** Drop keys not asked for in this long instead of refreshing them (default 900 s). */
  readonly idleSeconds?: number;
  /** Refresh in the background before expiry (default true; tests turn it off to drive refreshes). */
  readonly backgroundRefresh?: boolean;
  /** The clock in epoch seconds (tests). */
  readonly now?: () => number;
  /** Jitter source in [0, 1) (tests). */
  readonly random?: () => number;
}

/** A pool refusal with a stable code. */
export class TokenPoolError extends Error {
  override name = 'TokenPoolError';
  readonly code: Extract<ErrorCode, 'WARRANT_STATUS_STALE' | 'WARRANT_TOKEN_EXPIRED'>;
  constructor(code: TokenPoolError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

interface Entry {
  warrant: HeldWarrant;
  refreshAt: number;
  usedAt: number;
  timer?: NodeJS.Timeout;
}

/** The pool key of a request: audience, grants, scope and task (grants canonical by JSON). */
export function poolKey(request: HopRequest): string {
  return JSON.stringify([
    request.audience,
    request.grants ?? null,
    request.scope ?? null,
    request.task ?? null,
    request.delegateTo ?? null,
  ]);
}

export class TokenPool {
  readonly #options: TokenPoolOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<HeldWarrant>>();
  readonly #requests = new Map<string, HopRequest>();
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #minRemaining: number;
  #closed = false;
  /** Exchanges made (for metrics and tests). */
  exchanges = 0;

  constructor(options: TokenPoolOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.#random = options.random ?? Math.random;
    this.#minRemaining = options.minRemainingSeconds ?? 10;
  }

  get client(): AgentClient {
    return this.#options.client;
  }

  /** Pre-exchanges warrants for these requests (the audiences and grants the agent uses often). */
  async warm(requests: readonly HopRequest[]): Promise<void> {
    await Promise.all(requests.map((r) => this.get(r)));
  }

  /** A valid, unrevoked warrant for `request`: pooled, or exchanged now (once, however many ask). */
  async get(request: HopRequest): Promise<HeldWarrant> {
    if (this.#closed) throw new Error('the token pool is closed');
    const key = poolKey(request);
    this.#requests.set(key, request);
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      entry.usedAt = this.#now();
      if (await this.#usable(key, entry)) {
        if (this.#now() >= entry.refreshAt) void this.#refresh(key).catch(() => {});
        return entry.warrant;
      }
    }
    const fresh = await this.#refresh(key);
    if (!(await this.#usable(key, this.#entries.get(key)))) {
      throw new TokenPoolError('WARRANT_TOKEN_EXPIRED', 'the STS issued a warrant that is already too short');
    }
    return fresh;
  }

  /** Forgets the pooled warrant for `request` (e.g. the gateway refused it as revoked). */
  drop(request: HopRequest | string): void {
    const key = typeof request === 'string' ? request : poolKey(request);
    const entry = this.#entries.get(key);
    if (entry?.timer) clearTimeout(entry.timer);
    this.#entries.delete(key);
  }

  /** Forgets the entry holding this warrant (by token or hash), wherever it is pooled. */
  dropWarrant(tokenOrHash: string): void {
    for (const [key, entry] of this.#entries)
      if (entry.warrant.token === tokenOrHash || entry.warrant.hash === tokenOrHash) this.drop(key);
  }

  close(): void {
    this.#closed = true;
    for (const key of [...this.#entries.keys()]) this.drop(key);
  }

  /** Not expiring within the margin and not revoked; drops the entry when it is neither. */
  async #usable(key: string, entry: Entry | undefined): Promise<boolean> {
    if (entry === undefined) return false;
    const { warrant } = entry;
    if (warrant.claims.exp - this.#minRemaining <= this.#now()) {
      this.drop(key);
      return false;
    }
    const revocation = this.#options.revocation;
    if (revocation === undefined) return true;
    const status = warrant.claims.status;
    let state = revocation.check(warrant.hash, status);
    if (state === 'stale' && status !== undefined) {
      await revocation.ensure(status.uri);
      state = revocation.check(warrant.hash, status);
    }
    if (state === 'valid') return true;
    this.drop(key);
    if (state === 'stale')
      throw new TokenPoolError(
        'WARRANT_STATUS_STALE',
        'the revocation status of the pooled warrant cannot be confirmed (status data is stale)',
      );
    return false;
  }

  /** One exchange per key at a time; every caller of that key awaits the same one. */
  #refresh(key: string): Promise<HeldWarrant> {
    let running = this.#inflight.get(key);
    if (running === undefined) {
      running = this.#exchange(key).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, running);
    }
    return running;
  }

  async #exchange(key: string): Promise<HeldWarrant> {
    const request = this.#requests.get(key)!;
    const source = this.#options.subject;
    const subject = typeof source === 'function' ? await source() : source;
    this.exchanges += 1;
    const warrant = await exchange(this.#options.client, subject, request);
    const previous = this.#entries.get(key);
    if (previous?.timer) clearTimeout(previous.timer);
    const entry: Entry = {
      warrant,
      refreshAt: this.#refreshAt(warrant, previous?.warrant),
      usedAt: previous?.usedAt ?? this.#now(),
    };
    if (!this.#closed) {
      this.#entries.set(key, entry);
      this.#schedule(key, entry);
    }
    return warrant;
  }

  /** ~75 % of the lifetime less up to 10 % jitter; never again before expiry when it could not be extended. */
  #refreshAt(warrant: HeldWarrant, previous: HeldWarrant | undefined): number {
    const { iat, exp } = warrant.claims;
    const extendable = previous === undefined || exp > previous.claims.exp;
    if (!extendable) return exp - this.#minRemaining;
    const lifetime = Math.max(1, exp - iat);
    return Math.floor(iat + lifetime * (0.75 - 0.1 * this.#random()));
  }

  #schedule(key: string, entry: Entry): void {
    if (this.#options.backgroundRefresh === false) return;
    const delay = Math.max(0, (entry.refreshAt - this.#now()) * 1000);
    entry.timer = setTimeout(() => {
      const idle = this.#options.idleSeconds ?? 900;
      if (this.#now() - entry.usedAt > idle) return this.drop(key);
      void this.#refresh(key).catch(() => {});
    }, delay);
    entry.timer.unref();
  }
}

export type { Grant };
