/**
 * Row ↔ record mapping for the SQL stores. Both drivers return snake_case columns with the same JS types
 * (text as string, integers as number — PostgreSQL's BIGINT parsed to one —, bytes as a Uint8Array, JSON
 * as text), so one mapping serves both. Each record kind is one table of `field: [column, codec]`: its
 * column list, its row reader and the positional values of its INSERT all come from that table, so they
 * cannot drift apart.
 */
import type { Row } from './row.ts';

/** What a column takes: both drivers bind these as TEXT, INTEGER/BIGINT, BLOB/BYTEA or NULL. */
export type ColumnValue = string | number | Uint8Array | null;

/** How one field is read from its column and written to it. */
export interface Codec<T> {
  read(value: unknown): T;
  write(value: T): ColumnValue;
}

const IDENTITY: Codec<unknown> = { read: (value) => value, write: (value) => value as ColumnValue };
/** Text (and nullable text) arrives as the JS value it is. */
export const asIs = <T>(): Codec<T> => IDENTITY as Codec<T>;
export const int: Codec<number> = { read: (value) => Number(value), write: (value) => value };
export const nullableInt: Codec<number | null> = {
  read: (value) => (value === null ? null : Number(value)),
  write: (value) => value,
};
export const json = <T>(): Codec<T> => ({
  read: (value) => JSON.parse(value as string) as T,
  write: (value) => JSON.stringify(value),
});
export const nullableJson = <T>(): Codec<T | null> => ({
  read: (value) => (value === null ? null : (JSON.parse(value as string) as T)),
  write: (value) => (value === null ? null : JSON.stringify(value)),
});

/** One record kind's columns, in table (and INSERT) order. */
export interface RecordTable<R> {
  /** `a, b, c`: for SELECT lists and INSERT column lists. */
  readonly columns: string;
  /** `x.a, x.b, x.c`: the columns of the table aliased `x` in a join. */
  columnsOf(alias: string): string;
  fromRow(row: Row): R;
  /** Positional values in `columns` order. */
  values(record: R): ColumnValue[];
}

export function recordTable<R>(
  spec: { readonly [K in keyof R]-?: readonly [string, Codec<R[K]>] },
): RecordTable<R> {
  const fields = Object.keys(spec) as (keyof R)[];
  const columns = fields.map((f) => spec[f][0]);
  const codecs = fields.map((f) => spec[f][1] as Codec<unknown>);
  return {
    columns: columns.join(', '),
    columnsOf: (alias) => columns.map((c) => `${alias}.${c}`).join(', '),
    fromRow(row) {
      const record = {} as Record<keyof R, unknown>;
      for (let i = 0; i < fields.length; i++) record[fields[i]!] = codecs[i]!.read(row[columns[i]!]);
      return record as R;
    },
    values(record) {
      const values = new Array<ColumnValue>(fields.length);
      for (let i = 0; i < fields.length; i++) values[i] = codecs[i]!.write(record[fields[i]!]);
      return values;
    },
  };
}
