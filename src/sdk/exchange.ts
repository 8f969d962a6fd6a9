/**
 * `exchange()` (RFC 8693, DESIGN §3): the next hop. The agent presents the warrant addressed to it (or, at
 * the root, the person's assertion addressed to it) and receives a warrant for `audience`, narrowed to the
 * grants asked for. The client authenticates with `private_key_jwt`, proves its key with DPoP, and retries
 * once on `use_dpop_nonce` (the STS requires its nonce).
 */
import type { Grant } from '../core/grants/index.ts';
import type { AgentClient } from './agent-client.ts';
import { TOKEN_TYPES } from './agent-client.ts';
import { type HeldWarrant, holdWarrant } from './token-claims.ts';

/** The token to exchange: a warrant addressed to this agent, or at the root a person's assertion. */
export interface Subject {
  readonly token: string;
  /** An RFC 8693 token type (default: a warrant); `TOKEN_TYPES.idToken` / `idJag` at the root. */
  readonly type?: string;
}

/** What the next hop may do. */
export interface HopRequest {
  /** The recipient: an agent's SPIFFE ID or a tool/resource URI (the gateway route's audience). */
  readonly audience: string;
  /** Narrower grants (default: the subject's). */
  readonly grants?: readonly Grant[];
  readonly scope?: string;
  /** The declared intent, carried as `task`. */
  readonly task?: string;
  /** Audiences the recipient may delegate onward to. */
  readonly delegateTo?: readonly string[];
  /** The approval this exchange names (a call that needed a person's approval; see `waitForApproval`). */
  readonly approvalId?: string;
}

export async function exchange(client: AgentClient, subject: Subject, hop: HopRequest): Promise<HeldWarrant> {
  const answer = await client.exchange({
    subjectToken: subject.token,
    subjectTokenType: subject.type ?? TOKEN_TYPES.warrant,
    audience: hop.audience,
    ...(hop.grants ? { grants: hop.grants } : {}),
    ...(hop.scope ? { scope: hop.scope } : {}),
    ...(hop.task ? { task: hop.task } : {}),
    ...(hop.delegateTo ? { delegateTo: hop.delegateTo } : {}),
    ...(hop.approvalId ? { extra: { approval_id: hop.approvalId } } : {}),
  });
  return holdWarrant(answer.access_token);
}
