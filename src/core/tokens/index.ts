export * from './claims.ts';
export * from './kinds.ts';
export * from './sign-token.ts';
export * from './status-list.ts';
export * from './token-types.ts';
export * from './verify-token.ts';
