/**
 * Token core: sign, verify, and chain verification of 1, 3 and 5 links cold and cached, each beside raw
 * node:crypto Ed25519 verification of a message of the same size, measured in the same run.
 */
import { sign as nodeSign } from 'node:crypto';
import { ChainCache, verifyChain } from '../src/core/chain/index.ts';
import { signToken, verifyToken } from '../src/core/tokens/index.ts';
import { buildChain, ISSUER } from '../test/support/chains.ts';
import { ed25519Verification, measure, report } from './lib/measure.ts';

export function run(): void {
  const chains = new Map([1, 3, 5].map((n) => [n, buildChain(n)] as const));
  const one = chains.get(1)!;
  const leafToken = one.tokens[0]!;
  const signingInput = Buffer.from(leafToken.slice(0, leafToken.lastIndexOf('.')), 'latin1');
  const baseline = measure('node:crypto Ed25519 verify (raw)', ed25519Verification(signingInput));
  const rows = [
    measure('node:crypto Ed25519 sign (raw)', () => nodeSign(null, signingInput, one.issuerKey.privateKey)),
    measure('signToken warrant', () => signToken('warrant', one.claims[0]!, one.issuerKey)),
    measure('verifyToken warrant', () =>
      verifyToken('warrant', leafToken, { keys: one.keys.resolve, issuer: ISSUER, now: one.now }),
    ),
  ];
  for (const [n, f] of chains) {
    const opts = {
      keys: f.keys.resolve,
      issuer: ISSUER,
      now: f.now,
      audience: f.claims.at(-1)!.aud,
      jkt: f.claims.at(-1)!.cnf.jkt,
    };
    rows.push(measure(`verifyChain ${n} link(s), cold`, () => verifyChain(f.tokens, opts)));
    const cache = new ChainCache();
    rows.push(measure(`verifyChain ${n} link(s), cached`, () => verifyChain(f.tokens, { ...opts, cache })));
  }
  report('token core (cost per operation relative to one raw Ed25519 verification)', baseline, rows);
}
