export * from './create-proof.ts';
export * from './errors.ts';
export * from './nonce.ts';
export * from './verify-proof.ts';
