/**
 * Calls made in one turn of the event loop, sent to the database together (issue 13). On PostgreSQL every
 * statement costs a round trip: the driver's serialising and writev on the server's only thread, a wake-up
 * of the backend, and for a write its own commit and WAL flush. Under load several requests reach the same
 * statement in one turn (their signatures finish together on the thread pool); one statement for all of
 * them pays those costs once. The STS on PostgreSQL at c=16, against the build before it in the same run
 * (`BENCH_STS_STORES=postgres BENCH_STS_AGAINST=… npm run bench -- sts`, three runs): 1,033–1,205 vs 766–927
 * exchanges/s, 829–958 vs 1,041–1,217 µs of STS CPU per exchange, PostgreSQL 0.36–0.38 vs 0.46–0.51 cores.
 *
 * A lone call runs as it always did (`one`): at low load nothing waits for company and nothing changes.
 * A batch that fails as a whole (one member's conflict, a deadlock, a constraint only a single row can
 * meet) is retried one call at a time, so each call gets its own answer or its own error, exactly as
 * without batching; `many` must therefore be all-or-nothing (one statement, one transaction).
 */
export interface TurnBatchOptions {
  /** Most calls in one statement (larger turns are split). Default 64. */
  readonly maxBatch?: number;
}

export function turnBatch<I, O>(
  one: (input: I) => Promise<O>,
  many: (inputs: readonly I[]) => Promise<readonly O[]>,
  options: TurnBatchOptions = {},
): (input: I) => Promise<O> {
  const maxBatch = options.maxBatch ?? 64;
  if (!Number.isSafeInteger(maxBatch) || maxBatch < 1)
    throw new TypeError('maxBatch must be a positive integer');
  let queue: Pending<I, O>[] = [];
  let scheduled = false;

  const flush = (): void => {
    scheduled = false;
    const all = queue;
    queue = [];
    for (let start = 0; start < all.length; start += maxBatch) send(all.slice(start, start + maxBatch));
  };

  const send = (batch: Pending<I, O>[]): void => {
    if (batch.length === 1) {
      const [only] = batch as [Pending<I, O>];
      settleWith(only, one);
      return;
    }
    let answered: Promise<readonly O[]>;
    try {
      answered = many(batch.map((p) => p.input));
    } catch (error) {
      answered = Promise.reject(error);
    }
    answered.then(
      (outputs) => {
        if (outputs.length !== batch.length) {
          const error = new Error(`a batch of ${batch.length} answered ${outputs.length} results`);
          for (const p of batch) p.reject(error);
          return;
        }
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(outputs[i] as O);
      },
      // All or nothing failed as a whole: each call on its own, for its own answer or error.
      () => {
        for (const p of batch) settleWith(p, one);
      },
    );
  };

  return (input) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ input, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}

interface Pending<I, O> {
  readonly input: I;
  readonly resolve: (output: O) => void;
  readonly reject: (error: unknown) => void;
}

function settleWith<I, O>(pending: Pending<I, O>, one: (input: I) => Promise<O>): void {
  let answered: Promise<O>;
  try {
    answered = one(pending.input);
  } catch (error) {
    answered = Promise.reject(error);
  }
  answered.then(pending.resolve, pending.reject);
}
