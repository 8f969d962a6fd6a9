import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { signCompact, verifyCompact } from '../core/jose/jws.ts';
import { DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS } from '../replay/redis-connection.ts';
import type { RevokedToken } from '../store/ports.ts';
import type { KeysChangedEvent, RevocationEvent, Sts } from './sts.ts';

/** The Redis pub/sub channel every STS replica of a deployment publishes its revocations and key changes on. */
export const REVOCATION_CHANNEL = 'warrant:revocations';

/** Tokens per published message: a revocation of a whole agent or person is split to bound message size. */
const MAX_TOKENS_PER_MESSAGE = 5_000;
const HASH = /^[A-Za-z0-9_-]{43}$/;

export interface RevocationBusOptions {
  /** Default {@link REVOCATION_CHANNEL}. */
  readonly channel?: string;
  /** Called with Redis failures and malformed messages (never with message contents). */
  readonly onError?: (error: unknown) => void;
  /** Longest wait for one command's reply (default 500 ms). */
  readonly commandTimeoutMs?: number;
  /** Longest wait for a connection to Redis (default 1000 ms). */
  readonly connectTimeoutMs?: number;
  /** Another replica rotated the signing key: re-read the keys (src/sts/key-refresh.ts). */
  readonly onKeysChanged?: () => void;
}

/**
 * What goes over the wire, as the payload of a compact JWS (`typ` {@link BUS_TYP}) signed with the sending
 * replica's current STS signing key: the sender's per-process id (so a replica ignores its own messages), a
 * sequence number per sender (strictly increasing: a repeat is a replay, a gap is a lost or suppressed
 * message), the sending time (ms) and the event — token hashes and status-list slots only, never token
 * text; or a signing-key change, after which the receivers re-read the keys from the store.
 */
type BusMessage =
  | {
      v: 2;
      kind: 'revoked';
      from: string;
      seq: number;
      sent: number;
      at: number;
      reason: string;
      revoked: [hash: string, list: string | null, idx: number | null][];
    }
  | { v: 2; kind: 'keys'; from: string; seq: number; sent: number; kid: string; activeFrom: number };

/** The JWS `typ` of a message between replicas. */
export const BUS_TYP = 'warrant-bus+jwt';
/** A message sent longer ago than this (or this far in the future) is refused as a possible replay (ms). */
export const BUS_REPLAY_WINDOW_MS = 30_000;
/** Largest message accepted (bytes of the compact JWS). */
const MAX_MESSAGE_BYTES = 1024 * 1024;

/** Why a message between replicas was ignored (logged by the receiver; code WARRANT_BUS_MESSAGE_REJECTED). */
export class BusMessageRejected extends Error {
  override name = 'BusMessageRejected';
  readonly code = 'WARRANT_BUS_MESSAGE_REJECTED';
}

/**
 * Revocations and signing-key changes between STS replicas (DESIGN §4, issue 14): every replica publishes
 * the revocations it performs on a Redis channel and re-emits those of the other replicas on its own
 * `sts.events`, so the SSE feed of every replica carries every revocation whichever replica performed it;
 * and a replica that rotated the signing key says so, so the others re-read their keys at once
 * (src/sts/key-refresh.ts; they also re-read periodically). The store (shared by the replicas) is the truth:
 * status lists, introspection and the key ring read it; the bus only makes the push feed complete and key
 * changes quick.
 *
 * Every message is signed with the sender's STS signing key and carries its time and a per-sender
 * sequence: a party that can write to Redis but holds no signing key cannot inject a message (unsigned,
 * forged or re-signed messages are refused and reported through `onError` as {@link BusMessageRejected}),
 * cannot replay one (the window and the sequence), and cannot suppress one unnoticed (a sequence gap drops
 * this replica's completeness claim, so gateways re-pull the signed status lists).
 *
 * Pub/sub is at-most-once: a message published while a replica is disconnected is lost to that replica's
 * feed. Gateways therefore also pull the signed status list and fail closed past their staleness bound.
 */
export class RevocationBus {
  /** Random per process: tags this replica's messages so it never re-emits its own events. */
  readonly replicaId = randomBytes(12).toString('base64url');
  readonly channel: string;
  readonly #sts: Sts;
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #onError: (error: unknown) => void;
  readonly #onKeysChanged: () => void;
  /** Events this bus emitted on behalf of other replicas: not published again (no loops). */
  readonly #relayed = new WeakSet<RevocationEvent>();
  readonly #onRevoked = (event: RevocationEvent) => this.#publish(event);
  readonly #onKeys = (event: KeysChangedEvent) =>
    this.#send({ kind: 'keys', kid: event.kid, activeFrom: event.activeFrom });
  /** Per sender: the last sequence number accepted and when (local ms), pruned past the replay window. */
  readonly #seen = new Map<string, { seq: number; at: number }>();
  #seq = 0;
  #lastKeyReload = 0;
  /** Messages refused (for tests and metrics). */
  rejected = 0;
  #closed = false;
  #started = false;
  #completeSince: number | null = null;

  private constructor(sts: Sts, url: string, options: RevocationBusOptions) {
    if (!/^rediss?:\/\//.test(url)) throw new TypeError('Redis URL must start with redis:// or rediss://');
    this.#sts = sts;
    this.channel = options.channel ?? REVOCATION_CHANNEL;
    this.#onError = options.onError ?? (() => {});
    this.#onKeysChanged = options.onKeysChanged ?? (() => {});
    const redisOptions = {
      maxRetriesPerRequest: 2,
      connectionName: `warrant-sts-${this.replicaId}`,
      commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      retryStrategy: (attempt: number) => Math.min(50 * attempt, 1000),
    };
    this.#pub = new Redis(url, redisOptions);
    this.#sub = new Redis(url, redisOptions);
    // A listener keeps ioredis from printing connection errors itself; it reconnects (and resubscribes).
    this.#pub.on('error', (error) => this.#onError(error));
    this.#sub.on('error', (error) => this.#onError(error));
    this.#sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      if (channel.toString('utf8') === this.channel) void this.#receive(message);
    });
    // Messages published while the subscription is down are lost to this replica: its feed stops vouching
    // for completeness until it is subscribed again.
    for (const event of ['close', 'end', 'reconnecting'])
      this.#sub.on(event, () => {
        this.#completeSince = null;
      });
    this.#sub.on('ready', () => {
      if (this.#started && !this.#closed) void this.#resubscribe();
    });
  }

  /**
   * Since when (epoch ms) every other replica's revocation reaches this one: the last time the subscription
   * was confirmed; `null` while it is down.
   */
  get completeSince(): number | null {
    return this.#closed ? null : this.#completeSince;
  }

  async #resubscribe(): Promise<void> {
    try {
      await this.#sub.subscribe(this.channel);
      if (this.#sub.status === 'ready') this.#completeSince = Date.now();
    } catch (error) {
      this.#onError(error);
    }
  }

  /**
   * Connects, subscribes, and starts publishing `sts`'s revocations and key changes. Rejects (with nothing
   * left open) when Redis cannot be reached.
   */
  static async start(sts: Sts, url: string, options: RevocationBusOptions = {}): Promise<RevocationBus> {
    const bus = new RevocationBus(sts, url, options);
    try {
      await bus.#sub.subscribe(bus.channel);
      bus.#completeSince = Date.now();
      bus.#started = true;
    } catch (error) {
      await bus.close();
      throw error;
    }
    sts.events.on('revoked', bus.#onRevoked);
    sts.events.on('keys-changed', bus.#onKeys);
    return bus;
  }

  #publish(event: RevocationEvent): void {
    if (this.#closed || this.#relayed.has(event)) return;
    for (let i = 0; i < event.revoked.length; i += MAX_TOKENS_PER_MESSAGE) {
      this.#send({
        kind: 'revoked',
        at: event.at,
        reason: event.reason,
        revoked: event.revoked
          .slice(i, i + MAX_TOKENS_PER_MESSAGE)
          .map((r) => [r.hash, r.statusList, r.statusIdx]),
      });
    }
  }

  #send(body: DistributiveOmit<BusMessage, 'v' | 'from' | 'seq' | 'sent'>): void {
    if (this.#closed) return;
    const message = { v: 2, ...body, from: this.replicaId, seq: ++this.#seq, sent: Date.now() };
    const signed = signCompact({ typ: BUS_TYP }, message, this.#sts.keys.current);
    this.#pub.publish(this.channel, signed).catch((error: unknown) => this.#onError(error));
  }

  #reject(why: string): void {
    this.rejected++;
    this.#onError(new BusMessageRejected(`message on ${this.channel} ignored: ${why}`));
  }

  /** Verifies with the key ring; an unknown kid re-reads the keys once (at most every second) and retries. */
  async #verify(raw: string): Promise<Record<string, unknown> | undefined> {
    const options = { maxLength: MAX_MESSAGE_BYTES } as const;
    try {
      return verifyCompact(raw, this.#sts.keys.keySet(this.#sts.clock()).resolve, options).claims;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== 'WARRANT_KEY_UNKNOWN' || Date.now() - this.#lastKeyReload < 1000) {
        this.#reject(`not signed by a key of this issuer (${String(code ?? 'malformed')})`);
        return undefined;
      }
    }
    this.#lastKeyReload = Date.now();
    await this.#sts.reloadSigningKeys().catch((error: unknown) => this.#onError(error));
    try {
      return verifyCompact(raw, this.#sts.keys.keySet(this.#sts.clock()).resolve, options).claims;
    } catch (error) {
      this.#reject(`not signed by a key of this issuer (${String((error as { code?: unknown }).code)})`);
      return undefined;
    }
  }

  async #receive(bytes: Buffer): Promise<void> {
    if (this.#closed) return;
    const raw = bytes.toString('utf8');
    if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(raw) || raw.length > MAX_MESSAGE_BYTES)
      return this.#reject('not a signed message');
    const claims = await this.#verify(raw);
    if (claims === undefined || this.#closed) return;
    const message = claims as unknown as BusMessage;
    if (message.from === this.replicaId) return;
    if (message.v !== 2 || typeof message.from !== 'string' || message.from.length > 64)
      return this.#reject('malformed');
    if (!Number.isSafeInteger(message.seq) || message.seq < 1 || !Number.isSafeInteger(message.sent))
      return this.#reject('malformed');
    const now = Date.now();
    if (Math.abs(now - message.sent) > BUS_REPLAY_WINDOW_MS) return this.#reject('outside the replay window');
    // The shape first: a malformed message never advances a sender's sequence.
    let event: RevocationEvent | undefined;
    if (message.kind === 'keys') {
      if (typeof message.kid !== 'string' || !Number.isSafeInteger(message.activeFrom))
        return this.#reject('malformed');
    } else {
      event = message.kind === 'revoked' ? toEvent(message) : undefined;
      if (event === undefined) return this.#reject('malformed');
    }
    for (const [from, seen] of this.#seen)
      if (now - seen.at > 2 * BUS_REPLAY_WINDOW_MS) this.#seen.delete(from);
    const last = this.#seen.get(message.from);
    if (last !== undefined && message.seq <= last.seq)
      return this.#reject('sequence number already seen (replay)');
    if (last !== undefined && message.seq > last.seq + 1) {
      // Messages of this sender were lost or suppressed: the feed vouches again only from now on.
      this.#onError(
        new BusMessageRejected(
          `${message.seq - last.seq - 1} message(s) of a replica missing on ${this.channel}`,
        ),
      );
      if (this.#completeSince !== null) this.#completeSince = now;
    }
    this.#seen.set(message.from, { seq: message.seq, at: now });
    if (event === undefined) return this.#onKeysChanged();
    this.#relayed.add(event);
    this.#sts.events.emit('revoked', event);
  }

  /** Stops publishing and quits both connections. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#sts.events.off('revoked', this.#onRevoked);
    this.#sts.events.off('keys-changed', this.#onKeys);
    await Promise.all(
      [this.#sub, this.#pub].map(async (client) => {
        try {
          await client.quit();
        } catch {
          client.disconnect();
        }
      }),
    );
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function toEvent(m: Extract<BusMessage, { kind: 'revoked' }>): RevocationEvent | undefined {
  if (
    !Number.isSafeInteger(m.at) ||
    typeof m.reason !== 'string' ||
    m.reason.length > 1024 ||
    !Array.isArray(m.revoked) ||
    m.revoked.length === 0 ||
    m.revoked.length > MAX_TOKENS_PER_MESSAGE
  ) {
    return undefined;
  }
  const revoked: RevokedToken[] = [];
  for (const entry of m.revoked as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 3) return undefined;
    const [hash, statusList, statusIdx] = entry as unknown[];
    if (typeof hash !== 'string' || !HASH.test(hash)) return undefined;
    if (statusList !== null && (typeof statusList !== 'string' || statusList.length > 64)) return undefined;
    if (statusIdx !== null && (!Number.isSafeInteger(statusIdx) || (statusIdx as number) < 0))
      return undefined;
    revoked.push({ hash, statusList: statusList as string | null, statusIdx: statusIdx as number | null });
  }
  return { reason: m.reason, at: m.at, revoked };
}
