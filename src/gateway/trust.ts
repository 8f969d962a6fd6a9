import { inflateSync } from 'node:zlib';
import type { KeyResolver } from '../core/jose/jws.ts';
import { KeySet } from '../core/jose/key-set.ts';
import { verifyToken } from '../core/tokens/index.ts';

/**
 * The STS key set as seen by a gateway in another process: fetched from the issuer's JWKS, refreshed
 * periodically and (rate-limited) when a token names a kid it does not know yet.
 */
export class RemoteKeys {
  readonly #url: string;
  #keys = new KeySet();
  #fetchedAt = 0;
  #inflight: Promise<void> | undefined;

  constructor(issuer: string) {
    this.#url = `${issuer}/jwks`;
  }

  async refresh(): Promise<void> {
    this.#inflight ??= (async () => {
      try {
        const response = await fetch(this.#url, { signal: AbortSignal.timeout(5000) });
        if (!response.ok) throw new Error(`JWKS fetch answered ${response.status}`);
        this.#keys = KeySet.fromJwks(await response.json());
        this.#fetchedAt = Date.now();
      } finally {
        this.#inflight = undefined;
      }
    })();
    return this.#inflight;
  }

  readonly resolve: KeyResolver = (kid) => {
    const key = this.#keys.get(kid);
    if (key === undefined && Date.now() - this.#fetchedAt > 10_000) void this.refresh().catch(() => {});
    return key;
  };
}

export type RevocationState = 'valid' | 'revoked' | 'stale';

interface List {
  bits: Uint8Array;
  fetchedAt: number;
}

/**
 * Revocation as a gateway sees it: the STS's signed status lists (pulled, verified, cached) plus its SSE
 * revocation feed (pushed). While the feed is connected, pushes keep the view current; otherwise it is as
 * fresh as the last successful pull. Past `stalenessMs` without either, every check answers `stale` and
 * the gateway fails closed. Status URIs are only fetched below the trusted issuer (never any URL a token
 * names).
 */
export class RevocationView {
  readonly #issuer: string;
  readonly #keys: () => KeyResolver;
  readonly #stalenessMs: number;
  readonly #lists = new Map<string, List>();
  readonly #revoked = new Set<string>();
  #feedAliveAt = 0;
  #feed: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Revocation events received from the feed (for metrics and tests). */
  pushes = 0;

  constructor(options: { issuer: string; keys: () => KeyResolver; stalenessSeconds: number }) {
    this.#issuer = options.issuer.replace(/\/+$/, '');
    this.#keys = options.keys;
    this.#stalenessMs = options.stalenessSeconds * 1000;
  }

  /** Loads the default status list and connects the feed; resolves once the first pull succeeded. */
  async start(): Promise<void> {
    await this.#pull(`${this.#issuer}/status/1`).catch(() => {});
    this.#connectFeed();
    const every = Math.max(1000, Math.min(this.#stalenessMs / 3, 15_000));
    this.#timer = setInterval(() => {
      for (const uri of this.#lists.keys()) void this.#pull(uri).catch(() => {});
    }, every);
    this.#timer.unref();
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#feed?.abort();
  }

  get feedConnected(): boolean {
    return Date.now() - this.#feedAliveAt < 20_000;
  }

  /** Whether a status list is loaded (a synchronous check so the hot path awaits nothing). */
  has(uri: string): boolean {
    return this.#lists.has(uri);
  }

  /** Loads a status list not seen yet (below the trusted issuer), so the first check need not fail closed. */
  async ensure(uri: string): Promise<void> {
    if (this.#lists.has(uri) || !this.#trusted(uri)) return;
    await this.#pull(uri).catch(() => {});
  }

  /** The state of one warrant from its hash and status reference. */
  check(hash: string, status: { idx: number; uri: string } | undefined): RevocationState {
    if (this.#revoked.has(hash)) return 'revoked';
    if (status === undefined) return 'valid';
    const list = this.#lists.get(status.uri);
    const now = Date.now();
    if (list === undefined) {
      if (this.#trusted(status.uri)) void this.#pull(status.uri).catch(() => {});
      return 'stale';
    }
    const fresh = this.feedConnected || now - list.fetchedAt <= this.#stalenessMs;
    if (!fresh) return 'stale';
    const byte = list.bits[status.idx >> 3];
    if (byte !== undefined && ((byte >> (status.idx & 7)) & 1) === 1) return 'revoked';
    // An index past the end of a fresh list was allocated after the pull: not revoked as of the feed.
    return 'valid';
  }

  #trusted(uri: string): boolean {
    return (
      uri.startsWith(`${this.#issuer}/status/`) &&
      /^[A-Za-z0-9_-]{1,64}$/.test(uri.slice(this.#issuer.length + 8))
    );
  }

  async #pull(uri: string): Promise<void> {
    if (!this.#trusted(uri)) throw new Error('untrusted status list uri');
    const response = await fetch(uri, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`status list answered ${response.status}`);
    const token = verifyToken('statusList', await response.text(), {
      keys: this.#keys(),
      issuer: this.#issuer,
    });
    if (token.claims.sub !== uri) throw new Error('status list is for another uri');
    const bits = new Uint8Array(inflateSync(Buffer.from(token.claims.status_list.lst, 'base64url')));
    const previous = this.#lists.get(uri);
    // Bits only ever get set: merge, so a push that raced this pull is not lost.
    if (previous)
      for (let i = 0; i < Math.min(previous.bits.length, bits.length); i++) bits[i]! |= previous.bits[i]!;
    this.#lists.set(uri, { bits, fetchedAt: Date.now() });
  }

  #connectFeed(): void {
    if (this.#closed) return;
    const controller = new AbortController();
    this.#feed = controller;
    const retry = () => {
      if (!this.#closed) setTimeout(() => this.#connectFeed(), 1000).unref();
    };
    void (async () => {
      try {
        const response = await fetch(`${this.#issuer}/revocations`, {
          signal: controller.signal,
          headers: { accept: 'text/event-stream' },
        });
        if (!response.ok || !response.body) throw new Error('feed unavailable');
        this.#feedAliveAt = Date.now();
        const decoder = new TextDecoder();
        let buffer = '';
        for await (const chunk of response.body) {
          this.#feedAliveAt = Date.now();
          buffer += decoder.decode(chunk as Uint8Array, { stream: true });
          let end = buffer.indexOf('\n\n');
          while (end >= 0) {
            this.#onEvent(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
            end = buffer.indexOf('\n\n');
          }
        }
      } catch {
        // fall through to reconnect
      }
      this.#feedAliveAt = 0;
      retry();
    })();
  }

  #onEvent(block: string): void {
    let event = 'message';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data += line.slice(5).trim();
    }
    if (event !== 'revoked' || data === '') return;
    try {
      const parsed = JSON.parse(data) as {
        tokens: { hash: string; list: string | null; idx: number | null }[];
      };
      for (const t of parsed.tokens) {
        this.#revoked.add(t.hash);
        if (t.list !== null && t.idx !== null) {
          const list = this.#lists.get(`${this.#issuer}/status/${t.list}`);
          if (list && t.idx >> 3 < list.bits.length) list.bits[t.idx >> 3]! |= 1 << (t.idx & 7);
        }
      }
      this.pushes++;
    } catch {
      // A malformed event changes nothing; the next pull brings the truth.
    }
  }
}
