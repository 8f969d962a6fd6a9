/**
 * Revocation status for the agent side (used by the token pool): the STS's key set and its signed status
 * lists plus its SSE revocation feed, exactly as a gateway or receiver sees them (`warrant/verify`). Checks
 * are synchronous lookups; data older than `stalenessSeconds` answers `stale`.
 */
import { RemoteKeys } from '../verify/remote-keys.ts';
import { RevocationView } from '../verify/revocation-view.ts';

export interface AgentRevocation {
  readonly status: RevocationView;
  close(): void;
}

export async function openRevocationStatus(
  issuer: string,
  options: { stalenessSeconds?: number } = {},
): Promise<AgentRevocation> {
  const base = issuer.replace(/\/+$/, '');
  const keys = new RemoteKeys(base);
  await keys.refresh();
  const status = new RevocationView({
    issuer: base,
    keys: () => keys.resolve,
    stalenessSeconds: options.stalenessSeconds ?? 30,
  });
  await status.start();
  return { status, close: () => status.close() };
}
