/**
 * Waiting for a person's approval (DESIGN §6, docs/guard.md "Human approval"): the gateway answered a call
 * `WARRANT_APPROVAL_REQUIRED` with an `approval_id`; the agent polls the STS's `GET /approvals/{id}` (no
 * credential: it answers the status and times, nothing of the call) until the approval is decided. The
 * poll goes to the agent's own STS — never to a URL taken from an answer.
 */

/** The final states of an approval; `pending` is the only one that is not. */
export type ApprovalOutcome = 'approved' | 'denied' | 'expired' | 'withdrawn' | 'used' | 'timeout';

export interface WaitOptions {
  /** Between polls (default 1000 ms, with up to 20 % jitter). */
  readonly intervalMs?: number;
  /** Give up after this long (default 15 min, the default approval lifetime). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export async function waitForApproval(
  issuer: string,
  approvalId: string,
  options: WaitOptions = {},
): Promise<ApprovalOutcome> {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(approvalId)) throw new TypeError('approval id is malformed');
  const url = `${issuer.replace(/\/+$/, '')}/approvals/${approvalId}`;
  const interval = options.intervalMs ?? 1000;
  const deadline = Date.now() + (options.timeoutMs ?? 15 * 60_000);
  for (;;) {
    options.signal?.throwIfAborted();
    const response = await fetch(url, {
      headers: { accept: 'application/json' },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    // A transient failure of the STS is waited out like a pending approval; a missing one is final.
    if (response.status === 404) return 'expired';
    if (response.ok) {
      const { status } = (await response.json()) as { status?: string };
      if (status !== undefined && status !== 'pending') return status as ApprovalOutcome;
    } else {
      await response.body?.cancel();
    }
    if (Date.now() >= deadline) return 'timeout';
    await sleep(
      Math.min(interval * (1 + 0.2 * Math.random()), Math.max(0, deadline - Date.now())),
      options.signal,
    );
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
