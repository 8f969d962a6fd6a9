/**
 * How busy this process is: the requests its servers are answering now (the STS's and the gateway's
 * handlers count them with `countRequest`). Work that can run inline or on libuv's thread pool (signatures,
 * the WAL's fdatasync) asks `servingOne()`: with other requests in flight the pool frees the event loop for
 * them; with one request at a time there is nothing to serve meanwhile, and a pool round trip only adds two
 * thread wake-ups to that request's latency — measured at c=1 on the 2-core machine: a 76 µs DPoP
 * verification took 289 µs of wall time through the pool, 169 µs inline (issue 13).
 */
export const requestsInFlight = { count: 0 };

/**
 * Counts `res`'s request as in flight until the response closes (finished or aborted). A response that
 * emits no events (an in-process test double) is not counted.
 */
export function countRequest(res: { once?(event: 'close', listener: () => void): unknown }): void {
  if (typeof res.once !== 'function') return;
  requestsInFlight.count++;
  res.once('close', () => {
    requestsInFlight.count--;
  });
}

/** Whether this process is answering at most one request now (then inline beats the thread pool). */
export function servingOne(): boolean {
  return requestsInFlight.count <= 1;
}
