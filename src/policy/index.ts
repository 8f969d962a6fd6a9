export * from './call-input.ts';
export * from './decision-cache.ts';
export * from './delegation.ts';
export * from './policy-error.ts';
export * from './policy-set.ts';
export type * from './types.ts';
