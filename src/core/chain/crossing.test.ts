import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildChain, type ChainFixture, ISSUER, ROOT_GRANTS } from '../../../test/support/chains.ts';
import { ChainError } from '../errors.ts';
import type { Grant } from '../grants/index.ts';
import { tokenHash } from '../jose/hash.ts';
import { generateSigningKey, type SigningKey } from '../jose/jwk.ts';
import { KeySet } from '../jose/key-set.ts';
import { signToken, type WarrantClaims } from '../tokens/index.ts';
import type { PeerLimits, PeerLookup } from './crossing.ts';
import { verifyChain } from './verify-chain.ts';

const PEER = 'https://sts.peer.test';
const OTHER = 'https://sts.other.test';
const peerKey = generateSigningKey('EdDSA');
const otherKey = generateSigningKey('EdDSA');

/**
 * A 4-link chain whose first `boundary` links are issued by PEER (signed with its key), the rest by ISSUER.
 * `issuers` overrides the issuer of each link; `keyOf` the key that signs it.
 */
function crossing(
  options: {
    boundary?: number;
    issuers?: readonly string[];
    keyOf?: (i: number, f: ChainFixture) => SigningKey;
    edit?: (c: WarrantClaims, i: number) => WarrantClaims;
  } = {},
): ChainFixture {
  const f = buildChain(4);
  const boundary = options.boundary ?? 2;
  const issuers = options.issuers ?? f.claims.map((_, i) => (i < boundary ? PEER : ISSUER));
  const keyFor = (iss: string) => (iss === PEER ? peerKey : iss === OTHER ? otherKey : f.issuerKey);
  for (let i = 0; i < f.claims.length; i++) {
    let c: WarrantClaims = { ...f.claims[i]!, iss: issuers[i]! };
    if (i > 0) c = { ...c, prev: tokenHash(f.tokens[i - 1]!), root: tokenHash(f.tokens[0]!) };
    c = options.edit?.(c, i) ?? c;
    f.claims[i] = c;
    f.tokens[i] = signToken('warrant', c, options.keyOf?.(i, f) ?? keyFor(issuers[i]!));
  }
  return f;
}

const LIMITS: PeerLimits = {
  audiences: ['spiffe://warrant.test/agent/*'],
  grants: ROOT_GRANTS as Grant[],
  maxDepth: 1,
};

const lookup =
  (limits: Partial<PeerLimits> = {}): PeerLookup =>
  (iss) =>
    iss === PEER
      ? { issuer: PEER, keys: new KeySet([peerKey]).resolve, limits: { ...LIMITS, ...limits } }
      : iss === OTHER
        ? { issuer: OTHER, keys: new KeySet([otherKey]).resolve, limits: LIMITS }
        : undefined;

const verify = (f: ChainFixture, peers: PeerLookup | null = lookup()) =>
  verifyChain(f.tokens, {
    keys: f.keys.resolve,
    issuer: ISSUER,
    now: f.now,
    audience: f.claims.at(-1)!.aud,
    jkt: f.claims.at(-1)!.cnf.jkt,
    ...(peers === null ? {} : { peers }),
  });

function refuses(f: ChainFixture, code: string, link: number, peers: PeerLookup | null = lookup()) {
  assert.throws(
    () => verify(f, peers),
    (e: unknown) => {
      assert.ok(e instanceof ChainError, String(e));
      assert.equal(e.code, code, e.message);
      assert.equal(e.link, link, e.message);
      return true;
    },
  );
}

describe('chains that cross from a trusted peer (DESIGN §11)', () => {
  test("verifies the peer's links with the peer's keys and this issuer's with its own", () => {
    const f = crossing();
    const chain = verify(f);
    assert.deepEqual(chain.boundary, { index: 2, peer: PEER });
    assert.equal(chain.links.length, 4);
    assert.equal(chain.person.sub, f.claims[0]!.sub);
  });

  test('a chain of own links only has no boundary, with or without peers', () => {
    const f = buildChain(3);
    assert.equal(verify(f).boundary, undefined);
    assert.equal(verify(f, null).boundary, undefined);
  });

  test('without peers configured, a foreign link is refused', () => {
    refuses(crossing(), 'WARRANT_KEY_UNKNOWN', 0, null);
  });

  test('an issuer that is not a configured peer is refused', () => {
    refuses(crossing(), 'WARRANT_PEER_UNKNOWN', 0, () => undefined);
  });

  test("a peer link signed with another key than the peer's is refused", () => {
    // Claims the peer as issuer, signed by this deployment's key: the peer's key set does not hold it.
    refuses(
      crossing({ keyOf: (i, f) => (i === 1 ? f.issuerKey : i < 2 ? peerKey : f.issuerKey) }),
      'WARRANT_KEY_UNKNOWN',
      1,
    );
    // An own link signed by the peer's key.
    refuses(
      crossing({ keyOf: (i, f) => (i < 3 ? (i < 2 ? peerKey : f.issuerKey) : peerKey) }),
      'WARRANT_KEY_UNKNOWN',
      3,
    );
  });

  test('the issuer changes once, from the peer to this deployment, never otherwise', () => {
    refuses(crossing({ issuers: [ISSUER, ISSUER, PEER, ISSUER] }), 'WARRANT_PEER_CHAIN_INVALID', 2);
    refuses(crossing({ issuers: [PEER, PEER, PEER, PEER] }), 'WARRANT_PEER_CHAIN_INVALID', 3);
    refuses(crossing({ issuers: [PEER, ISSUER, PEER, ISSUER] }), 'WARRANT_PEER_CHAIN_INVALID', 2);
    refuses(crossing({ issuers: [PEER, OTHER, ISSUER, ISSUER] }), 'WARRANT_PEER_CHAIN_INVALID', 1);
    refuses(crossing({ issuers: [PEER, 'https://nobody.test', ISSUER, ISSUER] }), 'WARRANT_PEER_UNKNOWN', 1);
  });

  test("the peer's last link is held to the peer's configured limits", () => {
    const f = crossing();
    refuses(f, 'WARRANT_PEER_AUDIENCE_NOT_ALLOWED', 1, lookup({ audiences: ['spiffe://elsewhere/*'] }));
    refuses(f, 'WARRANT_PEER_DEPTH_EXCEEDED', 1, lookup({ maxDepth: 0 }));
    refuses(
      f,
      'WARRANT_PEER_GRANT_EXCEEDED',
      1,
      lookup({ grants: [{ action: 'crm:read', resource: 'crm/*' }] }),
    );
    refuses(f, 'WARRANT_PEER_LIFETIME_EXCEEDED', 1, lookup({ maxLifetimeSeconds: 60 }));
    refuses(f, 'WARRANT_PEER_TRUST_DOMAIN_MISMATCH', 0, lookup({ trustDomain: 'peer.test' }));
    assert.ok(verify(f, lookup({ trustDomain: 'warrant.test', maxLifetimeSeconds: 3600 })));
  });

  test('every other chain rule holds across the boundary', () => {
    // The first own link widens the grants of the peer's last link.
    const wider = crossing({
      edit: (c, i) => (i === 2 ? { ...c, grants: ROOT_GRANTS as Grant[] } : c),
    });
    refuses(wider, 'WARRANT_CHAIN_GRANT_WIDENED', 2);
    // Another transaction, another person.
    refuses(
      crossing({ edit: (c, i) => (i === 2 ? { ...c, txn: 'txn-other' } : c) }),
      'WARRANT_CHAIN_CONTEXT_MISMATCH',
      2,
    );
    refuses(
      crossing({ edit: (c, i) => (i === 2 ? { ...c, sub: 'mallory' } : c) }),
      'WARRANT_CHAIN_CONTEXT_MISMATCH',
      2,
    );
    // Outliving the peer's link.
    refuses(
      crossing({ edit: (c, i) => (i === 2 ? { ...c, exp: c.exp + 3000 } : c) }),
      'WARRANT_CHAIN_LIFETIME_EXTENDED',
      2,
    );
    // The actor history rewritten at the boundary.
    refuses(
      crossing({
        edit: (c, i) =>
          i === 2
            ? {
                ...c,
                act: {
                  sub: c.act.sub,
                  act: { sub: 'spiffe://x/agent/y', ...(c.act.act?.act ? { act: c.act.act.act } : {}) },
                },
              }
            : c,
      }),
      'WARRANT_CHAIN_ACTOR_MISMATCH',
      2,
    );
  });
});
