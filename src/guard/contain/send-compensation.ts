/**
 * Sends one compensating call and says how it went: `done` on a 2xx answer, `failed` otherwise (the status,
 * or the failure's class — a timeout, a refused connection — never a message or a body).
 */
import type { CompensationRequest } from './compensation-request.ts';

export interface SentCompensation {
  readonly ok: boolean;
  readonly status?: number;
  readonly error?: string;
}

export async function sendCompensation(
  request: CompensationRequest,
  timeoutMs: number,
  fetchImpl: typeof fetch = fetch,
): Promise<SentCompensation> {
  try {
    const response = await fetchImpl(request.url, {
      method: request.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    // The answer is not kept; reading it releases the connection.
    await response.arrayBuffer().catch(() => undefined);
    return { ok: response.status >= 200 && response.status <= 299, status: response.status };
  } catch (error) {
    const e = error as { name?: string; cause?: { code?: string } };
    return {
      ok: false,
      error: e.cause?.code ?? (e.name === 'TimeoutError' ? 'TIMEOUT' : (e.name ?? 'Error')),
    };
  }
}
