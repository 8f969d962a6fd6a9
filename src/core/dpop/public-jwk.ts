import type { PublicJwk } from '../jose/jwk.ts';

/** The public members of a key only: no `kid`, `alg`, `use` and never a private member. */
export function publicJwkMembers(jwk: PublicJwk): PublicJwk {
  return jwk.kty === 'OKP'
    ? { kty: 'OKP', crv: jwk.crv, x: jwk.x }
    : { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y };
}
