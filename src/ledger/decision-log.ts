import { writeSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

/** One decision of the gateway, as recorded before the call is forwarded (DESIGN §8). No token literals. */
export interface DecisionRecord {
  readonly id: string;
  /**
   * `decision` (the gateway's, before forwarding), `outcome` (what became of an allowed call), `autonomy`
   * (an agent's autonomy statement changed; no call, `caller` is the agent), `containment` (a step of
   * `warrant contain`: a revocation, a breaker tripped, a compensation sent, an action left for a person;
   * written by the ledger's writer from the guard store's inbox).
   */
  readonly kind: 'decision' | 'outcome' | 'autonomy' | 'containment';
  readonly time: string;
  readonly gateway: string;
  readonly decision?: 'allow' | 'deny' | 'approval_required' | 'contained';
  readonly reasons?: readonly string[];
  readonly code?: string;
  readonly person?: { readonly sub: string; readonly iss: string };
  readonly caller?: string;
  readonly recipient?: string;
  readonly action?: string;
  readonly resource?: string;
  readonly granted?: readonly unknown[];
  readonly used?: unknown;
  /** The call's values checked against the constraints of `used`, by parameter name. */
  readonly parameters?: Readonly<Record<string, number | string>>;
  /** Root → leaf; `iss` only on a trusted peer's links (a chain that crossed into this deployment). */
  readonly chain?: readonly { readonly hash: string; readonly actor: string; readonly iss?: string }[];
  /**
   * A chain that crossed a trust boundary (DESIGN §11): the index of this deployment's first link and the
   * peer's issuer. The links before `index` are the peer's half, verified with its keys.
   */
  readonly boundary?: { readonly index: number; readonly peer: string };
  readonly txn?: string;
  readonly task?: string;
  readonly policyVersion?: string;
  readonly risk?: {
    readonly score: number;
    /** Each factor's name and points; `input` and `weight` since configurable weights (docs/guard.md). */
    readonly factors: readonly {
      readonly name: string;
      readonly input?: string | number;
      readonly weight?: number;
      readonly points: number;
    }[];
  };
  /**
   * Bounded autonomy: the trust level's bound, the effective bound after blast-radius tightening, and the
   * approval created (`approval_required`) or spent (an approved call).
   */
  readonly bound?: {
    readonly bound: number;
    readonly effectiveBound: number;
    readonly approval?: { readonly id: string; readonly uri?: string; readonly status: string };
  };
  readonly trustLevel?: number;
  /**
   * The budgets the call counts against (src/guard/budgets): each one's scope key, limit in force, spent
   * amount (after this call's reservation, or at the refusal) and what this call counts.
   */
  readonly budgets?: readonly {
    readonly name: string;
    readonly key: string;
    readonly limit: number;
    readonly spent: number;
    readonly quantity: number;
  }[];
  /** The call went to its action's sandbox (the caller was below its trust level), at `sandbox` (an origin). */
  readonly sandboxed?: true;
  readonly sandbox?: string;
  /** For autonomy records: the agent's autonomy statement as it changed (src/guard/autonomy/). */
  readonly autonomy?: { readonly digest: string; readonly statement: unknown };
  /**
   * The call's circuit breakers (agent, txn, agent→destination) as they stood: `closed`, `half_open` (the
   * call was a probe) or `open` (refused), with the trigger and the end of the cooldown when not closed.
   */
  readonly breakers?: readonly {
    readonly key: string;
    readonly state: 'closed' | 'open' | 'half_open';
    readonly trigger?: string;
    readonly until?: number;
  }[];
  readonly requestDigest?: string;
  /** The W3C trace id of the request the decision was made for (its span, the upstream's trace). */
  readonly traceId?: string;
  /** For outcome records: the decision this outcome belongs to. */
  readonly decisionId?: string;
  /**
   * For outcome records, what became of the allowed call: `forwarded` (the upstream answered and the whole
   * answer reached the caller), `upstream_failed` (no answer: refused, reset, unusable), `upstream_timeout`
   * (no answer headers in time), `upstream_interrupted` (the answer broke off), `client_aborted` (the
   * caller went away first), `request_too_large` (a streamed body passed the limit on the way).
   */
  readonly outcome?:
    | 'forwarded'
    | 'upstream_failed'
    | 'upstream_timeout'
    | 'upstream_interrupted'
    | 'client_aborted'
    | 'request_too_large';
  /** For outcome records: the status the caller was answered (upstream's or the gateway's), if any. */
  readonly status?: number;
  /** For outcome records: the class of the failure (an error code such as `ECONNREFUSED`), never a message. */
  readonly error?: string;
  readonly latencyMs?: number;
  /**
   * For containment records: the run, what it contained (`txn:<id>`, `agent:<id>`, `person:<sub>`,
   * `warrant:<hash>`), the step, its outcome and details (no secrets, no response bodies). `decisionId` names
   * the compensated call; `action`, `txn`, `person` are copied from it so the record is found with it.
   */
  readonly containment?: {
    readonly run: string;
    readonly selector: string;
    readonly step: 'started' | 'revoke' | 'breaker' | 'compensate' | 'manual' | 'finished';
    readonly outcome: 'done' | 'failed' | 'skipped';
    readonly detail: Readonly<Record<string, unknown>>;
  };
}

/**
 * Where decisions go. `append` resolves only once the record is durable (a `Ledger` resolves the record's
 * index in the log); a failure to record is a failure of the decision (the gateway then forwards nothing).
 */
export interface DecisionLog {
  append(record: DecisionRecord): Promise<unknown>;
  /**
   * Records something that nothing waits for (a call's outcome): it rides with the next durable batch
   * instead of forcing a flush of its own, so a call costs one durable write, not two. Optional.
   */
  note?(record: DecisionRecord): void;
  close(): Promise<void>;
}

/** For tests: keeps records in memory. */
export class MemoryDecisionLog implements DecisionLog {
  readonly records: DecisionRecord[] = [];
  async append(record: DecisionRecord): Promise<void> {
    this.records.push(record);
  }
  async close(): Promise<void> {}
}

/**
 * An append-only JSON Lines file with group commit: appends that arrive while a write is in flight are
 * batched into the next write, and every batch is made durable with one `fdatasync` before any of its
 * appends resolve. Throughput grows with concurrency; each append waits at most one flush.
 *
 * The batch is written with a plain `write` on the event loop (a copy into the page cache, microseconds
 * for a batch of records) and only the `fdatasync` goes to libuv's pool: one thread-pool round trip per
 * batch instead of two (at c=1 each round trip is a thread wake-up on the request's path, issue 13).
 */
export class FileDecisionLog implements DecisionLog {
  readonly #file: Promise<FileHandle>;
  #pending: { line: string; resolve: () => void; reject: (e: unknown) => void }[] = [];
  #flushing = false;
  #closed = false;
  batches = 0;
  records = 0;

  /** The open file, once it is: then a flush writes and starts its fdatasync in the caller's turn. */
  #handle: FileHandle | undefined;

  constructor(path: string) {
    this.#file = open(path, 'a', 0o600);
    this.#file.then(
      (handle) => {
        this.#handle = handle;
      },
      () => {},
    );
  }

  append(record: DecisionRecord): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('decision log is closed'));
    return new Promise((resolve, reject) => {
      this.#pending.push({ line: `${JSON.stringify(record)}\n`, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  note(record: DecisionRecord): void {
    if (this.#closed) return;
    this.#pending.push({ line: `${JSON.stringify(record)}\n`, resolve: () => {}, reject: () => {} });
    // Written with the next durable batch; if no decision follows soon, a timer flushes it.
    this.#lazy ??= setTimeout(() => {
      this.#lazy = undefined;
      if (!this.#flushing && this.#pending.length > 0) void this.#flush();
    }, 50);
    this.#lazy.unref?.();
  }
  #lazy: NodeJS.Timeout | undefined;

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      const file = this.#handle ?? (await this.#file);
      while (this.#pending.length > 0) {
        const batch = this.#pending;
        this.#pending = [];
        try {
          writeAll(file.fd, Buffer.from(batch.map((b) => b.line).join(''), 'utf8'));
          await file.datasync();
          this.batches++;
          this.records += batch.length;
          for (const b of batch) b.resolve();
        } catch (error) {
          for (const b of batch) b.reject(error);
        }
      }
    } catch (error) {
      for (const b of this.#pending.splice(0)) b.reject(error);
    } finally {
      this.#flushing = false;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#lazy);
    if (!this.#flushing && this.#pending.length > 0) void this.#flush();
    while (this.#flushing || this.#pending.length > 0) await new Promise((r) => setTimeout(r, 1));
    await (await this.#file).close();
  }
}

/** Writes all of `data` at the file's end (O_APPEND), looping over short writes. */
function writeAll(fd: number, data: Buffer): void {
  let offset = 0;
  while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
}
