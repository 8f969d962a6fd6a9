import type { KeyResolver } from '../core/jose/jws.ts';
import { decodeStatusList, statusBit, verifyToken } from '../core/tokens/index.ts';
import type { RevocationState, RevocationStatus } from './revocation-status.ts';

export type { RevocationState, RevocationStatus } from './revocation-status.ts';

/** Heartbeat interval bounds the STS honours (ms); see src/sts/revocation-feed.ts. */
const MIN_HEARTBEAT_MS = 250;
const MAX_HEARTBEAT_MS = 15_000;
/** Pause before the feed reconnects after it dropped. */
const RECONNECT_MS = 1000;

/**
 * The feed heartbeat interval a gateway asks for: a quarter of its staleness bound, within what the STS
 * honours (250 ms – 15 s). Every valid bound (≥ 1 s) gets at least four heartbeats per bound.
 */
export function heartbeatIntervalFor(stalenessSeconds: number): number {
  return Math.min(MAX_HEARTBEAT_MS, Math.max(MIN_HEARTBEAT_MS, Math.floor((stalenessSeconds * 1000) / 4)));
}

interface List {
  bits: Uint8Array;
  /** The list's `iat` (epoch ms on the STS clock): its bits are current as of then. */
  issuedAt: number;
  /** Local epoch ms up to which this list (with the pushes merged into it) is known complete. */
  asOf: number;
}

/**
 * Revocation as a recipient (the gateway, a receiver) sees it: the STS's signed status lists (pulled, verified, cached) plus its SSE
 * revocation feed (pushed).
 *
 * Freshness comes only from what was received, never from a connection merely being open: a status list is
 * current as of its `iat`; a feed heartbeat says "as of `at`, this connection has carried every revocation
 * since `since`", so it extends every list signed at or after `since`. STS times are read on the local
 * clock through the smallest `received − at` seen on the connection (clock offset plus the fastest
 * delivery), so a heartbeat delivered late counts from when it was sent. Past `stalenessMs` after that
 * moment, every check answers `stale` and the gateway fails closed — also when the STS link is silently
 * black-holed. The gateway asks for a heartbeat every quarter bound; a feed that carries nothing for four
 * intervals is dropped and reconnected. Status URIs are only fetched below the trusted issuer (never any
 * URL a token names).
 */
export class RevocationView implements RevocationStatus {
  readonly #issuer: string;
  readonly #keys: () => KeyResolver;
  readonly #stalenessMs: number;
  readonly #heartbeatMs: number;
  readonly #lists = new Map<string, List>();
  /**
   * Hashes pushed by the feed → local epoch ms after which the token is expired whatever it was (its push
   * time plus the longest lifetime the STS issues): pruned then, so the set is bounded by the revocation
   * rate times that lifetime. In push order, so the oldest expire first.
   */
  readonly #revoked = new Map<string, number>();
  readonly #pushedTtlMs: number;
  readonly #now: () => number;
  #feed: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  // The current feed connection: what it vouches for, and since when (STS ms); null while it vouches for nothing.
  #feedSince: number | null = null;
  /** Local epoch ms as of which the current connection's last heartbeat vouches. */
  #feedAsOf = 0;
  /** Smallest `received − at` on the current connection (ms); undefined before its first heartbeat. */
  #offset: number | undefined;
  /** Local epoch ms of the last heartbeat received, and the interval the STS said it uses. */
  #heartbeatAt = 0;
  #interval: number;
  /** Revocation events received from the feed (for metrics and tests). */
  pushes = 0;
  /** Heartbeats received from the feed (for tests). */
  heartbeats = 0;

  constructor(options: {
    issuer: string;
    keys: () => KeyResolver;
    stalenessSeconds: number;
    /**
     * How long a pushed revocation is kept (s): at least the longest lifetime of a token the STS issues
     * (the gateway: the longest of `sts.*Lifetime` plus a minute of clock skew); default one day.
     */
    pushedTtlSeconds?: number;
    /** The clock pruning reads (epoch ms; tests). */
    now?: () => number;
  }) {
    this.#issuer = options.issuer.replace(/\/+$/, '');
    this.#pushedTtlMs = (options.pushedTtlSeconds ?? 86_400) * 1000;
    if (!(this.#pushedTtlMs > 0)) throw new TypeError('pushedTtlSeconds must be positive');
    this.#now = options.now ?? Date.now;
    this.#keys = options.keys;
    if (!Number.isFinite(options.stalenessSeconds) || options.stalenessSeconds <= 0)
      throw new TypeError('stalenessSeconds must be a positive number');
    this.#stalenessMs = options.stalenessSeconds * 1000;
    this.#heartbeatMs = heartbeatIntervalFor(options.stalenessSeconds);
    this.#interval = this.#heartbeatMs;
  }

  /** Loads the default status list and connects the feed; resolves once the first pull succeeded. */
  async start(): Promise<void> {
    await this.#pull(`${this.#issuer}/status/1`).catch(() => {});
    this.#connectFeed();
    const every = Math.max(1000, Math.min(this.#stalenessMs / 3, 15_000));
    this.#timer = setInterval(() => this.#pullAll(), every);
    this.#timer.unref();
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#feed?.abort();
  }

  /** The heartbeat interval asked of the STS (ms). */
  get heartbeatMs(): number {
    return this.#heartbeatMs;
  }

  /** Whether the feed delivers heartbeats that vouch for it (within three intervals, at least 2 s). */
  get feedConnected(): boolean {
    return this.#feedSince !== null && Date.now() - this.#heartbeatAt <= Math.max(3 * this.#interval, 2000);
  }

  /**
   * Local epoch ms up to which the revocation data for `uri` (default: the issuer's first list) is known
   * complete; 0 when the list was never loaded.
   */
  asOf(uri = `${this.#issuer}/status/1`): number {
    return this.#lists.get(uri)?.asOf ?? 0;
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

  /** How many pushed revocations are held (bounded: see `pushedTtlSeconds`). */
  get pushedSize(): number {
    return this.#revoked.size;
  }

  /** Drops the pushed revocations whose tokens have expired by now (oldest first). */
  prune(): void {
    const now = this.#now();
    for (const [hash, until] of this.#revoked) {
      if (until > now) break;
      this.#revoked.delete(hash);
    }
  }

  /** The state of one warrant from its hash and status reference. */
  check(hash: string, status: { readonly idx: number; readonly uri: string } | undefined): RevocationState {
    if (this.#revoked.has(hash)) return 'revoked';
    if (status === undefined) return 'valid';
    const list = this.#lists.get(status.uri);
    if (list === undefined) {
      if (this.#trusted(status.uri)) void this.#pull(status.uri).catch(() => {});
      return 'stale';
    }
    if (Date.now() - list.asOf > this.#stalenessMs) return 'stale';
    if (statusBit(list.bits, status.idx) === 1) return 'revoked';
    // An index past the end of a fresh list was allocated after the pull: not revoked as of the feed.
    return 'valid';
  }

  #trusted(uri: string): boolean {
    return (
      uri.startsWith(`${this.#issuer}/status/`) &&
      /^[A-Za-z0-9_-]{1,64}$/.test(uri.slice(this.#issuer.length + 8))
    );
  }

  #pullAll(): void {
    this.prune();
    for (const uri of this.#lists.keys()) void this.#pull(uri).catch(() => {});
  }

  async #pull(uri: string): Promise<void> {
    if (!this.#trusted(uri)) throw new Error('untrusted status list uri');
    const response = await fetch(uri, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`status list answered ${response.status}`);
    const token = verifyToken('statusList', await response.text(), {
      keys: this.#keys(),
      issuer: this.#issuer,
    });
    const received = Date.now();
    if (token.claims.sub !== uri) throw new Error('status list is for another uri');
    const bits = await decodeStatusList(token.claims.status_list);
    const issuedAt = token.claims.iat * 1000;
    // Current as of its iat (on the local clock), never later than it arrived; and as of the feed's last
    // heartbeat when the feed has carried every revocation since before the list was signed.
    let asOf = Math.min(received, issuedAt + (this.#offset ?? 0));
    if (this.#feedSince !== null && issuedAt >= this.#feedSince) asOf = Math.max(asOf, this.#feedAsOf);
    const previous = this.#lists.get(uri);
    if (previous) {
      // Bits only ever get set: merge, so a push that raced this pull is not lost; the union is complete as
      // of the later of the two.
      for (let i = 0; i < Math.min(previous.bits.length, bits.length); i++) bits[i]! |= previous.bits[i]!;
      asOf = Math.max(asOf, previous.asOf);
    }
    this.#lists.set(uri, { bits, issuedAt: Math.max(issuedAt, previous?.issuedAt ?? 0), asOf });
  }

  #connectFeed(): void {
    if (this.#closed) return;
    const controller = new AbortController();
    this.#feed = controller;
    let heardAt = Date.now();
    // A connection that carries nothing for four heartbeat intervals (a silent partition) is dropped.
    const watchdog = setInterval(
      () => {
        if (Date.now() - heardAt > Math.max(4 * this.#interval, 2000)) controller.abort();
      },
      Math.max(250, this.#interval),
    );
    watchdog.unref();
    void (async () => {
      try {
        const response = await fetch(`${this.#issuer}/revocations?heartbeat_ms=${this.#heartbeatMs}`, {
          signal: controller.signal,
          headers: { accept: 'text/event-stream' },
        });
        if (!response.ok || !response.body) throw new Error('feed unavailable');
        const decoder = new TextDecoder();
        let buffer = '';
        for await (const chunk of response.body) {
          heardAt = Date.now();
          buffer += decoder.decode(chunk as Uint8Array, { stream: true });
          let end = buffer.indexOf('\n\n');
          while (end >= 0) {
            this.#onEvent(buffer.slice(0, end), heardAt);
            buffer = buffer.slice(end + 2);
            end = buffer.indexOf('\n\n');
          }
        }
      } catch {
        // fall through to reconnect
      }
      clearInterval(watchdog);
      controller.abort();
      // What was received stays true (the lists keep their asOf); the next connection vouches anew.
      this.#feedSince = null;
      this.#feedAsOf = 0;
      this.#offset = undefined;
      if (!this.#closed) setTimeout(() => this.#connectFeed(), RECONNECT_MS).unref();
    })();
  }

  #onEvent(block: string, received: number): void {
    let event = 'message';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data += line.slice(5).trim();
    }
    if (data === '') return;
    if (event === 'heartbeat') {
      this.#onHeartbeat(data, received);
      return;
    }
    if (event !== 'revoked') return;
    try {
      const parsed = JSON.parse(data) as {
        tokens: { hash: string; list: string | null; idx: number | null }[];
      };
      const until = this.#now() + this.#pushedTtlMs;
      for (const t of parsed.tokens) {
        // Re-inserted at the end: the map stays in expiry order.
        this.#revoked.delete(t.hash);
        this.#revoked.set(t.hash, until);
        if (t.list !== null && t.idx !== null) {
          const list = this.#lists.get(`${this.#issuer}/status/${t.list}`);
          if (list && t.idx >> 3 < list.bits.length) list.bits[t.idx >> 3]! |= 1 << (t.idx & 7);
        }
      }
      this.pushes++;
      this.prune();
    } catch {
      // A malformed event changes nothing; the next pull brings the truth.
    }
  }

  #onHeartbeat(data: string, received: number): void {
    let beat: { at?: unknown; since?: unknown; interval?: unknown };
    try {
      beat = JSON.parse(data) as typeof beat;
    } catch {
      return;
    }
    const { at, since, interval } = beat;
    if (typeof at !== 'number' || !Number.isFinite(at)) return;
    if (typeof interval === 'number' && interval >= MIN_HEARTBEAT_MS && interval <= MAX_HEARTBEAT_MS)
      this.#interval = interval;
    this.heartbeats++;
    this.#heartbeatAt = received;
    this.#offset = Math.min(this.#offset ?? Number.POSITIVE_INFINITY, received - at);
    if (typeof since !== 'number' || !Number.isFinite(since)) {
      // The STS cannot vouch (its relay from the other replicas is down): nothing is extended.
      this.#feedSince = null;
      this.#feedAsOf = 0;
      return;
    }
    if (since !== this.#feedSince) {
      // A new span of completeness: the lists pulled before it are not covered. Pull once the STS's
      // one-second `iat` is past `since`, so the lists join it.
      this.#feedSince = since;
      this.#feedAsOf = 0;
      setTimeout(() => this.#pullAll(), 1100).unref();
    }
    const asOf = at + this.#offset;
    this.#feedAsOf = Math.max(this.#feedAsOf, asOf);
    for (const list of this.#lists.values()) if (list.issuedAt >= since && list.asOf < asOf) list.asOf = asOf;
  }
}
