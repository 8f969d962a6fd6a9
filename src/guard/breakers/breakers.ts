/**
 * Circuit breakers (DESIGN §6): per agent, per txn and per agent→destination, counted in the guard's hot
 * counters (src/guard/counters/), so every gateway sharing the counters sees the same breakers.
 *
 * Before the decision ({@link Breakers.check}, one counter batch — one Redis round trip — on the common
 * path): the call is counted for its three keys, their states read, and a breaker trips when
 *  - its calls in the current window exceed the hard cap (`maxCalls.<kind>`);
 *  - its calls (agent, destination) exceed `baseline.factor` × their moving baseline (an EWMA of past
 *    windows' counts) and `baseline.floor`;
 *  - the txn now touches more than `txnSystems.max` distinct systems (route audiences), or, once the agent
 *    has been seen in `txnSystems.learnTxns` txns, a combination of 2+ systems it never used before.
 * The call that trips a breaker is refused with it. An open breaker refuses every call until its cooldown
 * ends; then `halfOpenProbes` calls are let through, and the first result closes it or opens it again.
 *
 * After the answer ({@link Breakers.observe}): denials (agent, txn) and failed outcomes (agent,
 * destination) are counted; past `maxDenials` / `maxFailures` in a window the breaker trips.
 *
 * Every trip, close and reset is written to the guard's change history (kind `breaker`), with who and why.
 */
import type { BreakersConfig } from '../../config/types.ts';
import type { CounterOp, Counters, WindowCount } from '../counters/counters.ts';
import type { RiskSignals } from '../risk.ts';
import type { GuardStore } from '../store/open-guard-store.ts';
import {
  agentKey,
  type BreakerKind,
  type BreakerTrigger,
  type BreakerView,
  destinationKey,
  kindOf,
  type OpenState,
  parseState,
  txnKey,
  viewOf,
} from './state.ts';

/** The keys of one call. */
export interface BreakerSubject {
  /** The calling agent (the warrant's current actor). */
  readonly agent: string;
  readonly txn: string;
  /** The destination system: the route's audience. */
  readonly destination: string;
}

export interface BreakerCheck {
  /** The breaker that refuses the call, if one does. */
  readonly refusal?: { readonly key: string; readonly reason: string; readonly retryAfter: number };
  /** The three breakers as they stand for this call (for the decision record). */
  readonly breakers: readonly BreakerView[];
  /** Risk signals: `half_open` when the call is a probe; anomaly of the agent's rate. */
  readonly signals: RiskSignals;
  /** Keys for which this call is a half-open probe (its result closes or re-opens them). */
  readonly probes: readonly string[];
}

export interface BreakerOutcome {
  /** The decision denied the call (not counting refusals by an open breaker). */
  readonly denied: boolean;
  /** The call was allowed and its outcome failed (5xx, no answer, timeout). */
  readonly failed: boolean;
  /** The keys the call probed (from its check). */
  readonly probes: readonly string[];
}

/** How long the systems of a txn, an agent's txn count and its combinations are kept. */
const TXN_TTL = 24 * 3600;
const AGENT_TTL = 30 * 24 * 3600;
/** How long a containment trip holds a breaker open unless an operator resets it first (a year). */
const CONTAINED_SECONDS = 365 * 24 * 3600;
/** A txn's system set stops growing here (it has tripped long before with any sane `txnSystems.max`). */
const MAX_TRACKED_SYSTEMS = 1001;

const KINDS: readonly BreakerKind[] = ['agent', 'txn', 'destination'];

export class Breakers {
  readonly settings: BreakersConfig;
  readonly #counters: Counters;
  readonly #store: GuardStore;
  /** Ids of the changes this process recorded (its own resets are not applied twice). */
  readonly #own = new Set<number>();

  constructor(counters: Counters, store: GuardStore, settings: BreakersConfig) {
    this.#counters = counters;
    this.#store = store;
    this.settings = settings;
  }

  get enabled(): boolean {
    return this.settings.enabled;
  }

  /**
   * Counts the request (`calls`: its action calls, e.g. a JSON-RPC batch's) and decides whether its
   * breakers let it through (see the module comment).
   */
  async check(subject: BreakerSubject, now: number, actor: string, calls = 1): Promise<BreakerCheck> {
    const s = this.settings;
    const keys = [
      agentKey(subject.agent),
      txnKey(subject.txn),
      destinationKey(subject.agent, subject.destination),
    ];
    const window = s.windowSeconds;
    const alpha = s.baseline.alpha;
    const [rawAgent, rawTxn, rawDest, nAgent, nTxn, nDest, systems] = await this.#counters.run(
      [
        { op: 'get', key: `s:${keys[0]}` },
        { op: 'get', key: `s:${keys[1]}` },
        { op: 'get', key: `s:${keys[2]}` },
        { op: 'count', key: `n:${keys[0]}`, window, by: calls, alpha },
        { op: 'count', key: `n:${keys[1]}`, window, by: calls },
        { op: 'count', key: `n:${keys[2]}`, window, by: calls, alpha },
        { op: 'sadd', key: `sys:${subject.txn}`, member: subject.destination, ttl: TXN_TTL, list: true },
      ] as const,
      now,
    );
    const raws = [rawAgent, rawTxn, rawDest];
    const counts = [nAgent, nTxn, nDest];
    const states = raws.map(parseState);
    const views: BreakerView[] = states.map((state, i) =>
      state === undefined ? { key: keys[i]!, kind: KINDS[i]!, state: 'closed' } : viewOf(state, now),
    );
    const signals: RiskSignals = { breaker: 'closed', anomaly: anomalyOf(nAgent, s.maxCalls.agent) };

    // An open breaker refuses, whatever the others say.
    const open = views.findIndex((v) => v.state === 'open');
    if (open >= 0) {
      const state = states[open]!;
      return {
        refusal: { key: keys[open]!, reason: refusalReason(state), retryAfter: state.until - now },
        breakers: views,
        signals,
        probes: [],
      };
    }

    // A trip condition on a closed (or half-open) breaker: the call that crosses it is refused.
    const trip = (await this.#txnSystemsTrip(subject, systems, now)) ?? tripOf(s, counts);
    if (trip !== undefined) {
      const i = KINDS.indexOf(trip.kind);
      const state: OpenState = {
        kind: trip.kind,
        key: keys[i]!,
        trigger: trip.trigger,
        reason: trip.reason,
        openedAt: now,
        until: now + s.cooldownSeconds,
        agent: subject.agent,
        ...(trip.combination ? { combination: trip.combination } : {}),
      };
      await this.#open(state, raws[i]!, now, actor);
      views[i] = viewOf(state, now);
      return {
        refusal: { key: state.key, reason: refusalReason(state), retryAfter: s.cooldownSeconds },
        breakers: views,
        signals,
        probes: [],
      };
    }

    // Half-open breakers let a few probes through.
    const halfOpen = views.flatMap((v, i) => (v.state === 'half_open' ? [i] : []));
    if (halfOpen.length === 0) return { breakers: views, signals, probes: [] };
    const admitted = await this.#counters.run(
      halfOpen.map(
        (i): CounterOp => ({
          op: 'incr',
          key: `p:${keys[i]}:${states[i]!.openedAt}`,
          ttl: s.cooldownSeconds + s.windowSeconds,
        }),
      ),
      now,
    );
    const full = halfOpen.find((_, j) => (admitted[j] as number) > s.halfOpenProbes);
    if (full !== undefined) {
      const state = states[full]!;
      return {
        refusal: {
          key: keys[full]!,
          reason: `${refusalReason(state)}; half-open, its probe calls are in flight`,
          retryAfter: 1,
        },
        breakers: views,
        signals,
        probes: [],
      };
    }
    return {
      breakers: views,
      signals: { ...signals, breaker: 'half_open' },
      probes: halfOpen.map((i) => keys[i]!),
    };
  }

  /** Counts what became of the call; trips on too many denials or failures; closes or re-opens probed breakers. */
  async observe(subject: BreakerSubject, outcome: BreakerOutcome, now: number, actor: string): Promise<void> {
    const s = this.settings;
    const window = s.windowSeconds;
    const counted: { key: string; kind: BreakerKind; trigger: BreakerTrigger; max: number }[] = [];
    if (outcome.denied)
      for (const [key, kind] of [
        [agentKey(subject.agent), 'agent'],
        [txnKey(subject.txn), 'txn'],
      ] as const)
        counted.push({ key, kind, trigger: 'denials', max: s.maxDenials });
    if (outcome.failed)
      for (const [key, kind] of [
        [agentKey(subject.agent), 'agent'],
        [destinationKey(subject.agent, subject.destination), 'destination'],
      ] as const)
        counted.push({ key, kind, trigger: 'failures', max: s.maxFailures });
    if (counted.length > 0) {
      const counts = await this.#counters.run(
        counted.map(
          (c): CounterOp => ({
            op: 'count',
            key: `${c.trigger === 'denials' ? 'd' : 'f'}:${c.key}`,
            window,
            by: 1,
          }),
        ),
        now,
      );
      for (const [i, c] of counted.entries()) {
        const n = (counts[i] as WindowCount).current;
        if (n <= c.max || outcome.probes.includes(c.key)) continue;
        const what = c.trigger === 'denials' ? 'denied calls' : 'failed calls';
        await this.#open(
          {
            kind: c.kind,
            key: c.key,
            trigger: c.trigger,
            reason: `${n} ${what} in the current ${window} s window (at most ${c.max})`,
            openedAt: now,
            until: now + s.cooldownSeconds,
            agent: subject.agent,
          },
          null,
          now,
          actor,
        );
      }
    }
    for (const key of outcome.probes) await this.#probed(key, !outcome.denied && !outcome.failed, now, actor);
  }

  /** The breakers that are open or half-open now (as the counters of this process see them). */
  async list(now: number, limit = 1000): Promise<BreakerView[]> {
    const states = await this.#counters.states('s:', now, limit);
    return states.flatMap(({ value }) => {
      const state = parseState(value);
      return state === undefined ? [] : [viewOf(state, now)];
    });
  }

  /**
   * An operator's reset: the breaker closes, its window counts are forgotten (a txn's combination is
   * learned for its agent), and the reset is recorded. Resolves whether the breaker was open or half-open.
   */
  async reset(key: string, now: number, actor: string, reason: string): Promise<boolean> {
    if (kindOf(key) === undefined) throw new TypeError(`not a breaker key: ${key}`);
    const here = (await this.clear(key, now))?.trigger;
    // Memory counters are per process: the breaker may be open at a gateway, not here. Its last recorded
    // change says (a trip not followed by a close or reset).
    const was = here ?? (this.#counters.kind === 'memory' ? await this.#lastTrip(key) : undefined);
    const id = await this.#store.changes.record({
      time: now,
      kind: 'breaker',
      subject: key,
      actor,
      reason,
      detail: { action: 'reset', was: was ?? 'closed' },
    });
    this.#own.add(id);
    return was !== undefined;
  }

  /**
   * Opens the breaker of an agent or a txn for `warrant contain` (DESIGN §6): it stays open — no half-open
   * probes — until an operator resets it, and the trip is recorded. Memory counters are this process's own:
   * every gateway applies a recorded containment trip itself (see {@link Breakers.applyTrip}).
   */
  async trip(subject: { readonly agent?: string; readonly txn?: string }, reason: string): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    const key = subject.txn !== undefined ? `txn:${subject.txn}` : `agent:${subject.agent ?? ''}`;
    if (kindOf(key) === undefined || (subject.txn === undefined && !subject.agent))
      throw new TypeError('a breaker to trip names an agent or a txn');
    const state: OpenState = {
      kind: subject.txn !== undefined ? 'txn' : 'agent',
      key,
      trigger: 'contained',
      reason: `contained: ${reason}`.slice(0, 400),
      openedAt: now,
      until: now + CONTAINED_SECONDS,
      agent: subject.agent ?? '',
    };
    await this.applyTrip(state, now);
    const id = await this.#store.changes.record({
      time: now,
      kind: 'breaker',
      subject: key,
      actor: 'contain',
      reason: state.reason,
      detail: { action: 'trip', trigger: 'contained', until: state.until, state: { ...state } },
    });
    this.#own.add(id);
  }

  /** Writes an open state into the counters as it is (a containment trip recorded here or elsewhere). */
  async applyTrip(state: OpenState, now: number): Promise<void> {
    // Compare-and-set over whatever state is there (a trip of the guard's own may race it: try again).
    for (let attempt = 0; attempt < 5; attempt++) {
      const [raw] = await this.#counters.run([{ op: 'get', key: `s:${state.key}` }] as const, now);
      const [set] = await this.#counters.run(
        [
          {
            op: 'cas',
            key: `s:${state.key}`,
            expect: raw ?? null,
            value: JSON.stringify(state),
            ttl: state.until - now,
          },
        ] as const,
        now,
      );
      if (set) return;
    }
    throw new Error(`the breaker ${state.key} kept changing; it was not tripped`);
  }

  /** The counter side of a reset (also how a reset made by another process is applied here). */
  async clear(key: string, now: number): Promise<OpenState | undefined> {
    const window = this.settings.windowSeconds;
    const [raw] = await this.#counters.run([{ op: 'get', key: `s:${key}` }] as const, now);
    const was = parseState(raw);
    const ops: CounterOp[] = [
      { op: 'del', key: `s:${key}` },
      { op: 'clear', key: `n:${key}`, window },
      { op: 'clear', key: `d:${key}`, window },
      { op: 'clear', key: `f:${key}`, window },
    ];
    if (was?.trigger === 'novel_combination' && was.combination)
      ops.push({ op: 'sadd', key: `combo:${was.agent}`, member: was.combination.join(' '), ttl: AGENT_TTL });
    await this.#counters.run(ops, now);
    return was;
  }

  /** The trigger of the key's last recorded change when it is a trip. */
  async #lastTrip(key: string): Promise<string | undefined> {
    const [last] = await this.#store.changes.of('breaker', key, 1);
    return last?.detail['action'] === 'trip' ? String(last.detail['trigger']) : undefined;
  }

  /** Whether `id` is a change this process recorded itself. */
  ownChange(id: number): boolean {
    return this.#own.has(id);
  }

  /**
   * The txn's systems after this call: too many, or (past the agent's learning txns) a combination the
   * agent never used. Only when this call added a system to the txn (the common path costs nothing).
   */
  async #txnSystemsTrip(
    subject: BreakerSubject,
    systems: { added: boolean; size: number; members: readonly string[] },
    now: number,
  ): Promise<Trip | undefined> {
    if (!systems.added) return undefined;
    const { max, learnTxns } = this.settings.txnSystems;
    if (systems.size > max)
      return {
        kind: 'txn',
        trigger: 'txn_systems',
        reason: `the txn touches ${systems.size} distinct systems (at most ${max})`,
        combination: systems.members.slice(0, 32),
      };
    if (systems.size === 1) {
      // A txn's first system: one more txn of this agent (the learning period counts them).
      await this.#counters.run([{ op: 'incr', key: `txns:${subject.agent}`, ttl: AGENT_TTL }] as const, now);
      return undefined;
    }
    if (learnTxns === 0 || systems.size > MAX_TRACKED_SYSTEMS) return undefined;
    const combination = systems.members.join(' ');
    const [seenTxns, known] = await this.#counters.run(
      [
        { op: 'get', key: `txns:${subject.agent}` },
        { op: 'has', key: `combo:${subject.agent}`, member: combination },
      ] as const,
      now,
    );
    if (known) return undefined;
    if (Number(seenTxns ?? 0) <= learnTxns) {
      await this.#counters.run(
        [{ op: 'sadd', key: `combo:${subject.agent}`, member: combination, ttl: AGENT_TTL }] as const,
        now,
      );
      return undefined;
    }
    return {
      kind: 'txn',
      trigger: 'novel_combination',
      reason: `the txn combines systems ${systems.members.join(', ')}: a combination this agent never used`,
      combination: systems.members,
    };
  }

  /** Opens a breaker unless another gateway changed it meanwhile (compare-and-set), and records the trip. */
  async #open(state: OpenState, expect: string | null, now: number, actor: string): Promise<void> {
    const s = this.settings;
    const ttl = s.cooldownSeconds + Math.max(3600, 10 * s.windowSeconds);
    const [set] = await this.#counters.run(
      [{ op: 'cas', key: `s:${state.key}`, expect, value: JSON.stringify(state), ttl }] as const,
      now,
    );
    if (!set) return;
    await this.#history(state.key, now, actor, state.reason, {
      action: 'trip',
      trigger: state.trigger,
      until: state.until,
      ...(state.combination ? { combination: state.combination } : {}),
    });
  }

  /** A probe's result: success closes the breaker, failure opens it for another cooldown. */
  async #probed(key: string, ok: boolean, now: number, actor: string): Promise<void> {
    const [raw] = await this.#counters.run([{ op: 'get', key: `s:${key}` }] as const, now);
    const state = parseState(raw);
    if (state === undefined || now < state.until) return;
    if (ok) {
      const [closed] = await this.#counters.run(
        [{ op: 'cas', key: `s:${key}`, expect: raw, value: null, ttl: 1 }] as const,
        now,
      );
      if (closed)
        await this.#history(key, now, actor, 'a half-open probe call succeeded', { action: 'close' });
      return;
    }
    await this.#open(
      {
        ...state,
        trigger: 'probe_failed',
        reason: `a half-open probe call failed (first tripped: ${state.reason})`.slice(0, 400),
        openedAt: now,
        until: now + this.settings.cooldownSeconds,
      },
      raw,
      now,
      actor,
    );
  }

  /**
   * Writes a breaker change to the durable history. The counters already hold the state, which is what
   * refuses calls: a history write that fails must not let calls through nor fail this one, so it is
   * reported to `onError` (logged) and the refusal stands.
   */
  async #history(
    key: string,
    now: number,
    actor: string,
    reason: string,
    detail: Record<string, unknown>,
  ): Promise<void> {
    try {
      this.#own.add(
        await this.#store.changes.record({ time: now, kind: 'breaker', subject: key, actor, reason, detail }),
      );
    } catch (error) {
      this.onError(error);
    }
  }

  /** Told of a failed history write (the runtime logs it). */
  onError: (error: unknown) => void = () => {};
}

interface Trip {
  readonly kind: BreakerKind;
  readonly trigger: BreakerTrigger;
  readonly reason: string;
  readonly combination?: readonly string[];
}

/** The first rate trip among the three counts (agent, txn, destination), if any. */
function tripOf(s: BreakersConfig, counts: readonly WindowCount[]): Trip | undefined {
  for (const [i, kind] of KINDS.entries()) {
    const n = counts[i]!;
    const cap = s.maxCalls[kind];
    if (n.current > cap)
      return {
        kind,
        trigger: 'rate_cap',
        reason: `${n.current} calls in the current ${s.windowSeconds} s window (cap ${cap})`,
      };
    const { factor, floor } = s.baseline;
    if (n.baseline !== null && n.current > floor && n.current > factor * n.baseline)
      return {
        kind,
        trigger: 'baseline',
        reason: `${n.current} calls in the current ${s.windowSeconds} s window, over ${factor} × the moving baseline ${n.baseline.toFixed(1)} (and over the floor ${floor})`,
      };
  }
  return undefined;
}

/** How far the agent's rate is above its baseline toward the hard cap: 0 (at or under the baseline) .. 1. */
function anomalyOf(n: WindowCount, cap: number): number {
  const base = n.baseline ?? 0;
  if (n.current <= base || cap <= base) return 0;
  return Math.min(1, Math.round(((n.current - base) / (cap - base)) * 1000) / 1000);
}

function refusalReason(state: OpenState): string {
  return `the ${state.kind} breaker ${state.key} is open: ${state.reason}`;
}
