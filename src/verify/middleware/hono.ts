/**
 * Hono: `app.use(warrantHono(receiver))`; handlers read `c.get('warrant')` (a `WarrantContext`), or
 * `c.get('txnToken')` behind a `TxnTokenReceiver`. Refusals are answered as the gateway answers them.
 * Declare the variables on your app: `new Hono<{ Variables: WarrantVariables }>()`.
 */
import type { MiddlewareHandler } from 'hono';
import type { HeaderValues } from '../../http/headers.ts';
import type { Verifier, WarrantContext } from '../receiver.ts';
import { refusalAnswer } from '../refusal.ts';
import type { TxnTokenClaims } from '../txn-token.ts';

export interface WarrantVariables {
  warrant: WarrantContext;
  txnToken: TxnTokenClaims;
}

/**
 * Fetch `Headers` join a repeated header into one value; a repeated credential then holds a comma, which
 * the verifier refuses (a compact JWS never has one).
 */
function headerValues(headers: Headers): HeaderValues {
  const out: Record<string, string[]> = {};
  headers.forEach((value, name) => {
    out[name] = [value];
  });
  return out;
}

export function warrantHono(
  verifier: Verifier<WarrantContext> | Verifier<TxnTokenClaims>,
): MiddlewareHandler<{ Variables: WarrantVariables }> {
  return async (c, next) => {
    let result: unknown;
    try {
      result = await (verifier as Verifier<unknown>).verify({
        method: c.req.method,
        htu: c.req.url,
        headers: headerValues(c.req.raw.headers),
      });
    } catch (error) {
      const { status, headers, body } = refusalAnswer(error, verifier.resourceMetadata);
      const { 'content-length': _length, ...rest } = headers;
      return c.body(body, status as 401, rest);
    }
    c.set(verifier.name, result as never);
    await next();
    return undefined;
  };
}
