export * from './memory-replay-cache.ts';
export * from './redis-replay-cache.ts';
export * from './replay-cache.ts';
