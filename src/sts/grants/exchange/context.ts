import type { GuardConfig, StsConfig } from '../../../config/types.ts';
import type { VerifiedCache } from '../../../core/chain/verified-token-cache.ts';
import type { VerifiedChain } from '../../../core/chain/verify-chain.ts';
import type { VerifiedDpopProof } from '../../../core/dpop/index.ts';
import type { Grant } from '../../../core/grants/index.ts';
import type { KeyResolver } from '../../../core/jose/jws.ts';
import type { MayDelegate, VerifiedToken, WarrantClaims } from '../../../core/tokens/index.ts';
import type { CrossingWatch } from '../../../federation/crossing-watch.ts';
import type { Peers } from '../../../federation/peers.ts';
import type { Approval, ApprovalStore } from '../../../guard/approvals/store.ts';
import type { DecisionCache, PolicySet } from '../../../policy/index.ts';
import type { AgentRecord, AgentStore, IssuedToken, Store, TokenStore } from '../../../store/ports.ts';
import type { AssertionReplay } from '../../client-auth.ts';
import type { Person } from '../../person-assertion.ts';
import type { TrustedIssuers } from '../../trusted-issuers.ts';
import type { TokenRequest, TokenResponse } from '../types.ts';
import type { Recipient } from './check-audience.ts';
import type { StartedReads } from './start-reads.ts';

/**
 * What the exchange uses of the STS, and nothing else. `Sts` is one; each check's type names the few members
 * it needs, so a unit test hands it a small fake.
 */
export interface ExchangeServices {
  /** This STS: the `iss` of what it signs, and the audience of identity tokens and ID-JAGs. */
  readonly issuer: string;
  readonly tokenEndpoint: string;
  /** Epoch seconds. */
  readonly clock: () => number;
  readonly config: {
    readonly sts: Pick<StsConfig, 'warrantLifetime' | 'hopLifetime' | 'maxDepth'>;
    readonly guard?: Pick<GuardConfig, 'approvals'>;
  };
  /** The STS's own verification keys (warrants and identity tokens it issued). */
  readonly keys: {
    keySet(now: number): { readonly resolve: KeyResolver };
    /** Whether key `kid` is still trusted at `now` (current, or retired and inside its overlap). */
    trusts?(kid: string, now: number): boolean;
  };
  /**
   * Subject warrants already verified, by exact text (see verifyParent); absent: every exchange verifies
   * the signature again.
   */
  readonly verifiedParents?: VerifiedCache<VerifiedToken<'warrant'>>;
  readonly store: {
    readonly agents: AgentStore;
    readonly tokens: Pick<TokenStore, 'isRevoked'>;
    readonly exchangeReads?: Store['exchangeReads'];
  };
  /** Client-assertion `jti`s (and ID-JAG `jti`s) already seen. */
  readonly assertionReplay: AssertionReplay;
  /** Audiences a client assertion may name. */
  readonly assertionAudiences: readonly string[];
  readonly trustedIssuers: Pick<TrustedIssuers, 'verify'>;
  readonly policy: PolicySet;
  readonly decisions: DecisionCache;
  /** The guard's approvals, for an exchange naming one (`approval_id`); absent: refused. */
  readonly approvals?: Pick<ApprovalStore, 'get'> | undefined;
  dpop(proof: string | undefined, htu: string): Promise<VerifiedDpopProof>;
  requireAgentKey(agent: AgentRecord, proof: VerifiedDpopProof): void;
  mintWarrant(
    claims: Omit<WarrantClaims, 'iss' | 'jti' | 'status'>,
    parentHash: string | null,
  ): Promise<{ token: string; claims: WarrantClaims; record: IssuedToken }>;
  newTxn(): string;
  /** Trusted peers (`federation.peers`, DESIGN §11); absent or empty: every peer's warrant is refused. */
  readonly peers?: Peers;
  /** Where accepted peer chains are watched for revocation at the peer (federation/crossing-watch.ts). */
  readonly crossings?: CrossingWatch;
}

/**
 * One exchange request as the checks see it. Each field is written by one check and read by the later ones
 * (the order is the check list's); until its check has run a field holds `undefined`.
 */
export interface ExchangeContext {
  readonly services: ExchangeServices;
  readonly params: Map<string, string>;
  /** The DPoP header, if any. */
  readonly dpop: string | undefined;
  /** The `Warrant-Chain` header, if any (a peer's chain, DESIGN §11). */
  readonly warrantChain: string | undefined;
  /** Crossing only, `verifyPeerChain`: the peer's verified chain (its leaf is `parent`). */
  peerChain: VerifiedChain | undefined;
  /** `startReads`: the agent and subject-warrant reads started before verification (PostgreSQL). */
  reads: StartedReads | undefined;
  /** `verifyDpop` */
  proof: VerifiedDpopProof;
  /** The exchange's time (epoch seconds): taken by `verifyParent` (hop) or `rootLifetime` (root). */
  now: number;
  /** `authenticateCaller`: the agent asking (it becomes the newest actor). */
  caller: AgentRecord;
  /** `parseRequest` (a jwt-bearer ID-JAG: the grant sets both). */
  subjectType: string;
  subjectToken: string;
  /** `parseRequest` or `resolveResource`: whom the warrant is for. */
  audience: string;
  /** `checkAudience` */
  recipient: Recipient;
  /** Root only, `verifyPerson`: the person who delegates. */
  person: Person;
  /** Hop only, `verifyParent`: the warrant being narrowed. */
  parent: VerifiedToken<'warrant'>;
  /** `narrowGrants` / `rootGrants` */
  grants: Grant[];
  /** `checkLifetime` / `rootLifetime`: the new warrant's times. */
  iat: number;
  exp: number;
  /** `limitMayDelegate` / `rootMayDelegate` */
  mayDelegate: MayDelegate;
  /** `readTask` */
  task: string | undefined;
  /** Approval exchange only, `loadApproval`: the approved approval the new warrant carries. */
  approval: Approval;
  /** `mintHop` / `mintRoot` */
  response: TokenResponse;
}

/** One named step. It reads what earlier steps wrote, writes its own part, and throws an `OAuthError` to refuse. */
export type Check<C = ExchangeContext> = (ctx: C) => void | Promise<void>;

/** A fresh context: every field a check writes starts `undefined` (one object of one shape per request). */
export function exchangeContext(services: ExchangeServices, request: TokenRequest): ExchangeContext {
  return {
    services,
    params: request.params,
    dpop: request.dpop,
    warrantChain: request.warrantChain,
    peerChain: undefined,
    reads: undefined,
    proof: undefined,
    now: undefined,
    caller: undefined,
    subjectType: undefined,
    subjectToken: undefined,
    audience: undefined,
    recipient: undefined,
    person: undefined,
    parent: undefined,
    grants: undefined,
    iat: undefined,
    exp: undefined,
    mayDelegate: undefined,
    task: undefined,
    approval: undefined,
    response: undefined,
  } as unknown as ExchangeContext;
}

/** Runs `checks` in order on `ctx`, awaiting only the ones that return a promise; the first refusal ends it. */
export async function runChecks(checks: readonly Check[], ctx: ExchangeContext): Promise<void> {
  for (const check of checks) {
    const pending = check(ctx);
    if (pending !== undefined) await pending;
  }
}
