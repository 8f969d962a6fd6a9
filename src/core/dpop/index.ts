export * from './create-proof.ts';
export * from './errors.ts';
export * from './memory-replay-cache.ts';
export * from './nonce.ts';
export * from './replay-cache.ts';
export * from './replay-errors.ts';
export * from './verify-proof.ts';
