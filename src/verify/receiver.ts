/**
 * Verifying warrants in your own service (docs/verify.md): the gateway's authentication steps — DPoP proof,
 * warrant or `Warrant-Chain`, revocation through the STS's status lists and feed, failing closed past the
 * staleness bound — as one object a service starts once and asks per request. The framework adapters
 * (`middleware/*.ts`) are thin shells over `Verifier.verify`; so is `TxnTokenReceiver`, which an upstream
 * behind the gateway uses to check the gateway's Transaction Token instead.
 */
import type { VerifiedChain } from '../core/chain/index.ts';
import { ChainCache } from '../core/chain/index.ts';
import { WarrantError } from '../core/errors.ts';
import type { Grant } from '../core/grants/index.ts';
import type { KeyResolver } from '../core/jose/jws.ts';
import type { Actor, WarrantClaims } from '../core/tokens/claims.ts';
import { type HeaderValues, singleHeader } from '../http/headers.ts';
import { MemoryReplayCache, type ReplayCache } from '../replay/index.ts';
import { RemoteKeys } from './remote-keys.ts';
import { type RevocationStatus, RevocationView } from './revocation-view.ts';
import { TXN_TOKEN_HEADER, TXN_TOKEN_JWKS_PATH, type TxnTokenClaims, verifyTxnToken } from './txn-token.ts';
import { CredentialsMissingError, type PresentedRequest, verifyPresented } from './verify-presented.ts';

/** What a handler learns about a verified caller. */
export interface WarrantContext {
  /** The natural person the work is for (`sub`) and the issuer that authenticated them (`sub_iss`). */
  readonly person: { readonly sub: string; readonly iss: string };
  /** The agents that carried the work, from the first one to the caller (the current holder). */
  readonly actorChain: readonly string[];
  /** The structured grants the caller holds here (they only narrow along the chain). */
  readonly grants: readonly Grant[];
  /** The transaction id shared by the whole chain. */
  readonly txn: string;
  /** The declared intent, when the chain has one. */
  readonly task: string | undefined;
  /** The presented warrant's verified claims. */
  readonly claims: WarrantClaims;
  /** The presented warrant's hash (its stable identifier; never log the token itself). */
  readonly warrant: string;
  /** The whole verified chain, when the caller presented a `Warrant-Chain`. */
  readonly chain: VerifiedChain | undefined;
  /** The RFC 7638 thumbprint of the caller's key, proven by its DPoP proof. */
  readonly presenter: string;
}

/** Anything the framework adapters can run per request: a `WarrantReceiver` or a `TxnTokenReceiver`. */
export interface Verifier<T> {
  /** Where the adapters put the result: `req.warrant` / `c.get('warrant')`, or `txnToken`. */
  readonly name: 'warrant' | 'txnToken';
  verify(request: PresentedRequest): Promise<T>;
  /** The RFC 9728 metadata URL named in 401 challenges, if the service publishes one. */
  readonly resourceMetadata?: string | undefined;
}

export interface WarrantReceiverOptions {
  /** The STS whose warrants are accepted (its URL: keys at `/jwks`, status lists, revocation feed). */
  readonly issuer: string;
  /** This service's audience id: a warrant addressed to anything else is refused. */
  readonly audience: string;
  /**
   * The origin clients address this service at (`https://api.example.com`): the DPoP proofs' `htu` is
   * checked against it. Default: the request's own scheme and `Host` (fine behind no proxy).
   */
  readonly publicUrl?: string;
  /**
   * Seconds revocation data may be old before every check fails closed (`WARRANT_STATUS_STALE`, 503);
   * default 30, like the gateway's `statusStalenessSeconds`.
   */
  readonly stalenessSeconds?: number;
  /** Where DPoP `jti`s are consumed; default in memory (use Redis, src/replay, across replicas). */
  readonly replay?: ReplayCache;
  /** The STS's keys; default fetched from `<issuer>/jwks` (and again on an unknown kid). */
  readonly keys?: () => KeyResolver;
  /** Revocation data; default a `RevocationView` on the issuer's status lists and SSE feed. */
  readonly revocation?: RevocationStatus;
  /** RFC 9728 metadata URL for 401 challenges. */
  readonly resourceMetadata?: string;
  /** Epoch seconds (tests); default the clock. */
  readonly now?: () => number;
}

/** The `htu` of a request as this service was addressed: the public origin (or scheme + Host) and path. */
export function requestHtu(origin: string, url: string): string {
  let path: string;
  try {
    path = url.startsWith('/') ? url : new URL(url).pathname;
  } catch {
    throw new WarrantError('WARRANT_HOST_INVALID', 'the request URL is not valid');
  }
  return `${origin.replace(/\/+$/, '')}${path.split('?')[0]!.split('#')[0]!}`;
}

/**
 * A recipient of warrants. `start` loads the STS keys and revocation data (and keeps the feed open);
 * `verify` checks one request and resolves the caller, or throws a `WarrantError` whose code the
 * adapters answer exactly as the gateway does; `close` stops the feed.
 */
export class WarrantReceiver implements Verifier<WarrantContext> {
  readonly #o: WarrantReceiverOptions;
  readonly #keys: () => KeyResolver;
  readonly #revocation: RevocationStatus;
  readonly #view: RevocationView | undefined;
  readonly #replay: ReplayCache;
  readonly #cache = new ChainCache();
  readonly #ownsReplay: boolean;
  readonly name = 'warrant';

  private constructor(options: WarrantReceiverOptions, keys: () => KeyResolver) {
    this.#o = options;
    this.#keys = keys;
    const issuer = options.issuer.replace(/\/+$/, '');
    this.#view =
      options.revocation === undefined
        ? new RevocationView({ issuer, keys, stalenessSeconds: options.stalenessSeconds ?? 30 })
        : undefined;
    this.#revocation = options.revocation ?? this.#view!;
    this.#ownsReplay = options.replay === undefined;
    this.#replay = options.replay ?? new MemoryReplayCache();
  }

  /** Starts a receiver: fetches the STS keys (unless given) and the revocation data. */
  static async start(options: WarrantReceiverOptions): Promise<WarrantReceiver> {
    let keys = options.keys;
    if (keys === undefined) {
      const remote = new RemoteKeys(options.issuer.replace(/\/+$/, ''));
      await remote.refresh();
      keys = () => remote.resolve;
    }
    const receiver = new WarrantReceiver(options, keys);
    await receiver.#view?.start();
    return receiver;
  }

  get resourceMetadata(): string | undefined {
    return this.#o.resourceMetadata;
  }

  /** The revocation view this receiver keeps (undefined when one was given). */
  get revocation(): RevocationView | undefined {
    return this.#view;
  }

  /**
   * Verifies one request. `request.htu` is the URL as the request arrived (`http://host/path`, or just the
   * path when `publicUrl` is set); with `publicUrl`, its origin replaces the request's.
   */
  async verify(request: PresentedRequest): Promise<WarrantContext> {
    const htu =
      this.#o.publicUrl !== undefined
        ? requestHtu(this.#o.publicUrl, request.htu)
        : request.htu.startsWith('/')
          ? missingOrigin()
          : requestHtu(originOf(request.htu), request.htu);
    const presented = await verifyPresented(
      { ...request, htu },
      {
        issuer: this.#o.issuer.replace(/\/+$/, ''),
        keys: this.#keys(),
        audience: this.#o.audience,
        replay: this.#replay,
        revocation: this.#revocation,
        now: this.#o.now?.() ?? Math.floor(Date.now() / 1000),
        cache: this.#cache,
      },
    );
    const c = presented.leaf.claims;
    return Object.freeze({
      person: presented.chain?.person ?? Object.freeze({ sub: c.sub, iss: c.sub_iss }),
      actorChain: presented.chain?.actors ?? Object.freeze(actorsOf(c.act)),
      grants: c.grants,
      txn: c.txn,
      task: c.task,
      claims: c,
      warrant: presented.leaf.hash,
      chain: presented.chain,
      presenter: presented.proof.jkt,
    });
  }

  async close(): Promise<void> {
    this.#view?.close();
    if (this.#ownsReplay) await this.#replay.close?.();
  }
}

function missingOrigin(): never {
  throw new WarrantError('WARRANT_HOST_INVALID', 'the request has no Host (or set publicUrl)');
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    throw new WarrantError('WARRANT_HOST_INVALID', 'the request URL is not valid');
  }
}

function actorsOf(act: Actor): string[] {
  const out: string[] = [];
  for (let a: Actor | undefined = act; a; a = a.act) out.push(a.sub);
  return out.reverse();
}

export interface TxnTokenReceiverOptions {
  /** The gateway's public URL: its key set is fetched from `<gateway>/.well-known/txn-token-jwks.json`. */
  readonly gateway: string;
  /** This upstream's audience (the gateway route's `audience`). */
  readonly audience: string;
  /** Require `iss` to be the gateway URL (default true). */
  readonly checkIssuer?: boolean;
  /** Where Txn-Token `jti`s are consumed (single use); default in memory. */
  readonly replay?: ReplayCache;
  /** The gateway's keys, instead of fetching them. */
  readonly keys?: () => KeyResolver;
  readonly now?: () => number;
}

/**
 * An upstream behind the gateway: it trusts the gateway, and checks each call's `Txn-Token` header (never
 * the plain `warrant-*` headers, which anyone reaching the upstream directly could send).
 */
export class TxnTokenReceiver implements Verifier<TxnTokenClaims> {
  readonly #o: TxnTokenReceiverOptions;
  readonly #keys: () => KeyResolver;
  readonly #replay: ReplayCache;
  readonly resourceMetadata = undefined;
  readonly name = 'txnToken';

  private constructor(options: TxnTokenReceiverOptions, keys: () => KeyResolver) {
    this.#o = options;
    this.#keys = keys;
    this.#replay = options.replay ?? new MemoryReplayCache();
  }

  static async start(options: TxnTokenReceiverOptions): Promise<TxnTokenReceiver> {
    let keys = options.keys;
    if (keys === undefined) {
      const gateway = options.gateway.replace(/\/+$/, '');
      const remote = new RemoteKeys(gateway, `${gateway}${TXN_TOKEN_JWKS_PATH}`);
      await remote.refresh();
      keys = () => remote.resolve;
    }
    return new TxnTokenReceiver(options, keys);
  }

  async verify(request: { readonly headers: HeaderValues }): Promise<TxnTokenClaims> {
    const token = singleHeader(request.headers, TXN_TOKEN_HEADER, { noComma: true });
    if (token === undefined) throw new CredentialsMissingError();
    return verifyTxnToken(token, {
      keys: this.#keys(),
      audience: this.#o.audience,
      ...(this.#o.checkIssuer === false ? {} : { issuer: this.#o.gateway.replace(/\/+$/, '') }),
      replay: this.#replay,
      ...(this.#o.now ? { now: this.#o.now() } : {}),
    });
  }

  async close(): Promise<void> {
    await this.#replay.close?.();
  }
}
