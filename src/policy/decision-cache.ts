/**
 * Repeated identical questions are a lookup (DESIGN §5): decisions are cached by a digest of their inputs,
 * the request in canonical JSON plus the policy-set version, so a policy reload never serves an old answer.
 * Bounded, least recently used first out.
 */
import { createHash } from 'node:crypto';
import type { AuthorizationRequest, Decision } from './types.ts';

export class DecisionCache {
  readonly #entries = new Map<string, Decision>();
  readonly maxEntries: number;
  hits = 0;
  misses = 0;

  constructor(maxEntries = 10_000) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1)
      throw new TypeError('maxEntries must be a positive integer');
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached decision for `key`, counted as a hit or a miss. */
  get(key: string): Decision | undefined {
    const decision = this.#entries.get(key);
    if (decision === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.#entries.delete(key);
    this.#entries.set(key, decision);
    return decision;
  }

  set(key: string, decision: Decision): void {
    if (this.#entries.has(key)) this.#entries.delete(key);
    else if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, decision);
  }

  clear(): void {
    this.#entries.clear();
  }
}

/** The cache key of a request under a policy-set version: base64url SHA-256 of `version \n canonical-json`. */
export function decisionKey(request: AuthorizationRequest, policyVersion: string): string {
  return createHash('sha256')
    .update(policyVersion)
    .update('\n')
    .update(canonicalJson(request))
    .digest('base64url');
}

/**
 * JSON with object keys sorted (by UTF-16 code units, as RFC 8785) and no whitespace; `undefined` members
 * are left out as by `JSON.stringify`. Array order is kept: a reordered Set is a cache miss, never a wrong hit.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'number':
    case 'boolean':
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      return 'null';
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return out + ']';
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const member = record[key];
    if (member === undefined || typeof member === 'function') continue;
    out += (first ? '' : ',') + quote(key) + ':' + canonicalJson(member);
    first = false;
  }
  return out + '}';
}

/** Strings of only printable characters without `"`, `\` or surrogates need no escaping (the common case). */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\ud7ff\ue000-\uffff]*$/;

function quote(text: string): string {
  return PLAIN.test(text) ? `"${text}"` : JSON.stringify(text);
}
