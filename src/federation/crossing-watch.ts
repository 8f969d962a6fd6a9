/**
 * Revocation follows the chain across the boundary (DESIGN §11): for every peer chain this STS accepted, it
 * keeps the peer links' status references and checks them against the peer's status lists and feed (the
 * peer's `RevocationView`) every `intervalMs`. When any link is revoked at the peer — the root or any hop —
 * or the peer's status cannot be confirmed within the federation staleness bound (the peer is unreachable),
 * it revokes every warrant it issued under the peer's last link, with their descendants (the ordinary
 * cascade), so this deployment's status lists and feed carry it to every verifier, also those that see
 * only a leaf. A watch ends when the peer's last link expires (everything issued under it expired with it).
 *
 * The watches are kept in memory: after a restart, warrants issued under peer chains before it are no
 * longer watched by the STS (the gateway still checks the peer links of every chain presented whole).
 */
import type { VerifiedChain } from '../core/chain/index.ts';
import type { RevokedToken, TokenStore } from '../store/ports.ts';
import type { Peers } from './peers.ts';

interface Watched {
  readonly peer: string;
  readonly leafHash: string;
  readonly exp: number;
  readonly links: readonly { readonly hash: string; readonly status: { idx: number; uri: string } }[];
}

export interface CrossingWatchOptions {
  readonly peers: Peers;
  readonly tokens: Pick<TokenStore, 'children'>;
  /** Revokes a warrant of this STS and its descendants (the STS's `revoke`, which tells the feed). */
  readonly revoke: (hash: string, reason: string) => Promise<readonly RevokedToken[]>;
  readonly intervalMs: number;
  /** Epoch seconds. */
  readonly clock: () => number;
  readonly onError?: (error: unknown) => void;
}

export class CrossingWatch {
  readonly #options: CrossingWatchOptions;
  readonly #watched = new Map<string, Watched>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  /** Warrants of this STS revoked because of their peer chain (for metrics and tests). */
  revoked = 0;

  constructor(options: CrossingWatchOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#watched.size;
  }

  watch(chain: VerifiedChain): void {
    const leaf = chain.leaf;
    if (this.#watched.has(leaf.hash)) return;
    this.#watched.set(leaf.hash, {
      peer: leaf.claims.iss,
      leafHash: leaf.hash,
      exp: chain.exp,
      links: chain.links.map((l) => ({ hash: l.hash, status: l.claims.status })),
    });
  }

  start(): void {
    this.#timer = setInterval(() => void this.check(), this.#options.intervalMs);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }

  /** One pass over the watched chains (also what the timer runs); concurrent calls share one pass. */
  check(): Promise<void> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #pass(): Promise<void> {
    const now = this.#options.clock();
    for (const [key, w] of this.#watched) {
      if (w.exp <= now) {
        this.#watched.delete(key);
        continue;
      }
      const reason = this.#verdict(w);
      if (reason === undefined) continue;
      try {
        for (const child of await this.#options.tokens.children(w.leafHash)) {
          this.revoked += (await this.#options.revoke(child.hash, reason)).length;
        }
        this.#watched.delete(key);
      } catch (error) {
        this.#options.onError?.(error);
      }
    }
  }

  /** Why the warrants under `w` must die now, or `undefined` while the peer vouches for every link. */
  #verdict(w: Watched): string | undefined {
    const peer = this.#options.peers.get(w.peer);
    if (peer === undefined) return `peer ${w.peer} is no longer trusted`;
    for (const link of w.links) {
      const state = peer.revocation.check(link.hash, link.status);
      if (state === 'revoked') return `revoked at peer ${w.peer} (link ${link.hash})`;
      if (state === 'stale') return `peer ${w.peer} revocation status unavailable past the staleness bound`;
    }
    return undefined;
  }
}
