/**
 * Progressive trust's durable state (DESIGN §6), table `guard_trust` of the guard store: each agent's level,
 * whether an operator pinned it, and its record since the level last changed. Every change of a level (or
 * a pin) is made in one transaction with its entry in the change history (`kind: 'trust'`, the agent as
 * subject, the reason in words), so "why is this agent at level 1" is always answerable.
 *
 * The rules, applied where the counts land (`tally`), so every process and replica applies the same ones:
 * - promotion: `promotion.calls` allowed calls with a successful outcome since the last change, and at
 *   least `promotion.minSeconds` at the level, and nothing bad in between (a denial or a failed outcome
 *   starts the clean record over);
 * - demotion: `demotion.denials` denials or `demotion.failures` failed outcomes within one window of
 *   `demotion.windowSeconds`; or `demote()` (a breaker trip, an incident);
 * - a pinned level never moves by itself; only an operator changes or unpins it.
 */
import type { TrustConfig } from '../../config/types.ts';
import type { GuardChange } from '../store/changes.ts';
import type { GuardSql } from '../store/guard-sql.ts';
import type { GuardStore } from '../store/open-guard-store.ts';

export type TrustRules = Omit<TrustConfig, 'flushMs'>;

/** One agent's standing. Times are epoch seconds. */
export interface TrustStanding {
  readonly agent: string;
  readonly level: number;
  readonly pinned: boolean;
  /** When the level last changed (the clean record counts from here). */
  readonly since: number;
  /** Allowed calls with a successful outcome since `since` (and since the last denial or failure). */
  readonly clean: number;
  /** Denials and failed outcomes in the demotion window that began at `windowStart`. */
  readonly denials: number;
  readonly failures: number;
  readonly windowStart: number;
}

/** What a gateway counted for one agent since its last flush. */
export interface TrustTally {
  clean: number;
  denials: number;
  failures: number;
}

/** A level change (or pin change), as recorded. */
export interface TrustChange {
  readonly agent: string;
  readonly from: number;
  readonly to: number;
  readonly pinned: boolean;
  readonly reason: string;
  readonly actor: string;
  readonly time: number;
  /** Its id in the change history. */
  readonly id: number;
}

const COLUMNS = 'agent, level, pinned, since, clean, denials, failures, window_start';

export class TrustStore {
  readonly #store: GuardStore;
  readonly rules: TrustRules;

  constructor(store: GuardStore, rules: TrustRules) {
    this.#store = store;
    this.rules = rules;
  }

  /** The agent's standing; undefined when the guard has not seen it (it is then at `initialLevel`). */
  async get(agent: string): Promise<TrustStanding | undefined> {
    const row = await this.#store.sql.one(`SELECT ${COLUMNS} FROM guard_trust WHERE agent = $1`, [agent]);
    return row === undefined ? undefined : standingOf(row);
  }

  /** The standing of the agent the guard has seen, in agent order (at most `limit`). */
  async list(limit = 100_000): Promise<TrustStanding[]> {
    const rows = await this.#store.sql.all(`SELECT ${COLUMNS} FROM guard_trust ORDER BY agent LIMIT $1`, [
      limit,
    ]);
    return rows.map(standingOf);
  }

  /** The agent's trust changes, newest first. */
  history(agent: string, limit = 20): Promise<GuardChange[]> {
    return this.#store.changes.of('trust', agent, limit);
  }

  /**
   * Adds what a gateway counted for `agent` and applies the rules: resolves the change it caused (a
   * promotion or a demotion), if any, and whether the agent was new to the guard.
   */
  async tally(
    agent: string,
    tally: TrustTally,
    now: number,
    actor: string,
  ): Promise<{ change?: TrustChange; created: boolean }> {
    const { demotion } = this.rules;
    return this.#store.sql.transaction(async (tx) => {
      const created = await this.#ensure(tx, agent, now);
      // One statement adds the counts (and takes the row's lock on PostgreSQL until the commit, so two
      // replicas flushing at once apply the rules one after the other). A denial or a failure ends the
      // clean record; a window that has ended starts over with these counts.
      const bad = tally.denials + tally.failures > 0 ? 1 : 0;
      const row = await tx.one(
        `UPDATE guard_trust SET
           clean = CASE WHEN $5 = 1 THEN 0 ELSE clean + $2 END,
           denials = CASE WHEN window_start + $6 <= $7 THEN $3 ELSE denials + $3 END,
           failures = CASE WHEN window_start + $6 <= $7 THEN $4 ELSE failures + $4 END,
           window_start = CASE WHEN window_start + $6 <= $7 THEN $7 ELSE window_start END,
           updated = $7
         WHERE agent = $1 RETURNING ${COLUMNS}`,
        [agent, tally.clean, tally.denials, tally.failures, bad, demotion.windowSeconds, now],
      );
      const standing = standingOf(row!);
      const next = this.#ruleFor(standing, now);
      if (next === undefined) return { created };
      const change = await this.#move(tx, standing, next.level, standing.pinned, next.reason, now, actor);
      return { change, created };
    });
  }

  /**
   * Lowers the agent one level for `reason` (a breaker trip, an incident) and starts its record over.
   * Resolves the change, or undefined when the level is pinned or already 0 (nothing moves; a pinned
   * level is the operator's to change).
   */
  async demote(agent: string, reason: string, now: number, actor: string): Promise<TrustChange | undefined> {
    return this.#store.sql.transaction(async (tx) => {
      await this.#ensure(tx, agent, now);
      const row = await tx.one(`SELECT ${COLUMNS} FROM guard_trust WHERE agent = $1`, [agent]);
      const standing = standingOf(row!);
      if (standing.pinned || standing.level === 0) return undefined;
      return this.#move(tx, standing, standing.level - 1, false, `demoted: ${reason}`, now, actor);
    });
  }

  /**
   * An operator's change: sets the level (when given) and pins or unpins it (when given); resolves the
   * change recorded (undefined when nothing changed).
   */
  async set(
    agent: string,
    to: { readonly level?: number; readonly pinned?: boolean },
    reason: string,
    now: number,
    actor: string,
  ): Promise<TrustChange | undefined> {
    if (
      to.level !== undefined &&
      (!Number.isSafeInteger(to.level) || to.level < 0 || to.level > this.rules.levels)
    )
      throw new RangeError(`level must be an integer in 0..${this.rules.levels}`);
    return this.#store.sql.transaction(async (tx) => {
      await this.#ensure(tx, agent, now);
      const row = await tx.one(`SELECT ${COLUMNS} FROM guard_trust WHERE agent = $1`, [agent]);
      const standing = standingOf(row!);
      const level = to.level ?? standing.level;
      const pinned = to.pinned ?? standing.pinned;
      if (level === standing.level && pinned === standing.pinned) return undefined;
      const what =
        level !== standing.level
          ? `set to level ${level}${pinned ? ' and pinned' : ''} by an operator`
          : pinned
            ? `pinned at level ${level} by an operator`
            : `unpinned at level ${level} by an operator`;
      return this.#move(tx, standing, level, pinned, `${what}: ${reason}`, now, actor);
    });
  }

  /**
   * Claims the ledger copy of an autonomy statement: true when `digest` is new for `agent` (this process
   * then writes it), false when it is the one last written (by any process).
   */
  async claimAutonomy(agent: string, digest: string, now: number): Promise<boolean> {
    const changed = await this.#store.sql.run(
      `INSERT INTO guard_autonomy (agent, digest, time) VALUES ($1, $2, $3)
       ON CONFLICT (agent) DO UPDATE SET digest = excluded.digest, time = excluded.time
       WHERE guard_autonomy.digest <> excluded.digest`,
      [agent, digest, now],
    );
    return changed > 0;
  }

  /** Gives up a claim whose ledger write failed, so the next attempt writes it. */
  async releaseAutonomy(agent: string, digest: string): Promise<void> {
    await this.#store.sql.run('DELETE FROM guard_autonomy WHERE agent = $1 AND digest = $2', [agent, digest]);
  }

  /** The rule the standing meets now (demotion first), if any. */
  #ruleFor(s: TrustStanding, now: number): { level: number; reason: string } | undefined {
    if (s.pinned) return undefined;
    const { demotion, promotion, levels } = this.rules;
    if (s.level > 0 && s.denials >= demotion.denials)
      return {
        level: s.level - 1,
        reason: `demoted after ${s.denials} denials within ${demotion.windowSeconds} s`,
      };
    if (s.level > 0 && s.failures >= demotion.failures)
      return {
        level: s.level - 1,
        reason: `demoted after ${s.failures} failed outcomes within ${demotion.windowSeconds} s`,
      };
    if (s.level < levels && s.clean >= promotion.calls && now - s.since >= promotion.minSeconds)
      return {
        level: s.level + 1,
        reason: `promoted after ${s.clean} clean calls over ${now - s.since} s`,
      };
    return undefined;
  }

  /** The row for an agent not seen before, at the initial level; resolves whether it was created. */
  async #ensure(tx: GuardSql, agent: string, now: number): Promise<boolean> {
    const created = await tx.run(
      `INSERT INTO guard_trust (agent, level, pinned, since, clean, denials, failures, window_start, updated)
       VALUES ($1, $2, 0, $3, 0, 0, 0, $3, $3) ON CONFLICT (agent) DO NOTHING`,
      [agent, this.rules.initialLevel, now],
    );
    return created > 0;
  }

  /** Moves the standing to `level`/`pinned`, starts its record over, and records the change. */
  async #move(
    tx: GuardSql,
    from: TrustStanding,
    level: number,
    pinned: boolean,
    reason: string,
    now: number,
    actor: string,
  ): Promise<TrustChange> {
    await tx.run(
      `UPDATE guard_trust SET level = $2, pinned = $3, since = $4, clean = 0, denials = 0, failures = 0,
         window_start = $4, updated = $4 WHERE agent = $1`,
      [from.agent, level, pinned ? 1 : 0, now],
    );
    const detail = {
      from: from.level,
      to: level,
      pinned,
      record: { clean: from.clean, denials: from.denials, failures: from.failures, since: from.since },
    };
    const id = await this.#store.changes.record(
      { time: now, kind: 'trust', subject: from.agent, actor, reason, detail },
      tx,
    );
    return { agent: from.agent, from: from.level, to: level, pinned, reason, actor, time: now, id };
  }
}

function standingOf(row: Record<string, unknown>): TrustStanding {
  return {
    agent: String(row['agent']),
    level: Number(row['level']),
    pinned: Number(row['pinned']) === 1,
    since: Number(row['since']),
    clean: Number(row['clean']),
    denials: Number(row['denials']),
    failures: Number(row['failures']),
    windowStart: Number(row['window_start']),
  };
}
