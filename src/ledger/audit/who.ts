/**
 * `who`: the regulator's answer for one action (DESIGN §8) — which person authorised it, through which
 * chain of agents, under which grant and policy, with what decision; and the proof that the record is in
 * the signed log: an RFC 9162 inclusion proof against the latest checkpoint, verified here.
 */
import { Buffer } from 'node:buffer';
import { WarrantError } from '../../core/errors.ts';
import { parseCheckpoint, verifyCheckpoint } from '../checkpoint.ts';
import type { DecisionRecord } from '../decision-log.ts';
import { leafHash, MerkleTree, verifyInclusion } from '../merkle.ts';
import { type AuditSource, outcomesOf, toAuditRecord } from './source.ts';

export interface WhoOptions {
  /**
   * Note verifier keys trusted for the checkpoint signature. Without any, the proof is still checked
   * against the checkpoint's root, but the signature is reported `unchecked`.
   */
  readonly verifierKeys?: readonly string[];
}

export interface InclusionAnswer {
  /** The tree size of the checkpoint the proof is against. */
  readonly size: number;
  /** The record's leaf hash, recomputed from its canonical text (base64). */
  readonly leafHash: string;
  /** Sibling hashes from the leaf up (base64). */
  readonly proof: string[];
  /** The checkpoint's root (base64). */
  readonly root: string;
  readonly checkpoint: string;
  readonly origin: string;
  /** The proof leads from the record to the checkpoint's root. */
  readonly verified: boolean;
  /** `verified` by a trusted key, or `unchecked` when no verifier key was given. */
  readonly signature: 'verified' | 'unchecked';
  readonly verifiedBy: string[];
}

export interface WhoAnswer {
  readonly index: number;
  readonly id: string;
  readonly time: string;
  readonly gateway?: string;
  readonly kind: string;
  /** The person on whose behalf the action was taken (the chain's root). */
  readonly person?: { sub: string; iss: string };
  readonly caller?: string;
  readonly recipient?: string;
  readonly action?: string;
  readonly resource?: string;
  readonly decision?: string;
  readonly reasons: string[];
  readonly code?: string;
  /** Root → leaf: the person's warrant, then each delegation. */
  readonly chain: { depth: number; hash: string; actor: string }[];
  /** The grant that authorised the call (allowed calls). */
  readonly used?: unknown;
  readonly granted: unknown[];
  readonly policyVersion?: string;
  readonly risk?: DecisionRecord['risk'];
  readonly trustLevel?: number;
  readonly txn?: string;
  readonly task?: string;
  readonly requestDigest?: string;
  readonly outcome?: { index: number; status?: number; latencyMs?: number };
  /** `null` when no checkpoint covers the record yet (the reason in `unproven`). */
  readonly inclusion: InclusionAnswer | null;
  readonly unproven?: string;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const CHUNK = 50_000;

/**
 * Who authorised record `index`, with its inclusion proof against the latest checkpoint. Throws
 * `WARRANT_AUDIT_NOT_FOUND` for an index past the log and `WARRANT_AUDIT_PROOF_INVALID` when the proof or
 * the checkpoint signature (by a given key) does not verify: the stored ledger is then not what was signed.
 */
export async function whoAuthorised(
  source: AuditSource,
  index: number,
  options: WhoOptions = {},
): Promise<WhoAnswer> {
  if (!Number.isSafeInteger(index) || index < 0) throw new TypeError('index must be a non-negative integer');
  const entry = await source.getRecord(index);
  if (!entry) {
    const count = await source.count();
    throw new WarrantError(
      'WARRANT_AUDIT_NOT_FOUND',
      `no record ${index}: the ledger holds ${count} record(s)${count > 0 ? ` (0..${count - 1})` : ''}`,
    );
  }
  const audit = toAuditRecord(entry);
  const r = audit.record;
  const outcome = r.kind === 'outcome' ? undefined : (await outcomesOf(source, [audit])).get(r.id);
  const chain = Array.isArray(r.chain)
    ? r.chain.map((l, depth) => ({ depth, hash: String(l?.hash), actor: String(l?.actor) }))
    : [];
  const base: Omit<WhoAnswer, 'inclusion' | 'unproven'> = {
    index,
    id: String(r.id),
    time: String(r.time),
    kind: String(r.kind),
    ...(typeof r.gateway === 'string' ? { gateway: r.gateway } : {}),
    ...(r.person && typeof r.person.sub === 'string'
      ? { person: { sub: r.person.sub, iss: String(r.person.iss) } }
      : {}),
    ...strings(r, [
      'caller',
      'recipient',
      'action',
      'resource',
      'decision',
      'code',
      'policyVersion',
      'txn',
      'task',
      'requestDigest',
    ]),
    reasons: Array.isArray(r.reasons) ? r.reasons.map(String) : [],
    chain,
    ...(r.used === undefined ? {} : { used: r.used }),
    granted: Array.isArray(r.granted) ? [...r.granted] : [],
    ...(r.risk === undefined ? {} : { risk: r.risk }),
    ...(typeof r.trustLevel === 'number' ? { trustLevel: r.trustLevel } : {}),
    ...(outcome ? { outcome } : {}),
  };

  const latest = await source.latestCheckpoint();
  if (!latest) return { ...base, inclusion: null, unproven: 'no checkpoint has been signed yet' };
  if (latest.size <= index)
    return {
      ...base,
      inclusion: null,
      unproven: `the latest checkpoint covers records 0..${latest.size - 1}; this one is not covered yet`,
    };

  const keys = options.verifierKeys ?? [];
  let body: { origin: string; size: number; root: Uint8Array };
  let verifiedBy: string[] = [];
  try {
    if (keys.length > 0) {
      const v = verifyCheckpoint(latest.note, keys);
      body = v;
      verifiedBy = v.verifiedBy;
    } else body = parseCheckpoint(latest.note);
  } catch (cause) {
    throw new WarrantError(
      'WARRANT_AUDIT_PROOF_INVALID',
      `the latest checkpoint (size ${latest.size}) does not verify: ${(cause as Error).message}`,
      { cause },
    );
  }
  if (body.size !== latest.size)
    throw new WarrantError(
      'WARRANT_AUDIT_PROOF_INVALID',
      `the stored checkpoint of size ${latest.size} signs size ${body.size}`,
    );

  const tree = new MerkleTree();
  for (let from = 0; from < body.size; from += CHUNK) {
    const hashes = await source.leafHashes(from, Math.min(body.size, from + CHUNK));
    for (const h of hashes) tree.append(h);
  }
  if (tree.size !== body.size)
    throw new WarrantError(
      'WARRANT_AUDIT_PROOF_INVALID',
      `the checkpoint covers ${body.size} records but the store holds ${tree.size} leaf hashes`,
    );
  const leaf = leafHash(new TextEncoder().encode(audit.canonical));
  const proof = tree.inclusionProof(index, body.size);
  const verified = verifyInclusion(leaf, index, body.size, proof, body.root);
  if (!verified)
    throw new WarrantError(
      'WARRANT_AUDIT_PROOF_INVALID',
      `record ${index} is not proven by the checkpoint of size ${body.size}: the stored ledger differs from what was signed`,
    );
  return {
    ...base,
    inclusion: {
      size: body.size,
      leafHash: b64(leaf),
      proof: proof.map(b64),
      root: b64(body.root),
      checkpoint: latest.note,
      origin: body.origin,
      verified,
      signature: keys.length > 0 ? 'verified' : 'unchecked',
      verifiedBy,
    },
  };
}

function strings(record: DecisionRecord, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) {
    const v = (record as unknown as Record<string, unknown>)[k];
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}
