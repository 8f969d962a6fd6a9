export * from './crossing.ts';
export * from './verified-token-cache.ts';
export * from './verify-chain.ts';
