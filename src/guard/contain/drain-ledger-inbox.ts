/**
 * The ledger writer's side of the containment hand-off (ledger-inbox.ts): drains the inbox into the ledger
 * — at start, whenever a containment change is recorded (the guard runtime's change feed, within its poll
 * interval), and every `intervalMs` as a backstop. Each record is appended durably, then removed; the
 * writing gateway's id goes into the record (`gateway`).
 */
import type { DecisionLog } from '../../ledger/decision-log.ts';
import type { GuardRuntime } from '../runtime.ts';
import { claimLedgerRecords, removeLedgerRecord } from './ledger-inbox.ts';

/** How long a drainer holds the rows it claimed before another may take them. */
const CLAIM_MS = 30_000;
const BATCH = 100;

export interface InboxDrain {
  /** Drains everything waiting now (tests call it; the timer and the change feed call it too). */
  drain(): Promise<number>;
  stop(): Promise<void>;
}

export function startLedgerInboxDrain(options: {
  readonly guard: GuardRuntime;
  readonly sink: DecisionLog;
  /** This writer's id (the gateway's), written into each record and used to claim rows. */
  readonly writer: string;
  readonly intervalMs?: number;
  readonly onError?: (error: unknown) => void;
}): InboxDrain {
  const { guard, sink, writer } = options;
  const owner = `${writer}:${process.pid}:${Math.random().toString(36).slice(2, 10)}`;
  let running: Promise<number> | undefined;
  let stopped = false;
  const drainOnce = async (): Promise<number> => {
    let total = 0;
    for (;;) {
      const now = Date.now();
      const rows = await claimLedgerRecords(guard.store.sql, owner, now, now + CLAIM_MS, BATCH);
      for (const row of rows) {
        await sink.append({ ...row.record, gateway: writer });
        await removeLedgerRecord(guard.store.sql, row.id, owner);
        total++;
      }
      if (rows.length < BATCH || stopped) return total;
    }
  };
  // A drain asked for while one runs must still see what was queued after that one claimed its rows: it
  // runs once more after it (one follow-up, shared by everyone who asked meanwhile).
  let next: Promise<number> | undefined;
  const drain = (): Promise<number> => {
    if (running === undefined) {
      running = drainOnce().finally(() => {
        running = undefined;
      });
      return running;
    }
    next ??= running
      .catch(() => 0)
      .then(() => {
        next = undefined;
        return drain();
      });
    return next;
  };
  const kick = () => {
    if (stopped) return;
    drain().catch((error: unknown) => options.onError?.(error));
  };
  guard.watch('containment', kick);
  const timer = setInterval(kick, options.intervalMs ?? 2000);
  timer.unref();
  kick();
  return {
    drain,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => {});
    },
  };
}
