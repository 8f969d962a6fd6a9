export * from './errors.ts';
export * from './memory-replay-cache.ts';
export * from './redis-connection.ts';
export * from './redis-replay-cache.ts';
export * from './replay-cache.ts';
