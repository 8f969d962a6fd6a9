/**
 * WAL checkpoints off the request path. SQLite's automatic checkpoint runs inside whichever COMMIT pushes
 * the WAL past 1,000 pages: on a server's single thread that COMMIT — and every request queued behind it —
 * waits for pages to be copied into the database file and fsynced (the STS's 5–13 ms p99 stalls, issue 13).
 * Here a worker thread with its own connection runs `PRAGMA wal_checkpoint(PASSIVE)` on a timer: PASSIVE
 * never waits for a lock and never blocks a writer, and the worker's fsyncs are not the event loop's.
 *
 * That alone does not bound the WAL. SQLite starts the WAL over only when a write begins after a checkpoint
 * that copied every frame; under writes that never pause, each PASSIVE checkpoint ends behind the frames
 * written while it ran, the WAL never starts over, and it grows without limit (sqlite-store.test.ts writes
 * without pause and checks the bound). So the store's own connection keeps an automatic checkpoint at
 * `WAL_BOUND_PAGES` (see connectSqlite's `autoCheckpointPages`): a COMMIT that finds the WAL that long
 * copies what the worker has not copied yet (little, when the worker keeps up) and the WAL starts over.
 */
import { Worker } from 'node:worker_threads';

export interface Checkpointer {
  /** Stops the timer and the worker (after a last checkpoint). */
  close(): Promise<void>;
}

/**
 * The most pages the WAL holds before the writing connection's COMMIT checkpoints it itself: 64 MiB of
 * 4 KiB pages (what `journal_size_limit` truncates the file back to, where a store sets it).
 */
export const WAL_BOUND_PAGES = 16_384;

/** The worker: one connection, a PASSIVE checkpoint every `intervalMs`, a last one when told to stop. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.path, { timeout: workerData.busyTimeoutMs });
const checkpoint = () => {
  try { db.exec('PRAGMA wal_checkpoint(PASSIVE)'); } catch {}
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

/** Starts checkpointing the WAL of the database file at `path` every `intervalMs` (default 1 s). */
export function startCheckpointer(path: string, intervalMs = 1000, busyTimeoutMs = 5000): Checkpointer {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, intervalMs, busyTimeoutMs } });
  // A checkpointer alone never keeps the process alive; errors (a vanished file) only stop checkpoints.
  worker.unref();
  worker.on('error', () => {});
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async close() {
      // Held while it stops: an unref'd worker would let the loop empty under a pending close() (a
      // process whose shutdown awaits the store would then exit with 13, unsettled top-level await).
      worker.ref();
      worker.postMessage('stop');
      const timeout = setTimeout(() => void worker.terminate(), 5000);
      timeout.unref();
      await exited;
      clearTimeout(timeout);
    },
  };
}
