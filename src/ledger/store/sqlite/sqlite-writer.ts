/**
 * The SQLite ledger's writer, on a worker thread of its own: each batch is one `BEGIN IMMEDIATE … COMMIT`
 * on this thread's connection (`writer-ops.ts`), so the commit's fsync (`synchronous = FULL`) never blocks
 * the main event loop, and appends arriving meanwhile gather into the next batch. Requests run one at a
 * time, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connectSqlite } from '../../../sql/sqlite-open.ts';
import { failure, LEDGER_JOURNAL_SIZE_LIMIT, writerOps } from './writer-ops.ts';
import type { WriterData, WriterRequest, WriterResponse } from './writer-protocol.ts';

const { path, synchronous, busyTimeoutMs, walBoundPages } = workerData as WriterData;

// Checkpoints are the store's checkpointer thread's, but at the WAL's bound (see openSqliteLedgerStore).
const db = connectSqlite(path, {
  synchronous,
  busyTimeoutMs,
  journalSizeLimit: LEDGER_JOURNAL_SIZE_LIMIT,
  autoCheckpointPages: walBoundPages,
});
const handle = writerOps(db);

parentPort!.on('message', (req: WriterRequest) => {
  let res: WriterResponse;
  try {
    res = handle(req);
  } catch (error) {
    res = failure(req.id, error);
  }
  parentPort!.postMessage(res);
  if (req.op === 'close') parentPort!.close();
});
parentPort!.postMessage({ id: 0, ok: true } satisfies WriterResponse);
