/**
 * The agent's identity token (`wi+jwt`, DESIGN §3): obtained with `client_credentials` +
 * `private_key_jwt` and DPoP (the token is bound to the agent's key), kept, and renewed before it expires —
 * one request at a time however many callers ask at once.
 */
import type { AgentClient } from './agent-client.ts';

export interface IdentityToken {
  readonly token: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

export interface IdentityOptions {
  /** Renew this many seconds before expiry (default 60, at most half the token's lifetime). */
  readonly renewBeforeSeconds?: number;
  /** The clock, epoch seconds (tests). */
  readonly now?: () => number;
}

export class AgentIdentity {
  readonly #client: AgentClient;
  readonly #renewBefore: number;
  readonly #now: () => number;
  #current: (IdentityToken & { renewAt: number }) | undefined;
  #inflight: Promise<IdentityToken> | undefined;

  constructor(client: AgentClient, options: IdentityOptions = {}) {
    this.#client = client;
    this.#renewBefore = options.renewBeforeSeconds ?? 60;
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /** The current identity token, renewed when it is within the renewal window of its expiry. */
  async token(): Promise<IdentityToken> {
    const current = this.#current;
    if (current !== undefined && this.#now() < current.renewAt) return current;
    this.#inflight ??= this.#renew().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #renew(): Promise<IdentityToken> {
    const issuedAt = this.#now();
    const answer = await this.#client.identity();
    const expiresAt = issuedAt + answer.expires_in;
    const before = Math.min(this.#renewBefore, Math.floor(answer.expires_in / 2));
    this.#current = { token: answer.access_token, expiresAt, renewAt: expiresAt - before };
    return { token: answer.access_token, expiresAt };
  }
}
