/**
 * How a receiver answers a refusal: exactly as the gateway does (src/gateway/gateway-error.ts) — status and
 * `error` from the one error table (src/http/error-table.ts), the RFC 6750 / RFC 9449 `WWW-Authenticate`
 * challenge on 401 (bare when no credentials were sent), a JSON body `{error, error_description, code}`,
 * never a token or a stack. The gateway's own writer is reused, so the two never drift apart.
 */
import type { ServerResponse } from 'node:http';
import { WarrantError } from '../core/errors.ts';
import { GatewayError, sendGatewayError } from '../gateway/gateway-error.ts';

export interface RefusalAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** The Warrant code (`WARRANT_…`). */
  readonly code: string;
}

/**
 * The answer to a failed verification. A `WarrantError` is answered by its code; anything else (a
 * dependency that threw unexpectedly) fails closed as 503 `WARRANT_HOT_STATE_UNAVAILABLE`, without detail.
 */
export function refusalAnswer(error: unknown, resourceMetadata?: string): RefusalAnswer {
  const refusal =
    error instanceof WarrantError
      ? GatewayError.from(error)
      : new GatewayError('WARRANT_HOT_STATE_UNAVAILABLE', 'the request could not be verified now', {
          cause: error,
        });
  let status = 0;
  let headers: Record<string, string> = {};
  let body = '';
  // The gateway writes to a ServerResponse; this one only records what would be written.
  const recorder = {
    writeHead(s: number, h: Record<string, string>) {
      status = s;
      headers = { ...h };
      return recorder;
    },
    end(b: string) {
      body = b;
      return recorder;
    },
  };
  sendGatewayError(recorder as unknown as ServerResponse, refusal, resourceMetadata);
  return { status, headers, body, code: refusal.code };
}
