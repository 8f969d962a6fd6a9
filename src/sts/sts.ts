import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { WarrantConfig } from '../config/types.ts';
import { ChainCache } from '../core/chain/index.ts';
import { VerifiedCache } from '../core/chain/verified-token-cache.ts';
import { DpopNonces, type VerifiedDpopProof, verifyDpopProof } from '../core/dpop/index.ts';
import { WarrantError } from '../core/errors.ts';
import { tokenHash } from '../core/jose/hash.ts';
import type { SigningKeyRing } from '../core/jose/key-set.ts';
import {
  type IdentityClaims,
  signTokenAsync,
  type VerifiedToken,
  type WarrantClaims,
} from '../core/tokens/index.ts';
import { CrossingWatch } from '../federation/crossing-watch.ts';
import { Peers } from '../federation/peers.ts';
import type { ApprovalStore } from '../guard/approvals/store.ts';
import {
  type AgentParty,
  DecisionCache,
  type DelegationGrant,
  decideDelegation,
  type PolicySet,
  type ResourceParty,
} from '../policy/index.ts';
import type { ReplayCache } from '../replay/index.ts';
import type {
  AgentRecord,
  IssuedToken,
  ReplayStore,
  RevokedToken,
  RevokeSelector,
  Store,
} from '../store/ports.ts';
import type { RevocationKind } from '../telemetry/metrics.ts';
import { type AssertionReplay, agentKeys } from './client-auth.ts';
import { peerAgentParty } from './grants/exchange/check-audience.ts';
import { activationDelaySeconds } from './key-refresh.ts';
import { fromWarrantError, OAuthError } from './oauth-error.ts';
import type { KeyVault } from './signing-keys.ts';
import { TrustedIssuers } from './trusted-issuers.ts';

export const STATUS_LIST_ID = '1';

function revocationKind(selector: RevokeSelector): RevocationKind {
  if ('hash' in selector) return 'token';
  if ('txn' in selector) return 'txn';
  if ('agentId' in selector) return 'agent';
  return 'person';
}
/** Status-list slots reserved per store round trip. */
const STATUS_BLOCK = 64;

export interface RevocationEvent {
  readonly reason: string;
  readonly at: number;
  readonly revoked: readonly RevokedToken[];
  /** What was revoked, on the replica that revoked it (events relayed from other replicas have none). */
  readonly kind?: RevocationKind;
}

export interface StsOptions {
  readonly config: WarrantConfig;
  /** The public base URL; endpoints hang below it. */
  readonly issuer: string;
  readonly store: Store;
  readonly keys: SigningKeyRing;
  /** Delegation policy; replaced on reload. */
  readonly policy: PolicySet;
  /** DPoP proof `jti` replay cache (memory or Redis). */
  readonly dpopReplay: ReplayCache;
  /**
   * Where client-assertion `jti`s are remembered. Default: the DPoP replay cache (memory, or Redis shared by
   * replicas) — not the durable store, which would cost a disk write per request for a 5-minute fact.
   */
  readonly assertionReplay?: ReplayStore;
  /** Shared DPoP nonce secret for replicas; random when absent. */
  readonly nonceSecret?: Uint8Array;
  readonly clock?: () => number;
  /** Persists signing keys; required for rotation. */
  readonly vault?: KeyVault;
  /** Reads and validates the delegation policy files again (for reload). */
  readonly loadPolicy?: () => PolicySet;
}

/**
 * The security token service as a transport-free object: the HTTP layer parses requests into parameters
 * and calls it; grant handlers (one file each) use its helpers to authenticate, decide, mint and record.
 */
/** A signing-key rotation this replica performed (told to the other replicas over the bus). */
export interface KeysChangedEvent {
  readonly kid: string;
  /** Epoch seconds from which the new key signs. */
  readonly activeFrom: number;
}

export class Sts {
  readonly config: WarrantConfig;
  readonly issuer: string;
  readonly store: Store;
  readonly keys: SigningKeyRing;
  readonly dpopReplay: ReplayCache;
  readonly assertionReplay: AssertionReplay;
  readonly nonces: DpopNonces;
  readonly trustedIssuers: TrustedIssuers;
  readonly decisions = new DecisionCache();
  readonly chainCache = new ChainCache();
  /** Subject warrants of exchanges already verified, by text (see verifyParent). */
  readonly verifiedParents = new VerifiedCache<VerifiedToken<'warrant'>>(10_000);
  readonly events = new EventEmitter<{ revoked: [RevocationEvent]; 'keys-changed': [KeysChangedEvent] }>();
  readonly clock: () => number;
  /**
   * Since when (epoch ms) this replica's revocation feed carries every revocation, its own and the other
   * replicas' (relayed over Redis); `null` while the relay is down. Without a relay: since ever (0).
   */
  feedCompleteSince: () => number | null = () => 0;
  /**
   * The guard's approvals (src/guard/approvals/), read when an agent exchanges its warrant for one carrying
   * an approval (`approval_id`); absent: such an exchange is refused.
   */
  approvals: Pick<ApprovalStore, 'get'> | undefined = undefined;
  /** Trusted peers (`federation.peers`, DESIGN §11): their keys, limits and revocation status. */
  readonly peers: Peers;
  /** The peer chains this STS accepted, watched for revocation at the peer (started by `startFederation`). */
  readonly crossings: CrossingWatch;
  #policy: PolicySet;
  readonly #vault: KeyVault | undefined;
  readonly #loadPolicy: (() => PolicySet) | undefined;

  constructor(options: StsOptions) {
    this.#vault = options.vault;
    this.#loadPolicy = options.loadPolicy;
    this.config = options.config;
    this.issuer = options.issuer.replace(/\/+$/, '');
    this.store = options.store;
    this.keys = options.keys;
    this.dpopReplay = options.dpopReplay;
    this.assertionReplay = options.assertionReplay ?? {
      consume: (namespace, id, expiresAt, validFrom) =>
        options.dpopReplay.consume(`${namespace}:${id}`, expiresAt, validFrom),
    };
    this.#policy = options.policy;
    this.nonces = new DpopNonces(options.nonceSecret ? { secret: options.nonceSecret } : {});
    this.trustedIssuers = new TrustedIssuers(options.config.sts.trustedIssuers, options.store.issuers);
    this.clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
    this.events.setMaxListeners(0);
    this.peers = new Peers(options.config.federation);
    this.crossings = new CrossingWatch({
      peers: this.peers,
      tokens: this.store.tokens,
      revoke: (hash, reason) => this.revoke({ hash }, reason),
      intervalMs: options.config.federation?.watchIntervalMs ?? 1000,
      clock: this.clock,
    });
  }

  /** Fetches the peers' keys and status lists, subscribes to their feeds, and starts watching crossings. */
  async startFederation(): Promise<void> {
    if (this.peers.size === 0) return;
    await this.peers.start();
    this.crossings.start();
  }

  stopFederation(): void {
    this.crossings.close();
    this.peers.close();
  }

  get policy(): PolicySet {
    return this.#policy;
  }

  get tokenEndpoint(): string {
    return `${this.issuer}/token`;
  }

  get statusListUri(): string {
    return `${this.issuer}/status/${STATUS_LIST_ID}`;
  }

  /** Audiences a client assertion may name. */
  get assertionAudiences(): string[] {
    return [
      this.issuer,
      this.tokenEndpoint,
      `${this.issuer}/introspect`,
      `${this.issuer}/revoke`,
      `${this.issuer}/txn/complete`,
    ];
  }

  /**
   * Verifies the request's DPoP proof for this endpoint. With `expectedJkt`, the proof key must be that key.
   * A missing or stale nonce answers `use_dpop_nonce` with a fresh one.
   */
  async dpop(proof: string | undefined, htu: string, expectedJkt?: string): Promise<VerifiedDpopProof> {
    if (proof === undefined) {
      throw new OAuthError('invalid_dpop_proof', 'WARRANT_DPOP_INVALID', 'a DPoP proof is required', {
        headers: { 'dpop-nonce': this.nonces.issue(this.clock()) },
      });
    }
    const now = this.clock();
    try {
      return await verifyDpopProof(proof, {
        htm: 'POST',
        htu,
        nonce: this.nonces,
        replay: this.dpopReplay,
        now,
        ...(expectedJkt === undefined ? {} : { expectedJkt }),
      });
    } catch (error) {
      if (error instanceof WarrantError) {
        const mapped = fromWarrantError(error);
        throw new OAuthError(mapped.error, mapped.code, mapped.message, {
          cause: error,
          headers: { ...mapped.headers, 'dpop-nonce': this.nonces.issue(now) },
        });
      }
      throw error;
    }
  }

  /** The DPoP key must be one of the agent's registered keys: the sender constraint is the agent itself. */
  requireAgentKey(agent: AgentRecord, proof: VerifiedDpopProof): void {
    if (!agentKeys(agent, this.clock()).some((k) => k.kid === proof.jkt)) {
      throw new OAuthError(
        'invalid_dpop_proof',
        'WARRANT_DPOP_KEY_MISMATCH',
        'the DPoP proof is not signed by the agent key',
      );
    }
  }

  async mintIdentity(
    agent: AgentRecord,
    audience: string,
    jkt: string,
  ): Promise<{ token: string; claims: IdentityClaims }> {
    const now = this.clock();
    const claims: IdentityClaims = {
      iss: this.issuer,
      sub: agent.id,
      aud: audience,
      cnf: { jkt },
      tier: agent.tier,
      iat: now,
      exp: now + Math.min(this.config.sts.identityTokenLifetime, 900),
      jti: randomUUID(),
    };
    const token = await signTokenAsync('identity', claims, this.keys.current);
    await this.store.tokens.record({
      hash: tokenHash(token),
      jti: claims.jti,
      kind: 'identity',
      parentHash: null,
      rootHash: null,
      txn: null,
      sub: agent.id,
      actors: [agent.id],
      audience,
      grantsJson: null,
      policyVersion: null,
      statusList: null,
      statusIdx: null,
      iat: claims.iat,
      exp: claims.exp,
      revokedAt: null,
      revokeReason: null,
    });
    return { token, claims };
  }

  /**
   * The next status-list slot. Slots are reserved from the store in blocks (atomic there, so replicas never
   * share one), sparing a durable write per exchange; slots of a block left unused at shutdown stay clear.
   */
  async #statusSlot(): Promise<number> {
    if (this.#slots.next >= this.#slots.end) {
      this.#reserving ??= this.store.statusLists.allocate(STATUS_LIST_ID, STATUS_BLOCK).then(
        (first) => {
          this.#slots = { next: first, end: first + STATUS_BLOCK };
          this.#reserving = undefined;
        },
        (error: unknown) => {
          this.#reserving = undefined;
          throw error;
        },
      );
      await this.#reserving;
      return this.#statusSlot();
    }
    return this.#slots.next++;
  }
  #slots = { next: 0, end: 0 };
  #reserving: Promise<void> | undefined;

  /** Signs and records a warrant (status slot allocated first); the record is durable before it is returned. */
  async mintWarrant(
    claims: Omit<WarrantClaims, 'iss' | 'jti' | 'status'>,
    parentHash: string | null,
  ): Promise<{ token: string; claims: WarrantClaims; record: IssuedToken }> {
    const idx = await this.#statusSlot();
    const full: WarrantClaims = {
      iss: this.issuer,
      ...claims,
      jti: randomUUID(),
      status: { idx, uri: this.statusListUri },
    };
    const token = await signTokenAsync('warrant', full, this.keys.current);
    const actors: string[] = [];
    for (let a: WarrantClaims['act'] | undefined = full.act; a; a = a.act) actors.push(a.sub);
    const record = await this.store.tokens.record({
      hash: tokenHash(token),
      jti: full.jti,
      kind: 'warrant',
      parentHash,
      rootHash: full.root ?? null,
      txn: full.txn,
      sub: full.sub,
      actors,
      audience: full.aud,
      grantsJson: JSON.stringify(full.grants),
      policyVersion: this.#policy.version,
      statusList: STATUS_LIST_ID,
      statusIdx: idx,
      iat: full.iat,
      exp: full.exp,
      revokedAt: null,
      revokeReason: null,
    });
    if (record.revokedAt !== null) {
      // A revocation of the parent raced this exchange: the child was recorded revoked. Issue nothing.
      throw new OAuthError('invalid_grant', 'WARRANT_PARENT_REVOKED', 'the parent warrant was revoked');
    }
    return { token, claims: full, record };
  }

  /**
   * Revokes what the selector matches and every descendant, then tells every listener. `kind` says why, for
   * the metrics (default: from the selector).
   */
  async revoke(
    selector: RevokeSelector,
    reason: string,
    kind: RevocationKind = revocationKind(selector),
  ): Promise<RevokedToken[]> {
    const at = this.clock();
    const revoked = await this.store.tokens.revoke(selector, reason, at);
    if (revoked.length > 0) this.events.emit('revoked', { reason, at, revoked, kind });
    return revoked;
  }

  /** Replaces the delegation policy; live warrants the new policy would not issue are revoked. */
  setPolicy(policy: PolicySet): void {
    this.#policy = policy;
    this.decisions.clear();
  }

  /**
   * Makes a new signing key: published at once, signing after `sts.keyRotation.activationDelaySeconds`
   * (publish first, so every replica and gateway knows it before any replica signs with it); the old one
   * stays published for the configured overlap after that. Tells the other replicas (`keys-changed`).
   */
  async rotateSigningKey(): Promise<string> {
    return (await this.rotateSigningKeyAt()).kid;
  }

  /** {@link rotateSigningKey}, with the time the new key starts signing (epoch seconds). */
  async rotateSigningKeyAt(): Promise<{ kid: string; activeFrom: number }> {
    if (!this.#vault)
      throw new OAuthError('server_error', 'WARRANT_STS_UNAVAILABLE', 'key rotation needs a key store');
    const { key, activeFrom } = await this.#vault.rotate(
      this.keys,
      this.keys.current.alg,
      this.config.sts.keyRotation.overlapSeconds,
      this.clock(),
      activationDelaySeconds(this.config),
    );
    this.events.emit('keys-changed', { kid: key.kid, activeFrom });
    return { kid: key.kid, activeFrom };
  }

  /**
   * Reads the signing keys from the store again (another replica rotated, or a pending key's activation
   * time came). Returns whether anything this replica signs with or publishes changed.
   */
  async reloadSigningKeys(): Promise<boolean> {
    if (!this.#vault) return false;
    return this.#vault.reload(this.keys, this.keys.current.alg, this.clock());
  }

  /**
   * Reloads the delegation policy from its files (an invalid policy changes nothing), then revokes every
   * live warrant the new policy would no longer issue.
   */
  async reloadPolicy(): Promise<{ version: string; previous: string; revoked: number }> {
    if (!this.#loadPolicy)
      throw new OAuthError('server_error', 'WARRANT_STS_UNAVAILABLE', 'no policy source to reload');
    let next: PolicySet;
    try {
      next = this.#loadPolicy();
    } catch (error) {
      if (error instanceof WarrantError)
        throw new OAuthError('invalid_request', error.code, error.message, { cause: error });
      throw error;
    }
    const previous = this.#policy.version;
    this.setPolicy(next);
    if (next.version === previous) return { version: next.version, previous, revoked: 0 };
    let revoked = 0;
    for (const token of await this.store.tokens.listLive(this.clock())) {
      if (token.kind !== 'warrant' || (await this.store.tokens.isRevoked(token.hash)) !== false) continue;
      if (!(await this.#stillPermitted(token)))
        revoked += (await this.revoke({ hash: token.hash }, `policy changed to ${next.version}`, 'policy'))
          .length;
    }
    return { version: next.version, previous, revoked };
  }

  async #stillPermitted(token: IssuedToken): Promise<boolean> {
    const grants = JSON.parse(token.grantsJson ?? '[]') as DelegationGrant[];
    const depth = token.actors.length - 1;
    const party = async (id: string): Promise<AgentParty | ResourceParty | undefined> => {
      if (!id.startsWith('spiffe://')) return { kind: 'resource', id };
      const a = await this.store.agents.get(id);
      return a
        ? { kind: 'agent', id: a.id, tier: a.tier, trustLevel: a.trustLevel, owner: a.owner }
        : // An agent of a trusted peer (DESIGN §11) is a recipient without being registered here.
          peerAgentParty(this.peers, id);
    };
    // Root: the person handed the first agent; hop: the current actor handed the audience.
    const recipient = depth === 0 ? await party(token.actors[0]!) : await party(token.audience);
    const delegator =
      depth === 0 ? ({ kind: 'person', id: token.sub, issuer: '' } as const) : await party(token.actors[0]!);
    if (!recipient || !delegator || delegator.kind === 'resource') return false;
    return (
      decideDelegation(
        this.#policy,
        { delegator, recipient, grants, depth, person: token.sub },
        this.decisions,
      ).decision === 'allow'
    );
  }

  newTxn(): string {
    return `txn_${randomBytes(12).toString('base64url')}`;
  }
}
