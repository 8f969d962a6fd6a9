/**
 * How busy this process is: the requests its servers are answering now (the STS's and the gateway's
 * handlers count them with `countRequest`). Work that can run inline or on libuv's thread pool (signatures,
 * the WAL's fdatasync, the ledger's commit) asks `servingOne()`: with other requests in flight the pool
 * frees the event loop for them; with one request at a time there is nothing to serve meanwhile, and a pool
 * round trip only adds two thread wake-ups to that request's latency — measured at c=1 on the 2-core
 * machine: a 76 µs DPoP verification took 289 µs of wall time through the pool, 169 µs inline (issue 13).
 *
 * A response that becomes a long-lived stream (the STS's revocation feed that every gateway keeps open, an
 * MCP event stream, the dashboard's decision stream) waits for events; it does not keep the process busy,
 * so `streaming` stops counting it. Otherwise one connected gateway would make the STS look busy forever.
 */
export const requestsInFlight = { count: 0 };

/** The responses counted and not yet uncounted (closed, or turned into a stream). */
const counted = new WeakSet<object>();

/**
 * Counts `res`'s request as in flight until the response closes (finished or aborted) or becomes a
 * stream. A response that emits no events (an in-process test double) is not counted.
 */
export function countRequest(res: { once?(event: 'close', listener: () => void): unknown }): void {
  if (typeof res.once !== 'function') return;
  requestsInFlight.count++;
  counted.add(res);
  res.once('close', () => {
    if (counted.delete(res)) requestsInFlight.count--;
  });
}

/** `res` has become a long-lived stream: it no longer counts as a request in flight. */
export function streaming(res: object): void {
  if (counted.delete(res)) requestsInFlight.count--;
}

/** Whether this process is answering at most one request now (then inline beats the thread pool). */
export function servingOne(): boolean {
  return requestsInFlight.count <= 1;
}
