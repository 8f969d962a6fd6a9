/** Key id shape checks: pure, so runtime-neutral verification (src/verify/neutral) shares them. */

const KID_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** True when `kid` has the shape of a base64url SHA-256 thumbprint: no paths, quotes or shell syntax. */
export function isThumbprintShape(kid: unknown): kid is string {
  return typeof kid === 'string' && KID_SHAPE.test(kid);
}
