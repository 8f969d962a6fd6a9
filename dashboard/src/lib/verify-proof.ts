/**
 * Verifying a ledger record in the browser, on WebCrypto only (no server trusted for the maths): the
 * record's RFC 9162 leaf hash from its canonical text, the root its inclusion proof leads to, that root
 * against the checkpoint's, and the checkpoint's C2SP signed-note signature (Ed25519) against a note
 * verifier key (`warrant audit key`). The same algorithms as src/ledger/merkle.ts and checkpoint.ts, which
 * run on node:crypto; test/dashboard/verify-proof.test.ts checks both agree, and that a tampered record,
 * proof or checkpoint fails.
 */

const subtle = globalThis.crypto.subtle;
const encoder = new TextEncoder();

export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const data = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await subtle.digest('SHA-256', data));
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** RFC 9162 leaf hash: SHA-256(0x00 || data). */
export const leafHash = (canonical: string) => sha256(new Uint8Array([0]), encoder.encode(canonical));

/** RFC 9162 §2.1.3.2: the root an inclusion proof leads to, or `null` when it is malformed. */
export async function rootFromProof(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
): Promise<Uint8Array | null> {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (p.length !== 32 || sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(new Uint8Array([1]), p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await sha256(new Uint8Array([1]), r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

export interface ParsedNote {
  readonly text: string;
  readonly origin: string;
  readonly size: number;
  readonly root: Uint8Array;
  readonly signatures: readonly { name: string; keyHash: Uint8Array; signature: Uint8Array }[];
}

/** A C2SP checkpoint note: body (origin, size, root) and signature lines `— name base64`. */
export function parseNote(note: string): ParsedNote {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new Error('not a signed note');
  const text = note.slice(0, split + 1);
  const [origin, sizeText, rootText, ...extra] = text.slice(0, -1).split('\n');
  if (!origin || !sizeText || !rootText || extra.length > 0 || !/^(0|[1-9]\d*)$/.test(sizeText))
    throw new Error('not a checkpoint body');
  const root = fromBase64(rootText);
  if (root.length !== 32) throw new Error('the root is not 32 bytes');
  const signatures = note
    .slice(split + 2, -1)
    .split('\n')
    .map((line) => {
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m) throw new Error('a malformed signature line');
      const blob = fromBase64(m[2]!);
      return { name: m[1]!, keyHash: blob.slice(0, 4), signature: blob.slice(4) };
    });
  return { text, origin, size: Number(sizeText), root, signatures };
}

/** Verifies the note's signature by the Ed25519 verifier key `name+hash+base64(0x01 || key)`. */
export async function verifyNoteSignature(note: ParsedNote, verifierKey: string): Promise<boolean> {
  // name+hash+key: the base64 key may itself hold '+', so split at the first two only.
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+=*)$/.exec(verifierKey);
  if (m === null) return false;
  const [, name, hashHex, keyText] = m as unknown as [string, string, string, string];
  const keyBytes = fromBase64(keyText);
  if (keyBytes.length !== 33 || keyBytes[0] !== 1) return false;
  const expectedHash = (await sha256(encoder.encode(`${name}\n`), keyBytes)).slice(0, 4);
  const hex = [...expectedHash].map((b) => b.toString(16).padStart(2, '0')).join('');
  if (hex !== hashHex) return false;
  const line = note.signatures.find((s) => s.name === name && same(s.keyHash, expectedHash));
  if (line === undefined || line.signature.length !== 64) return false;
  const key = await subtle.importKey('raw', new Uint8Array(keyBytes.slice(1)), { name: 'Ed25519' }, false, [
    'verify',
  ]);
  return subtle.verify({ name: 'Ed25519' }, key, new Uint8Array(line.signature), encoder.encode(note.text));
}

export interface ProofInput {
  readonly index: number;
  readonly canonical: string;
  readonly proof: readonly string[];
  readonly checkpoint: string;
  readonly verifierKeys: readonly string[];
}

export interface ProofResult {
  readonly leafMatches: boolean;
  readonly rootMatches: boolean;
  readonly signedBy: readonly string[];
  readonly size: number;
  readonly verified: boolean;
}

/** Every check: the leaf from the text, the proof to the checkpoint's root, the checkpoint's signature. */
export async function verifyRecordProof(input: ProofInput): Promise<ProofResult> {
  const note = parseNote(input.checkpoint);
  const leaf = await leafHash(input.canonical);
  const root = await rootFromProof(leaf, input.index, note.size, input.proof.map(fromBase64));
  const rootMatches = root !== null && same(root, note.root);
  const signedBy: string[] = [];
  for (const key of input.verifierKeys) if (await verifyNoteSignature(note, key)) signedBy.push(key);
  const indexInRecord = (JSON.parse(input.canonical) as { index?: unknown }).index === input.index;
  return {
    leafMatches: indexInRecord,
    rootMatches,
    signedBy,
    size: note.size,
    verified: indexInRecord && rootMatches && signedBy.length > 0,
  };
}
