// The Redis adapter of the replay-cache port; the port, its errors and the in-process adapter live in the
// core (src/core/dpop/) and are re-exported here so a composition root finds every adapter in one place.
export * from '../core/dpop/memory-replay-cache.ts';
export * from '../core/dpop/replay-cache.ts';
export * from '../core/dpop/replay-errors.ts';
export * from './redis-connection.ts';
export * from './redis-replay-cache.ts';
