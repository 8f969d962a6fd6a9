/**
 * The trusted peers of a deployment (`federation.peers`, DESIGN §11), as the STS and the gateway use them:
 * for each peer its keys (peer-keys.ts), the limits on what it may send (from configuration only, never
 * from a token), and its revocation status — its signed status lists and revocation feed, pulled and
 * subscribed to exactly as a gateway does for its own STS (src/verify/revocation-view.ts), with the
 * federation staleness bound.
 */
import type { FederationConfig, PeerConfig } from '../config/types.ts';
import type { PeerLimits, PeerLookup, TrustedPeer } from '../core/chain/crossing.ts';
import { ConfigError } from '../core/errors.ts';
import { type Grant, parseGrants } from '../core/grants/index.ts';
import { RevocationView } from '../verify/revocation-view.ts';
import { PeerKeys } from './peer-keys.ts';

export interface Peer extends TrustedPeer {
  readonly revocation: RevocationView;
  readonly peerKeys: PeerKeys;
}

function peerKeys(peer: PeerConfig, at: string): PeerKeys {
  const given = [peer.jwksUri, peer.jwksFile, peer.jwks].filter((x) => x !== undefined).length;
  if (given > 1) throw new ConfigError(at, 'give at most one of jwksUri, jwksFile and jwks');
  try {
    if (peer.jwks !== undefined) return PeerKeys.fixed(peer.jwks);
    if (peer.jwksFile !== undefined) return PeerKeys.file(peer.jwksFile);
  } catch (error) {
    throw new ConfigError(at, `the peer's keys cannot be read: ${(error as Error).message}`);
  }
  return PeerKeys.remote(peer.jwksUri ?? `${peer.issuer.replace(/\/+$/, '')}/jwks`);
}

function limits(peer: PeerConfig, at: string): PeerLimits {
  let grants: Grant[];
  try {
    grants = parseGrants(peer.grants);
  } catch (error) {
    throw new ConfigError(`${at}/grants`, (error as Error).message);
  }
  return {
    audiences: [...peer.audiences],
    grants,
    maxDepth: peer.maxDepth,
    ...(peer.maxLifetimeSeconds === undefined ? {} : { maxLifetimeSeconds: peer.maxLifetimeSeconds }),
    ...(peer.trustDomain === undefined ? {} : { trustDomain: peer.trustDomain }),
  };
}

export class Peers {
  readonly #byIssuer = new Map<string, Peer>();
  readonly stalenessSeconds: number;

  /** Reads the configuration; throws `ConfigError` naming the option at fault. Contacts nothing yet. */
  constructor(config: FederationConfig | undefined) {
    this.stalenessSeconds = config?.statusStalenessSeconds ?? 60;
    (config?.peers ?? []).forEach((peer, i) => {
      const at = `/federation/peers/${i}`;
      const issuer = peer.issuer.replace(/\/+$/, '');
      if (this.#byIssuer.has(issuer)) throw new ConfigError(`${at}/issuer`, 'this peer is listed twice');
      const keys = peerKeys(peer, at);
      this.#byIssuer.set(issuer, {
        issuer,
        keys: keys.resolve,
        peerKeys: keys,
        limits: limits(peer, at),
        revocation: new RevocationView({
          issuer,
          keys: () => keys.resolve,
          stalenessSeconds: this.stalenessSeconds,
        }),
      });
    });
  }

  get size(): number {
    return this.#byIssuer.size;
  }

  get(issuer: string): Peer | undefined {
    return this.#byIssuer.get(issuer);
  }

  /** The peer whose SPIFFE trust domain is `trustDomain` (its agents may be addressed from here). */
  forTrustDomain(trustDomain: string): Peer | undefined {
    for (const peer of this.#byIssuer.values()) if (peer.limits.trustDomain === trustDomain) return peer;
    return undefined;
  }

  /** For the chain verifier (`VerifyChainOptions.peers`); `undefined` without peers. */
  get lookup(): PeerLookup | undefined {
    return this.#byIssuer.size === 0 ? undefined : (issuer) => this.#byIssuer.get(issuer);
  }

  /** Fetches each peer's keys and status list and subscribes to its feed. A peer that does not answer is
   * not an error here: its chains are refused (unknown keys, stale status) until it does. */
  async start(): Promise<void> {
    await Promise.all(
      [...this.#byIssuer.values()].map(async (peer) => {
        await peer.peerKeys.refresh().catch(() => {});
        await peer.revocation.start();
      }),
    );
  }

  close(): void {
    for (const peer of this.#byIssuer.values()) peer.revocation.close();
  }
}
