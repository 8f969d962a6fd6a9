import { TokenError } from '../errors.ts';
import { type Grant, parseGrants } from '../grants/index.ts';
import { isThumbprintShape } from '../jose/kid.ts';
import { EXCLUSIVE_CLAIMS, MAX_LIFETIME } from './kinds.ts';
import type { TokenKind } from './token-types.ts';

export interface Actor {
  readonly sub: string;
  readonly act?: Actor;
}

/** `false`: the holder may not exchange further. Otherwise the audiences (patterns) and tiers it may delegate to. */
export type MayDelegate = false | { readonly aud: readonly string[]; readonly tiers?: readonly string[] };

export interface StatusRef {
  readonly idx: number;
  readonly uri: string;
}

interface CommonClaims {
  readonly iss: string;
  readonly iat: number;
  readonly exp: number;
  readonly nbf?: number;
  readonly jti: string;
}

export interface IdentityClaims extends CommonClaims {
  readonly sub: string;
  readonly aud: string | readonly string[];
  readonly cnf: { readonly jkt: string };
  readonly tier: string;
  readonly status?: StatusRef;
}

export interface Approval {
  readonly id: string;
  readonly approver: string;
  readonly at: number;
  readonly action: string;
  readonly digest: string;
}

export interface WarrantClaims extends CommonClaims {
  readonly sub: string;
  readonly sub_iss: string;
  readonly act: Actor;
  readonly aud: string;
  readonly scope: string;
  readonly grants: readonly Grant[];
  readonly txn: string;
  readonly task?: string;
  readonly prev?: string;
  readonly root?: string;
  readonly depth: number;
  readonly max_depth: number;
  readonly may_delegate: MayDelegate;
  readonly cnf: { readonly jkt: string };
  /** Required: a warrant without a status-list entry could never be revoked (DESIGN §3, §4). */
  readonly status: StatusRef;
  readonly apv?: Approval;
  /** RFC 8693 §4.4: the only party that may exchange this warrant (the STS enforces it at exchange). */
  readonly may_act?: MayAct;
}

/** RFC 8693 §4.4 `may_act`: the party authorised to act for the subject, by `sub` (and optionally `iss`). */
export interface MayAct {
  readonly sub: string;
  readonly iss?: string;
}

export interface StatusListClaims {
  readonly iss: string;
  readonly sub: string;
  readonly iat: number;
  readonly exp?: number;
  readonly ttl?: number;
  readonly status_list: { readonly bits: 1 | 2 | 4 | 8; readonly lst: string };
}

export interface ClaimsByKind {
  identity: IdentityClaims;
  warrant: WarrantClaims;
  statusList: StatusListClaims;
}

/** Longest string accepted in any claim; ids, URIs and names are far shorter. */
const MAX_STRING = 2048;
const MAX_ACTOR_NESTING = 32;
const HASH_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/**
 * The closed claim sets (DESIGN §3): a claim not listed for a kind is refused (`WARRANT_CLAIM_UNKNOWN`),
 * never ignored, so a signed token means exactly what its verifier reads. Claims that belong to another
 * kind are refused first, as `WARRANT_CLAIM_INVALID` (see `EXCLUSIVE_CLAIMS`).
 */
export const ALLOWED_CLAIMS: Readonly<Record<'identity' | 'warrant', ReadonlySet<string>>> = Object.freeze({
  identity: new Set(['iss', 'sub', 'aud', 'cnf', 'tier', 'status', 'iat', 'nbf', 'exp', 'jti']),
  warrant: new Set([
    'iss',
    'sub',
    'sub_iss',
    'act',
    'aud',
    'scope',
    'grants',
    'txn',
    'task',
    'prev',
    'root',
    'depth',
    'max_depth',
    'may_delegate',
    'may_act',
    'cnf',
    'status',
    'apv',
    'iat',
    'nbf',
    'exp',
    'jti',
  ]),
});

/** Longest claim name quoted in an error; a longer one is named by its length only. */
const MAX_QUOTED_NAME = 64;

function refuseUnknown(c: Record<string, unknown>, kind: 'identity' | 'warrant'): void {
  const allowed = ALLOWED_CLAIMS[kind];
  for (const name of Object.keys(c)) {
    if (allowed.has(name)) continue;
    const shown =
      /^[\x21-\x7e]+$/.test(name) && name.length <= MAX_QUOTED_NAME ? name : '(unprintable or long name)';
    throw new TokenError('WARRANT_CLAIM_UNKNOWN', `claim ${shown} is not a ${kind} claim`);
  }
}

const missing = (name: string) => new TokenError('WARRANT_CLAIM_MISSING', `claim ${name} is missing`);
const invalid = (name: string, what: string) =>
  new TokenError('WARRANT_CLAIM_INVALID', `claim ${name} ${what}`);

function str(c: Record<string, unknown>, name: string, required = true): string | undefined {
  const v = c[name];
  if (v === undefined) {
    if (required) throw missing(name);
    return undefined;
  }
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_STRING)
    throw invalid(name, 'must be a non-empty string');
  return v;
}

function int(c: Record<string, unknown>, name: string, required = true): number | undefined {
  const v = c[name];
  if (v === undefined) {
    if (required) throw missing(name);
    return undefined;
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw invalid(name, 'must be a non-negative integer');
  return v;
}

function hashClaim(c: Record<string, unknown>, name: string): string {
  const v = str(c, name)!;
  if (!HASH_SHAPE.test(v)) throw invalid(name, 'must be a base64url SHA-256 token hash');
  return v;
}

function cnf(c: Record<string, unknown>): { jkt: string } {
  const v = c['cnf'];
  if (v === undefined) throw missing('cnf');
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid('cnf', 'must be an object');
  const keys = Object.keys(v);
  const jkt = (v as Record<string, unknown>)['jkt'];
  if (keys.length !== 1 || !isThumbprintShape(jkt))
    throw invalid('cnf', 'must be {jkt: <RFC 7638 thumbprint>}');
  return { jkt };
}

function status(c: Record<string, unknown>): StatusRef | undefined {
  const v = c['status'];
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid('status', 'must be an object');
  const r = v as Record<string, unknown>;
  if (Object.keys(r).some((k) => k !== 'idx' && k !== 'uri')) throw invalid('status', 'has unknown members');
  const idx = int(r, 'idx')!;
  const uri = str(r, 'uri')!;
  return { idx, uri };
}

function actor(v: unknown, level = 0): Actor {
  if (level > MAX_ACTOR_NESTING) throw invalid('act', 'is nested too deeply');
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid('act', 'must be an object');
  const r = v as Record<string, unknown>;
  if (Object.keys(r).some((k) => k !== 'sub' && k !== 'act'))
    throw invalid('act', 'has members other than sub and act');
  const sub = str(r, 'sub');
  if (sub === undefined) throw invalid('act', 'lacks sub');
  return r['act'] === undefined ? { sub } : { sub, act: actor(r['act'], level + 1) };
}

/** Number of actors in an `act` claim (1 for the first agent). */
export function actorCount(act: Actor): number {
  let n = 0;
  for (let a: Actor | undefined = act; a; a = a.act) n++;
  return n;
}

function mayDelegate(c: Record<string, unknown>): MayDelegate {
  const v = c['may_delegate'];
  if (v === undefined) throw missing('may_delegate');
  if (v === false) return false;
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw invalid('may_delegate', 'must be false or an object');
  const r = v as Record<string, unknown>;
  if (Object.keys(r).some((k) => k !== 'aud' && k !== 'tiers'))
    throw invalid('may_delegate', 'has unknown members');
  const list = (name: string): string[] | undefined => {
    const x = r[name];
    if (x === undefined) return undefined;
    if (
      !Array.isArray(x) ||
      x.length === 0 ||
      x.length > 64 ||
      x.some((s) => typeof s !== 'string' || s.length === 0)
    ) {
      throw invalid('may_delegate', `${name} must be a non-empty array of strings`);
    }
    return x as string[];
  };
  const aud = list('aud');
  if (aud === undefined) throw invalid('may_delegate', 'lacks aud');
  const tiers = list('tiers');
  return tiers === undefined ? { aud } : { aud, tiers };
}

function approval(c: Record<string, unknown>): Approval | undefined {
  const v = c['apv'];
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid('apv', 'must be an object');
  const r = v as Record<string, unknown>;
  const allowed = ['id', 'approver', 'at', 'action', 'digest'];
  if (Object.keys(r).some((k) => !allowed.includes(k))) throw invalid('apv', 'has unknown members');
  return {
    id: str(r, 'id')!,
    approver: str(r, 'approver')!,
    at: int(r, 'at')!,
    action: str(r, 'action')!,
    digest: str(r, 'digest')!,
  };
}

/** `may_act` on a warrant: `{sub}` or `{sub, iss}`, nothing else. */
function mayAct(c: Record<string, unknown>): MayAct | undefined {
  const v = c['may_act'];
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid('may_act', 'must be an object');
  const r = v as Record<string, unknown>;
  if (Object.keys(r).some((k) => k !== 'sub' && k !== 'iss'))
    throw invalid('may_act', 'has members other than sub and iss');
  const sub = str(r, 'sub');
  if (sub === undefined) throw invalid('may_act', 'lacks sub');
  const iss = str(r, 'iss', false);
  return iss === undefined ? { sub } : { sub, iss };
}

function common(c: Record<string, unknown>, kind: TokenKind): CommonClaims {
  const iss = str(c, 'iss')!;
  const iat = int(c, 'iat')!;
  const exp = int(c, 'exp')!;
  const nbf = int(c, 'nbf', false);
  const jti = str(c, 'jti')!;
  if (exp <= iat) throw invalid('exp', 'must be after iat');
  if (exp - iat > MAX_LIFETIME[kind]) {
    throw new TokenError(
      'WARRANT_TOKEN_LIFETIME_EXCEEDED',
      `token lives ${exp - iat}s, more than ${MAX_LIFETIME[kind]}s`,
    );
  }
  if (nbf !== undefined && (nbf < iat || nbf >= exp)) throw invalid('nbf', 'must lie within [iat, exp)');
  return nbf === undefined ? { iss, iat, exp, jti } : { iss, iat, exp, nbf, jti };
}

function refuseForeign(c: Record<string, unknown>, kind: TokenKind): void {
  for (const [other, names] of Object.entries(EXCLUSIVE_CLAIMS) as [TokenKind, readonly string[]][]) {
    if (other === kind) continue;
    for (const name of names) {
      if (Object.hasOwn(c, name)) throw invalid(name, `belongs to ${other} tokens, not ${kind} tokens`);
    }
  }
}

function audience(c: Record<string, unknown>): string | string[] {
  const v = c['aud'];
  if (v === undefined) throw missing('aud');
  if (typeof v === 'string' && v.length > 0 && v.length <= MAX_STRING) return v;
  if (
    Array.isArray(v) &&
    v.length > 0 &&
    v.length <= 16 &&
    v.every((a) => typeof a === 'string' && a.length > 0)
  ) {
    return v as string[];
  }
  throw invalid('aud', 'must be a string or a non-empty array of strings');
}

export function identityClaims(c: Record<string, unknown>): IdentityClaims {
  refuseForeign(c, 'identity');
  refuseUnknown(c, 'identity');
  const base = common(c, 'identity');
  const st = status(c);
  return Object.freeze({
    ...base,
    sub: str(c, 'sub')!,
    aud: audience(c),
    cnf: cnf(c),
    tier: str(c, 'tier')!,
    ...(st ? { status: st } : {}),
  });
}

export function warrantClaims(c: Record<string, unknown>): WarrantClaims {
  refuseForeign(c, 'warrant');
  refuseUnknown(c, 'warrant');
  const base = common(c, 'warrant');
  const aud = c['aud'];
  if (aud === undefined) throw missing('aud');
  if (typeof aud !== 'string' || aud.length === 0 || aud.length > MAX_STRING) {
    throw invalid('aud', 'must be a single recipient string');
  }
  if (c['act'] === undefined) throw missing('act');
  const act = actor(c['act']);
  const scope = c['scope'];
  if (scope === undefined) throw missing('scope');
  if (typeof scope !== 'string' || scope.length > MAX_STRING) throw invalid('scope', 'must be a string');
  if (c['grants'] === undefined) throw missing('grants');
  let grants: readonly Grant[];
  try {
    grants = parseGrants(c['grants']);
  } catch (cause) {
    throw new TokenError('WARRANT_CLAIM_INVALID', `claim grants is invalid: ${(cause as Error).message}`, {
      cause,
    });
  }
  const depth = int(c, 'depth')!;
  const maxDepth = int(c, 'max_depth')!;
  if (depth > maxDepth) throw invalid('depth', 'exceeds max_depth');
  if (actorCount(act) !== depth + 1)
    throw invalid('act', `must name ${depth + 1} actor(s) at depth ${depth}`);
  let prev: string | undefined;
  let root: string | undefined;
  if (depth === 0) {
    if (c['prev'] !== undefined) throw invalid('prev', 'must be absent on a root warrant');
    if (c['root'] !== undefined) throw invalid('root', 'must be absent on a root warrant');
  } else {
    prev = hashClaim(c, 'prev');
    root = hashClaim(c, 'root');
  }
  const task = str(c, 'task', false);
  const st = status(c);
  if (st === undefined)
    throw new TokenError('WARRANT_STATUS_MISSING', 'a warrant without a status claim cannot be revoked');
  const apv = approval(c);
  const ma = mayAct(c);
  return Object.freeze({
    ...base,
    sub: str(c, 'sub')!,
    sub_iss: str(c, 'sub_iss')!,
    act,
    aud,
    scope,
    grants,
    txn: str(c, 'txn')!,
    ...(task !== undefined ? { task } : {}),
    ...(prev !== undefined ? { prev, root } : {}),
    depth,
    max_depth: maxDepth,
    may_delegate: mayDelegate(c),
    cnf: cnf(c),
    status: st,
    ...(apv ? { apv } : {}),
    ...(ma ? { may_act: ma } : {}),
  }) as WarrantClaims;
}

export function statusListClaims(c: Record<string, unknown>): StatusListClaims {
  refuseForeign(c, 'statusList');
  const iss = str(c, 'iss')!;
  const sub = str(c, 'sub')!;
  const iat = int(c, 'iat')!;
  const exp = int(c, 'exp', false);
  const ttl = int(c, 'ttl', false);
  if (exp !== undefined && exp <= iat) throw invalid('exp', 'must be after iat');
  if (exp !== undefined && exp - iat > MAX_LIFETIME.statusList) {
    throw new TokenError('WARRANT_TOKEN_LIFETIME_EXCEEDED', 'status list lives too long');
  }
  const sl = c['status_list'];
  if (sl === undefined) throw missing('status_list');
  if (typeof sl !== 'object' || sl === null || Array.isArray(sl))
    throw invalid('status_list', 'must be an object');
  const r = sl as Record<string, unknown>;
  const bits = r['bits'];
  if (bits !== 1 && bits !== 2 && bits !== 4 && bits !== 8)
    throw invalid('status_list', 'bits must be 1, 2, 4 or 8');
  const width: 1 | 2 | 4 | 8 = bits;
  const lst = str(r, 'lst');
  if (lst === undefined || !/^[A-Za-z0-9_-]+$/.test(lst))
    throw invalid('status_list', 'lst must be base64url');
  return Object.freeze({
    iss,
    sub,
    iat,
    ...(exp !== undefined ? { exp } : {}),
    ...(ttl !== undefined ? { ttl } : {}),
    status_list: { bits: width, lst },
  });
}

export const CLAIM_VALIDATORS: {
  readonly [K in TokenKind]: (c: Record<string, unknown>) => ClaimsByKind[K];
} = {
  identity: identityClaims,
  warrant: warrantClaims,
  statusList: statusListClaims,
};
