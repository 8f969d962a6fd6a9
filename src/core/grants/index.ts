export * from './constraint.ts';
export * from './covering-grant.ts';
export * from './data-class.ts';
export * from './grant.ts';
export * from './is-within.ts';
export * from './narrow.ts';
export * from './pattern.ts';
export * from './scope.ts';
