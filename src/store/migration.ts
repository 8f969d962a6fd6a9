export type { Migration } from '../sql/migration.ts';
