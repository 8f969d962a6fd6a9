/**
 * The runtime-neutral core of `warrant/verify`: warrant and `Warrant-Chain` verification with given keys,
 * on WebCrypto only — no node built-ins anywhere in its module graph (neutral.test.ts checks the graph,
 * browser.test.ts runs it in Chromium). The rules are the core's own modules; only the crypto differs.
 */
export * from './base64url.ts';
export * from './crypto.ts';
export * from './dpop.ts';
export * from './jws.ts';
export * from './verify-chain.ts';
export * from './verify-presented.ts';
