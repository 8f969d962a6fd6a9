/**
 * Progressive trust as one process runs it (DESIGN §6): the gateway needs an agent's level synchronously
 * on every request, so each process keeps every level in memory — loaded from the guard store at start,
 * kept current by its own changes and by the change history (`runtime.watch('trust', …)`) for changes
 * made by other processes (an operator's pin through the control plane, another replica's promotion).
 *
 * What decides a level (src/guard/trust/trust-store.ts) is counted after each answer by the gateway's
 * `countTrust` observer into a buffer per agent, written to the store every `flushMs` (or at once when a
 * demotion threshold is reached), never on the request path. A promotion or demotion is durable and in
 * the change history before this process's cache shows it.
 *
 * Other parts call `demote(agent, reason)` (a breaker trip) and read `level(agent)`; listeners of
 * `onChange` (the autonomy statement) hear of every change this process learns of.
 */
import type { TrustConfig } from '../../config/types.ts';
import type { GuardChange } from '../store/changes.ts';
import type { GuardStore } from '../store/open-guard-store.ts';
import { type TrustChange, type TrustStanding, TrustStore, type TrustTally } from './trust-store.ts';

/** What listeners hear: an agent's level as it now is (`created`: first seen by the guard, no change). */
export interface TrustLevelEvent {
  readonly agent: string;
  readonly level: number;
  readonly pinned: boolean;
  readonly created?: true;
}

/** What an operator sees of an agent (admin API, `warrant agent show`). */
export interface TrustView {
  readonly agent: string;
  readonly level: number;
  readonly maxLevel: number;
  readonly pinned: boolean;
  /** Its record since the level last changed; absent when the guard has not seen the agent. */
  readonly record?: {
    readonly since: number;
    readonly clean: number;
    readonly denials: number;
    readonly failures: number;
    readonly windowStart: number;
  };
  /** The promotion rule, for "how far from the next level". */
  readonly promotion: { readonly calls: number; readonly minSeconds: number };
  /** Recent changes, newest first. */
  readonly history: readonly {
    readonly time: number;
    readonly from: number | null;
    readonly to: number | null;
    readonly pinned: boolean | null;
    readonly actor: string;
    readonly reason: string;
  }[];
}

/**
 * How long this process trusts its copy of the levels while it cannot read the change history (the store
 * is down): past it, no agent is above the initial level until the history answers again — another
 * process may have demoted an agent meanwhile, and a level is only raised on evidence.
 */
export const STALE_SECONDS = 10;

interface Cached {
  readonly level: number;
  readonly pinned: boolean;
  /** The change-history id this entry reflects (older news is ignored). */
  readonly id: number;
}

export class TrustLevels {
  readonly store: TrustStore;
  readonly #config: TrustConfig;
  readonly #now: () => number;
  readonly #cache = new Map<string, Cached>();
  #pending = new Map<string, TrustTally>();
  readonly #listeners: ((event: TrustLevelEvent) => void)[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #closed = false;
  /** When the change history first failed to answer since it last did (epoch seconds); undefined: it answers. */
  #unconfirmedSince: number | undefined;
  readonly #onError: (error: unknown) => void;

  private constructor(
    store: GuardStore,
    config: TrustConfig,
    now: () => number,
    onError: (error: unknown) => void,
  ) {
    this.store = new TrustStore(store, config);
    this.#config = config;
    this.#now = now;
    this.#onError = onError;
  }

  /** Loads every known level (the store must answer: a process does not start with unknown standing). */
  static async open(
    store: GuardStore,
    config: TrustConfig,
    now: () => number,
    onError: (error: unknown) => void = () => {},
  ): Promise<TrustLevels> {
    const levels = new TrustLevels(store, config, now, onError);
    for (const s of await levels.store.list())
      levels.#cache.set(s.agent, { level: s.level, pinned: s.pinned, id: 0 });
    return levels;
  }

  /** The highest level. */
  get maxLevel(): number {
    return this.#config.levels;
  }

  /** The agent's level now (synchronous: the request path reads it). */
  level(agent: string): number {
    const level = this.#cache.get(agent)?.level ?? this.#config.initialLevel;
    if (this.#unconfirmedSince !== undefined && this.#now() - this.#unconfirmedSince >= STALE_SECONDS)
      return Math.min(level, this.#config.initialLevel);
    return level;
  }

  /** The change history answered: the copy of the levels is current. */
  confirmed(): void {
    this.#unconfirmedSince = undefined;
  }

  /** The change history did not answer: after {@link STALE_SECONDS}, levels fall back to the initial one. */
  unconfirmed(): void {
    this.#unconfirmedSince ??= this.#now();
  }

  /** Whether an operator pinned the agent's level. */
  pinned(agent: string): boolean {
    return this.#cache.get(agent)?.pinned ?? false;
  }

  /** Hears of every level change this process learns of, and of agents seen for the first time. */
  onChange(listener: (event: TrustLevelEvent) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * Counts one answered call of `agent`: `clean` (allowed, successful outcome), `denial` or `failure`.
   * Buffered; written by the next flush (at once when a demotion threshold is reached).
   */
  count(agent: string, what: 'clean' | 'denial' | 'failure'): void {
    if (this.#closed) return;
    let tally = this.#pending.get(agent);
    if (tally === undefined) {
      tally = { clean: 0, denials: 0, failures: 0 };
      this.#pending.set(agent, tally);
    }
    if (what === 'clean') tally.clean++;
    else if (what === 'denial') tally.denials++;
    else tally.failures++;
    const { demotion, promotion } = this.#config;
    if (
      tally.denials >= demotion.denials ||
      tally.failures >= demotion.failures ||
      tally.clean >= promotion.calls
    ) {
      void this.flush().catch(this.#onError);
      return;
    }
    this.#schedule();
  }

  /** A flush after `flushMs`, unless one is scheduled. */
  #schedule(): void {
    if (this.#closed) return;
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.flush().catch(this.#onError);
    }, this.#config.flushMs);
    this.#timer.unref();
  }

  /**
   * Writes every buffered count (one transaction per agent) and applies the changes they cause. A count
   * that cannot be written is kept for the next flush, and the error rethrown.
   */
  flush(): Promise<void> {
    if (this.#flushing) return this.#flushing.then(() => (this.#pending.size > 0 ? this.flush() : undefined));
    if (this.#pending.size === 0) return Promise.resolve();
    const batch = this.#pending;
    this.#pending = new Map();
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#flushing = (async () => {
      const entries = [...batch];
      try {
        for (const [i, [agent, tally]] of entries.entries()) {
          try {
            const { change, created } = await this.store.tally(agent, tally, this.#now(), 'guard');
            if (change) this.#apply(change.agent, change.to, change.pinned, change.id);
            else if (created) this.#tell({ agent, level: this.level(agent), pinned: false, created: true });
          } catch (error) {
            // Kept for the next flush: this agent's counts and those not written yet.
            for (const [a, t] of entries.slice(i)) this.#requeue(a, t);
            this.#schedule();
            throw error;
          }
        }
      } finally {
        this.#flushing = undefined;
      }
    })();
    return this.#flushing;
  }

  /**
   * Lowers the agent one level for `reason` (what the breakers call on a trip; an incident), durably and
   * recorded. Resolves the change, or undefined when the level is pinned or already 0.
   */
  async demote(agent: string, reason: string, actor = 'guard'): Promise<TrustChange | undefined> {
    const change = await this.store.demote(agent, reason, this.#now(), actor);
    if (change) this.#apply(change.agent, change.to, change.pinned, change.id);
    return change;
  }

  /** An operator's change (admin API): sets and/or pins or unpins the level. */
  async set(
    agent: string,
    to: { readonly level?: number; readonly pinned?: boolean },
    reason: string,
    actor: string,
  ): Promise<TrustChange | undefined> {
    const change = await this.store.set(agent, to, reason, this.#now(), actor);
    if (change) this.#apply(change.agent, change.to, change.pinned, change.id);
    return change;
  }

  /** What an operator sees of the agent: level, pin, record and recent history. */
  async view(agent: string, historyLimit = 20): Promise<TrustView> {
    const [standing, history] = await Promise.all([
      this.store.get(agent),
      this.store.history(agent, historyLimit),
    ]);
    return viewOf(agent, standing, this.#config, history);
  }

  /** A change from the change history (this process's or another's): the cache follows it. */
  changed(change: GuardChange): void {
    if (change.kind !== 'trust') return;
    const to = change.detail['to'];
    const pinned = change.detail['pinned'];
    if (typeof to !== 'number' || typeof pinned !== 'boolean') return;
    this.#apply(change.subject, to, pinned, change.id);
  }

  /** Writes what is buffered and stops the timer. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush().catch(this.#onError);
  }

  #requeue(agent: string, tally: TrustTally): void {
    const pending = this.#pending.get(agent);
    if (pending === undefined) this.#pending.set(agent, tally);
    else {
      pending.clean += tally.clean;
      pending.denials += tally.denials;
      pending.failures += tally.failures;
    }
  }

  #apply(agent: string, level: number, pinned: boolean, id: number): void {
    const cached = this.#cache.get(agent);
    if (cached !== undefined && cached.id > id) return;
    this.#cache.set(agent, { level, pinned, id });
    if (cached?.level === level && cached.pinned === pinned) return;
    this.#tell({ agent, level, pinned });
  }

  #tell(event: TrustLevelEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#onError(error);
      }
    }
  }
}

function viewOf(
  agent: string,
  standing: TrustStanding | undefined,
  config: TrustConfig,
  history: readonly GuardChange[],
): TrustView {
  return {
    agent,
    level: standing?.level ?? config.initialLevel,
    maxLevel: config.levels,
    pinned: standing?.pinned ?? false,
    ...(standing === undefined
      ? {}
      : {
          record: {
            since: standing.since,
            clean: standing.clean,
            denials: standing.denials,
            failures: standing.failures,
            windowStart: standing.windowStart,
          },
        }),
    promotion: config.promotion,
    history: history.map((c) => ({
      time: c.time,
      from: typeof c.detail['from'] === 'number' ? c.detail['from'] : null,
      to: typeof c.detail['to'] === 'number' ? c.detail['to'] : null,
      pinned: typeof c.detail['pinned'] === 'boolean' ? c.detail['pinned'] : null,
      actor: c.actor,
      reason: c.reason,
    })),
  };
}
