/**
 * The counters in this process's memory (one gateway, or `warrant dev`): the same semantics as the Redis
 * adapter (the contract suite runs on both). Every batch also sweeps a few entries for expiry, resuming
 * where the last one stopped, so memory stays bounded by the live keys without a pause to scan the map.
 */
import {
  BASELINE_TTL_SECONDS,
  type CounterOp,
  type CounterResults,
  type Counters,
  checkOps,
  type SetAdd,
  type WindowCount,
} from './counters.ts';

interface Entry {
  value: number | string | Set<string> | Baseline;
  /** Epoch seconds; the entry is gone from this moment on. */
  expiresAt: number;
}

interface Baseline {
  /** The window being counted (not folded in yet). */
  window: number;
  /** Its count so far. */
  count: number;
  /** The EWMA of the windows before it; -1 while no window has completed. */
  mean: number;
}

/** Entries looked at for expiry per batch (more than a batch can create, so the sweep keeps up). */
const SWEEP_STEP = 32;

export class MemoryCounters implements Counters {
  readonly kind = 'memory' as const;
  readonly #entries = new Map<string, Entry>();
  /** Where the incremental sweep resumes (a Map iterator stays valid while entries are added and deleted). */
  #sweeper: Iterator<[string, Entry]> | undefined;

  run<const T extends readonly CounterOp[]>(ops: T, now: number): Promise<CounterResults<T>> {
    try {
      checkOps(ops);
      this.#sweep(now);
      const results: unknown[] = [];
      for (const op of ops) results.push(this.#apply(op, now));
      return Promise.resolve(results as CounterResults<T>);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async states(prefix: string, now: number, limit = 1000): Promise<{ key: string; value: string }[]> {
    const out: { key: string; value: string }[] = [];
    for (const [key, entry] of this.#entries) {
      if (out.length >= limit) break;
      if (key.startsWith(prefix) && entry.expiresAt > now && typeof entry.value === 'string')
        out.push({ key, value: entry.value });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  /** Entries held (live or not yet swept). */
  get size(): number {
    return this.#entries.size;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.#entries.clear();
  }

  /** The live entry of `key`, or undefined (an expired one is removed). */
  #live(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  #apply(op: CounterOp, now: number): unknown {
    switch (op.op) {
      case 'count':
        return this.#count(op, now);
      case 'clear': {
        const w = Math.floor(now / op.window);
        const a = this.#entries.delete(`${op.key}:${w}`);
        const b = this.#entries.delete(`${op.key}:${w - 1}`);
        return a || b;
      }
      case 'get': {
        const value = this.#live(op.key, now)?.value;
        if (typeof value === 'number') return String(value);
        return typeof value === 'string' ? value : null;
      }
      case 'cas': {
        const value = this.#live(op.key, now)?.value;
        const current = typeof value === 'string' ? value : null;
        if (current !== op.expect) return false;
        if (op.value === null) this.#entries.delete(op.key);
        else this.#entries.set(op.key, { value: op.value, expiresAt: now + op.ttl });
        return true;
      }
      case 'del':
        return this.#live(op.key, now) !== undefined && this.#entries.delete(op.key);
      case 'incr': {
        const entry = this.#live(op.key, now);
        const value = (typeof entry?.value === 'number' ? entry.value : 0) + 1;
        this.#entries.set(op.key, { value, expiresAt: entry?.expiresAt ?? now + op.ttl });
        return value;
      }
      case 'sadd':
        return this.#sadd(op.key, op.member, op.ttl, op.list === true, now);
      case 'has': {
        const value = this.#live(op.key, now)?.value;
        return value instanceof Set && value.has(op.member);
      }
    }
  }

  #count(op: Extract<CounterOp, { op: 'count' }>, now: number): WindowCount {
    const w = Math.floor(now / op.window);
    const currentKey = `${op.key}:${w}`;
    const entry = this.#live(currentKey, now);
    const current = (typeof entry?.value === 'number' ? entry.value : 0) + op.by;
    this.#entries.set(currentKey, { value: current, expiresAt: (w + 2) * op.window + 1 });
    const previous = this.#number(`${op.key}:${w - 1}`, now);
    let baseline: number | null = null;
    if (op.alpha !== undefined) {
      const key = `${op.key}:b`;
      const stored = this.#live(key, now)?.value as Baseline | undefined;
      const next: Baseline = stored === undefined ? { window: w, count: 0, mean: -1 } : { ...stored };
      if (next.window < w) {
        const done = next.count;
        next.mean = next.mean < 0 ? done : op.alpha * done + (1 - op.alpha) * next.mean;
        // Windows without any count in between pull the mean toward zero.
        next.mean *= (1 - op.alpha) ** (w - 1 - next.window);
        next.window = w;
        next.count = 0;
      }
      next.count += op.by;
      this.#entries.set(key, { value: next, expiresAt: now + BASELINE_TTL_SECONDS });
      baseline = next.mean < 0 ? null : next.mean;
    }
    return {
      current,
      previous,
      elapsed: (now - w * op.window) / op.window,
      baseline,
      resetIn: (w + 1) * op.window - now,
    };
  }

  #number(key: string, now: number): number {
    const value = this.#live(key, now)?.value;
    return typeof value === 'number' ? value : 0;
  }

  #sadd(key: string, member: string, ttl: number, list: boolean, now: number): SetAdd {
    const entry = this.#live(key, now);
    const set = entry?.value instanceof Set ? entry.value : new Set<string>();
    const added = !set.has(member);
    set.add(member);
    this.#entries.set(key, { value: set, expiresAt: now + ttl });
    return { added, size: set.size, members: list ? [...set].sort() : [] };
  }

  #sweep(now: number): void {
    for (let i = 0; i < SWEEP_STEP; i++) {
      this.#sweeper ??= this.#entries.entries();
      const next = this.#sweeper.next();
      if (next.done) {
        this.#sweeper = undefined;
        return;
      }
      const [key, entry] = next.value;
      if (entry.expiresAt <= now) this.#entries.delete(key);
    }
  }
}
