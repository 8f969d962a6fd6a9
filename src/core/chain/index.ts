export * from './verified-token-cache.ts';
export * from './verify-chain.ts';
