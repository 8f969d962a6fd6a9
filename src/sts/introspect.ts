import { WarrantError } from '../core/errors.ts';
import { parseCompact } from '../core/jose/jws.ts';
import { TYP, verifyToken } from '../core/tokens/index.ts';
import type { AgentRecord } from '../store/ports.ts';
import type { Sts } from './sts.ts';

/**
 * RFC 7662 introspection for an authenticated agent (or the admin). A token is active only if it is one
 * of ours, valid now and not revoked; an agent learns about tokens it holds or receives, nothing else.
 */
export async function introspect(
  sts: Sts,
  token: string,
  caller: AgentRecord | 'admin',
): Promise<Record<string, unknown>> {
  const inactive = { active: false };
  let kind: 'warrant' | 'identity';
  try {
    const typ = parseCompact(token).header['typ'];
    if (typ === TYP.warrant) kind = 'warrant';
    else if (typ === TYP.identity) kind = 'identity';
    else return inactive;
    const now = sts.clock();
    const verified = verifyToken(kind, token, {
      keys: sts.keys.keySet(now).resolve,
      issuer: sts.issuer,
      now,
    });
    if ((await sts.store.tokens.isRevoked(verified.hash)) !== false) return inactive;
    const claims = verified.claims as unknown as Record<string, unknown>;
    if (caller !== 'admin') {
      const record = await sts.store.tokens.get(verified.hash);
      const involved =
        record !== null && (record.audience === caller.id || record.actors.includes(caller.id));
      if (!involved) return inactive;
    }
    return {
      active: true,
      token_type: 'DPoP',
      token_hash: verified.hash,
      typ: TYP[kind],
      ...claims,
    };
  } catch (error) {
    if (error instanceof WarrantError) return inactive;
    throw error;
  }
}
