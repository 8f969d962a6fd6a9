import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS } from '../replay/redis-connection.ts';
import type { RevokedToken } from '../store/ports.ts';
import type { RevocationEvent, Sts } from './sts.ts';

/** The Redis pub/sub channel every STS replica of a deployment publishes its revocations on. */
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
}

/**
 * What goes over the wire: the sender's replica id (so a replica ignores its own messages) and the event,
 * with token hashes and status-list slots only — never token text.
 */
interface BusMessage {
  v: 1;
  from: string;
  at: number;
  reason: string;
  revoked: [hash: string, list: string | null, idx: number | null][];
}

/**
 * Revocations between STS replicas (DESIGN §4): every replica publishes the revocations it performs on a
 * Redis channel and re-emits those of the other replicas on its own `sts.events`, so the SSE feed of every
 * replica carries every revocation whichever replica performed it. The store (shared by the replicas) is
 * the truth: status lists and introspection read it; the bus only makes the push feed complete.
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
  /** Events this bus emitted on behalf of other replicas: not published again (no loops). */
  readonly #relayed = new WeakSet<RevocationEvent>();
  readonly #onRevoked = (event: RevocationEvent) => this.#publish(event);
  #closed = false;
  #started = false;
  #completeSince: number | null = null;

  private constructor(sts: Sts, url: string, options: RevocationBusOptions) {
    if (!/^rediss?:\/\//.test(url)) throw new TypeError('Redis URL must start with redis:// or rediss://');
    this.#sts = sts;
    this.channel = options.channel ?? REVOCATION_CHANNEL;
    this.#onError = options.onError ?? (() => {});
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
      if (channel.toString('utf8') === this.channel) this.#receive(message);
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
   * Connects, subscribes, and starts publishing `sts`'s revocations. Rejects (with nothing left open) when
   * Redis cannot be reached.
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
    return bus;
  }

  #publish(event: RevocationEvent): void {
    if (this.#closed || this.#relayed.has(event)) return;
    for (let i = 0; i < event.revoked.length; i += MAX_TOKENS_PER_MESSAGE) {
      const message: BusMessage = {
        v: 1,
        from: this.replicaId,
        at: event.at,
        reason: event.reason,
        revoked: event.revoked
          .slice(i, i + MAX_TOKENS_PER_MESSAGE)
          .map((r) => [r.hash, r.statusList, r.statusIdx]),
      };
      this.#pub
        .publish(this.channel, JSON.stringify(message))
        .catch((error: unknown) => this.#onError(error));
    }
  }

  #receive(raw: Buffer): void {
    if (this.#closed) return;
    let message: BusMessage;
    try {
      message = JSON.parse(raw.toString('utf8')) as BusMessage;
    } catch {
      this.#onError(new Error(`malformed message on ${this.channel}`));
      return;
    }
    if (typeof message !== 'object' || message === null || message.from === this.replicaId) return;
    const event = toEvent(message);
    if (event === undefined) {
      this.#onError(new Error(`malformed message on ${this.channel}`));
      return;
    }
    this.#relayed.add(event);
    this.#sts.events.emit('revoked', event);
  }

  /** Stops publishing and quits both connections. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#sts.events.off('revoked', this.#onRevoked);
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

function toEvent(m: BusMessage): RevocationEvent | undefined {
  if (
    m.v !== 1 ||
    typeof m.from !== 'string' ||
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
