/**
 * Reading request headers that must appear once. Node keeps only the first `Authorization` in
 * `req.headers` and joins other repeats with `, `; `req.headersDistinct` keeps every line, so a repeat is
 * seen and refused, never resolved by picking one.
 */
import { type ErrorCode, WarrantError } from '../core/errors.ts';

/** Every value of each header by lower-case name, as node:http's `req.headersDistinct` gives them. */
export type HeaderValues = Readonly<Record<string, readonly string[] | undefined>>;

export interface SingleHeaderOptions {
  /**
   * The value can never hold a comma (a compact JWS, a DPoP proof), so a comma is a repeat joined into one
   * line by the client or a proxy.
   */
  readonly noComma?: boolean;
  /** The code of the refusal (default `WARRANT_REQUEST_MALFORMED`). */
  readonly code?: ErrorCode;
  /** Its message (default `header <name> is repeated`). */
  readonly message?: string;
}

/** The one value of header `name`; `undefined` when absent. A repeat throws a `WarrantError`. */
export function singleHeader(
  headers: HeaderValues,
  name: string,
  options: SingleHeaderOptions = {},
): string | undefined {
  const values = headers[name];
  if (values === undefined) return undefined;
  if (values.length !== 1 || (options.noComma === true && values[0]!.includes(',')))
    throw new WarrantError(
      options.code ?? 'WARRANT_REQUEST_MALFORMED',
      options.message ?? `header ${name} is repeated`,
    );
  return values[0];
}
