/**
 * Signed checkpoints of the ledger's Merkle tree: C2SP tlog-checkpoint bodies in C2SP signed notes
 * (https://c2sp.org/tlog-checkpoint, https://c2sp.org/signed-note), with Ed25519 note keys — the format of
 * the Go checksum database and of transparency-log witnesses, so their tools can read and co-sign ours.
 *
 *   <origin>\n
 *   <tree size, decimal, no leading zeros>\n
 *   <root hash, standard base64>\n
 *   \n
 *   — <key name> <base64(4-byte key hash || Ed25519 signature over the three body lines)>\n
 *   — <witness name> <…>\n                                  (more signature lines: co-signatures)
 *
 * key hash     = SHA-256(key name || "\n" || 0x01 || 32-byte public key)[0:4]
 * verifier key = <key name>+<key hash, 8 hex>+<base64(0x01 || 32-byte public key)>
 *
 * Parsing is strict: exactly the three body lines (extension lines, allowed but "NOT RECOMMENDED" by the
 * spec, are refused), a canonical decimal size within Number.MAX_SAFE_INTEGER, a root of exactly 32 bytes
 * in canonical base64, signature lines of exactly `— name base64\n`, at most 100 of them. Anything else is
 * a `WARRANT_LEDGER_CHECKPOINT_INVALID` naming what is wrong.
 *
 * Verification follows the signed-note rules: signature lines by unknown keys (name and key hash not both
 * matching a known key) are ignored; a line by a known key that does not verify rejects the whole note;
 * at least `required` distinct known keys must have signed.
 */
import { Buffer } from 'node:buffer';
import { createPublicKey, type KeyObject, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { WarrantError } from '../core/errors.ts';
import { sha256 } from '../core/jose/hash.ts';
import type { SigningKey, VerificationKey } from '../core/jose/jwk.ts';

/** Who signs: the note key name (for the log itself, by convention its origin) and an Ed25519 key. */
export interface NoteSigner {
  readonly name: string;
  readonly key: SigningKey;
}

/** The three parts of a checkpoint body. */
export interface CheckpointBody {
  readonly origin: string;
  readonly size: number;
  /** The RFC 9162 root hash of the first `size` leaves (32 bytes). */
  readonly root: Uint8Array;
}

/** One signature line, as read (not verified). */
export interface NoteSignature {
  readonly name: string;
  /** The 4-byte key hash (key ID) as 8 lowercase hex digits. */
  readonly keyHash: string;
  /** The bytes after the key hash (for Ed25519 note keys, the 64-byte signature). */
  readonly signature: Uint8Array;
}

export interface ParsedCheckpoint extends CheckpointBody {
  readonly signatures: readonly NoteSignature[];
}

export interface VerifiedCheckpoint extends CheckpointBody {
  /** The verifier keys (as given) whose signatures verified, in the order their lines appear. */
  readonly verifiedBy: string[];
}

export interface VerifyCheckpointOptions {
  /** How many distinct known keys must have signed (default 1). */
  readonly required?: number;
  /** When given, the checkpoint's origin must be exactly this. */
  readonly origin?: string;
}

/** A parsed note verifier key. */
export interface NoteVerifierKey {
  readonly name: string;
  readonly keyHash: string;
  /** The 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
}

/** Ed25519, the one note signature type used here (signed-note §Signature types). */
const ALG_ED25519 = 0x01;
const EM_DASH_SPACE = '\u2014 ';
/** At most this many signature lines (the spec requires accepting at least 16; Go's note package allows 100). */
export const MAX_NOTE_SIGNATURES = 100;
/** Notes longer than this are refused before any parsing. */
const MAX_NOTE_LENGTH = 1 << 20;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const SIGNATURE_LINE = /^\u2014 ([^\s+]+) ([A-Za-z0-9+/=]+)$/;
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
const encoder = new TextEncoder();

/** The index of the first ASCII control character other than newline (below U+0020), or -1. */
function controlAt(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return i;
  }
  return -1;
}

function invalid(message: string): WarrantError {
  return new WarrantError('WARRANT_LEDGER_CHECKPOINT_INVALID', `checkpoint: ${message}`);
}

function keyInvalid(message: string): WarrantError {
  return new WarrantError('WARRANT_LEDGER_NOTE_KEY_INVALID', `note key: ${message}`);
}

/** A short, quoted rendering of untrusted input for error messages. */
function show(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

/** Canonical standard base64 only (padding required, zero unused bits): one byte string, one encoding. */
function decodeBase64(text: string): Uint8Array | null {
  if (!BASE64.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) return null;
  return new Uint8Array(bytes);
}

const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** signed-note key names: non-empty, valid Unicode, no spaces (Unicode ones included), no `+`, no controls. */
function isKeyName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    name.isWellFormed() &&
    !/[\s+]/.test(name) &&
    controlAt(name) < 0 &&
    !name.includes('\u007f')
  );
}

function keyHashOf(name: string, publicKey: Uint8Array): string {
  const input = Buffer.concat([encoder.encode(`${name}\n`), Uint8Array.of(ALG_ED25519), publicKey]);
  return toHex(sha256(input).subarray(0, 4));
}

function ed25519PublicKey(key: VerificationKey): Uint8Array {
  if (key?.alg !== 'EdDSA' || key.jwk?.kty !== 'OKP' || key.jwk.crv !== 'Ed25519') {
    throw keyInvalid('only Ed25519 (EdDSA) keys sign notes');
  }
  const raw = Buffer.from(key.jwk.x, 'base64url');
  if (raw.length !== 32) throw keyInvalid('the Ed25519 public key is not 32 bytes');
  return new Uint8Array(raw);
}

/** The verifier key string of an Ed25519 key under a note key name: `<name>+<8 hex>+<base64(0x01 || key)>`. */
export function noteVerifierKey(name: string, key: VerificationKey): string {
  if (!isKeyName(name)) throw keyInvalid(`key name ${show(String(name))} is empty or has spaces or "+"`);
  const publicKey = ed25519PublicKey(key);
  return `${name}+${keyHashOf(name, publicKey)}+${toBase64(Uint8Array.of(ALG_ED25519, ...publicKey))}`;
}

interface ParsedVerifier extends NoteVerifierKey {
  readonly text: string;
  readonly keyObject: KeyObject;
}

const verifierCache = new Map<string, ParsedVerifier>();

function parseVerifier(text: string): ParsedVerifier {
  const cached = verifierCache.get(text);
  if (cached) return cached;
  if (typeof text !== 'string') throw keyInvalid('a verifier key must be a string');
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) throw keyInvalid(`${show(text)} is not <name>+<key hash>+<key>`);
  const name = text.slice(0, first);
  const hash = text.slice(first + 1, second);
  const encoded = text.slice(second + 1);
  if (!isKeyName(name)) throw keyInvalid(`key name ${show(name)} is empty or has spaces or "+"`);
  if (!/^[0-9a-f]{8}$/.test(hash)) throw keyInvalid(`key hash ${show(hash)} is not 8 lowercase hex digits`);
  const raw = decodeBase64(encoded);
  if (raw === null) throw keyInvalid(`the key of ${show(name)} is not canonical standard base64`);
  if (raw.length !== 33 || raw[0] !== ALG_ED25519) {
    throw keyInvalid(`the key of ${show(name)} is not an Ed25519 note key (0x01 and 32 bytes)`);
  }
  const publicKey = raw.subarray(1);
  if (keyHashOf(name, publicKey) !== hash)
    throw keyInvalid(`the key hash of ${show(name)} does not match its key`);
  let keyObject: KeyObject;
  try {
    keyObject = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') },
      format: 'jwk',
    });
  } catch (cause) {
    throw new WarrantError(
      'WARRANT_LEDGER_NOTE_KEY_INVALID',
      `note key: ${show(name)} is not a valid Ed25519 key`,
      {
        cause,
      },
    );
  }
  const parsed = Object.freeze({ text, name, keyHash: hash, publicKey, keyObject });
  if (verifierCache.size >= 1024) verifierCache.clear();
  verifierCache.set(text, parsed);
  return parsed;
}

/** Parses and checks a verifier key string (`<name>+<8 hex key hash>+<base64(0x01 || key)>`). */
export function parseNoteVerifierKey(text: string): NoteVerifierKey {
  const { name, keyHash, publicKey } = parseVerifier(text);
  return { name, keyHash, publicKey: publicKey.slice() };
}

function checkSigner(signer: NoteSigner): { name: string; key: SigningKey; publicKey: Uint8Array } {
  if (!isKeyName(signer?.name)) {
    throw keyInvalid(`key name ${show(String(signer?.name))} is empty or has spaces or "+"`);
  }
  return { name: signer.name, key: signer.key, publicKey: ed25519PublicKey(signer.key) };
}

function signatureLine(text: string, signer: NoteSigner): string {
  const { name, key, publicKey } = checkSigner(signer);
  const signature = nodeSign(null, encoder.encode(text), key.privateKey);
  const blob = Buffer.concat([Buffer.from(keyHashOf(name, publicKey), 'hex'), signature]);
  return `${EM_DASH_SPACE}${name} ${blob.toString('base64')}\n`;
}

/**
 * Signs any note text (it must end in a newline and contain no control characters but newlines) and
 * returns the signed note. Checkpoints use `signCheckpoint`; this is the general signed-note primitive.
 */
export function signNote(text: string, signer: NoteSigner): string {
  if (typeof text !== 'string' || !text.endsWith('\n') || !text.isWellFormed() || controlAt(text) >= 0) {
    throw new TypeError('note text must be well-formed text ending in a newline, without control characters');
  }
  return `${text}\n${signatureLine(text, signer)}`;
}

/** The three body lines of a checkpoint, checked. */
export function checkpointBody({ origin, size, root }: CheckpointBody): string {
  if (
    typeof origin !== 'string' ||
    origin.length === 0 ||
    !origin.isWellFormed() ||
    controlAt(origin) >= 0 ||
    origin.includes('\n') ||
    origin.trim() !== origin
  ) {
    throw new TypeError(
      'checkpoint origin must be a non-empty line without control characters or edge spaces',
    );
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new RangeError('checkpoint size must be a non-negative safe integer');
  }
  if (!(root instanceof Uint8Array) || root.length !== 32) {
    throw new TypeError('checkpoint root must be a 32-byte Uint8Array');
  }
  return `${origin}\n${size}\n${toBase64(root)}\n`;
}

/** Signs a checkpoint of (origin, size, root); returns the full signed note. */
export function signCheckpoint(checkpoint: CheckpointBody, signer: NoteSigner): string {
  const body = checkpointBody(checkpoint);
  return `${body}\n${signatureLine(body, signer)}`;
}

/**
 * Adds `signer`'s signature line to a checkpoint note, over the same body (how a witness co-signs). The
 * note must parse; its existing signatures are not checked here (`verifyCheckpoint` does). Signing again
 * with a key that already signed returns the note unchanged (Ed25519 signatures are deterministic).
 */
export function cosign(note: string, signer: NoteSigner): string {
  const { text, signatures } = splitNote(note);
  parseBody(text);
  const line = signatureLine(text, signer);
  const { name, publicKey } = checkSigner(signer);
  const keyHash = keyHashOf(name, publicKey);
  const mine = signatures.filter((s) => s.name === name && s.keyHash === keyHash);
  if (mine.length > 0) {
    if (note.endsWith(line) || note.includes(`\n${line}`)) return note;
    throw invalid(`it already carries a different signature by ${name}+${keyHash}`);
  }
  if (signatures.length >= MAX_NOTE_SIGNATURES) {
    throw invalid(`it already has ${MAX_NOTE_SIGNATURES} signatures, the most a note may carry`);
  }
  return `${note}${line}`;
}

/** Splits a signed note into its text and signature lines (signed-note §Format), strictly. */
function splitNote(note: string): { text: string; signatures: NoteSignature[] } {
  if (typeof note !== 'string') throw invalid('the note is not a string');
  if (note.length > MAX_NOTE_LENGTH) throw invalid(`the note is longer than ${MAX_NOTE_LENGTH} characters`);
  if (!note.isWellFormed()) throw invalid('the note is not valid Unicode (lone surrogate)');
  const control = controlAt(note);
  if (control >= 0) {
    const code = note.charCodeAt(control).toString(16).padStart(4, '0');
    throw invalid(`the note contains control character U+${code} (only newlines are allowed)`);
  }
  if (!note.endsWith('\n')) throw invalid('the note does not end with a newline (truncated?)');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw invalid('there is no blank line between the body and the signature lines');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (block.length === 0) throw invalid('there are no signature lines after the blank line');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) {
    throw invalid(`${lines.length} signature lines; at most ${MAX_NOTE_SIGNATURES} are accepted`);
  }
  const signatures = lines.map((line, i): NoteSignature => {
    const n = i + 1;
    if (!line.startsWith(EM_DASH_SPACE)) {
      throw invalid(`signature line ${n} does not start with an em dash (U+2014) and one space`);
    }
    const m = SIGNATURE_LINE.exec(line);
    if (!m) {
      throw invalid(
        `signature line ${n} is not "— <key name> <base64>" (one space each, no spaces or "+" in the name)`,
      );
    }
    const blob = decodeBase64(m[2]!);
    if (blob === null) throw invalid(`signature line ${n} (${m[1]}) is not canonical standard base64`);
    if (blob.length < 5)
      throw invalid(`signature line ${n} (${m[1]}) is shorter than a key hash and a signature`);
    return { name: m[1]!, keyHash: toHex(blob.subarray(0, 4)), signature: blob.slice(4) };
  });
  return { text, signatures };
}

/** Parses the checkpoint body lines (tlog-checkpoint §Note text), strictly. */
function parseBody(text: string): CheckpointBody {
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) {
    throw invalid(`the body has ${lines.length} line(s); a checkpoint has origin, tree size and root hash`);
  }
  const [origin, sizeText, rootText] = lines as [string, string, string];
  if (lines.some((l) => l.length === 0)) throw invalid('the body has an empty line');
  if (lines.length > 3)
    throw invalid('the body has extension lines after the root hash; they are not accepted');
  if (origin.trim() !== origin) throw invalid(`the origin ${show(origin)} has leading or trailing spaces`);
  if (!DECIMAL.test(sizeText)) {
    throw invalid(`the tree size ${show(sizeText)} is not a decimal number without sign or leading zeros`);
  }
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw invalid(`the tree size ${show(sizeText)} is too large`);
  const root = decodeBase64(rootText);
  if (root === null) throw invalid(`the root hash ${show(rootText)} is not canonical standard base64`);
  if (root.length !== 32) throw invalid(`the root hash is ${root.length} bytes, not 32`);
  return { origin, size, root };
}

/** Parses a checkpoint note without verifying any signature. */
export function parseCheckpoint(note: string): ParsedCheckpoint {
  const { text, signatures } = splitNote(note);
  return { ...parseBody(text), signatures };
}

/**
 * Verifies a checkpoint note against trusted verifier keys (the log's key and any witnesses' keys) and
 * returns its contents. Throws `WARRANT_LEDGER_CHECKPOINT_INVALID` when the note is malformed, a known key's
 * signature does not verify (a tampered body), fewer than `required` known keys signed it, or the origin
 * is not the expected one; `WARRANT_LEDGER_NOTE_KEY_INVALID` when a verifier key is malformed or two keys
 * are ambiguous (same name and key hash).
 */
export function verifyCheckpoint(
  note: string,
  verifierKeys: readonly string[],
  options: VerifyCheckpointOptions = {},
): VerifiedCheckpoint {
  const required = options.required ?? 1;
  if (!Number.isSafeInteger(required) || required < 1)
    throw new RangeError('required must be an integer ≥ 1');
  if (!Array.isArray(verifierKeys))
    throw new TypeError('verifierKeys must be an array of verifier key strings');
  const known = new Map<string, ParsedVerifier>();
  for (const text of verifierKeys) {
    const key = parseVerifier(text);
    const id = `${key.name}+${key.keyHash}`;
    const other = known.get(id);
    if (other && other.text !== text) throw keyInvalid(`two verifier keys share the name and key hash ${id}`);
    known.set(id, key);
  }
  if (required > known.size) {
    throw new RangeError(
      `required (${required}) is more than the ${known.size} distinct verifier key(s) given`,
    );
  }
  const { text, signatures } = splitNote(note);
  const body = parseBody(text);
  const bytes = encoder.encode(text);
  const verifiedBy: string[] = [];
  for (const s of signatures) {
    const key = known.get(`${s.name}+${s.keyHash}`);
    if (key === undefined) continue;
    if (s.signature.length !== 64 || !nodeVerify(null, bytes, key.keyObject, s.signature)) {
      throw invalid(`the signature by ${s.name}+${s.keyHash} does not verify over the body`);
    }
    if (!verifiedBy.includes(key.text)) verifiedBy.push(key.text);
  }
  if (options.origin !== undefined && body.origin !== options.origin) {
    throw invalid(`the origin is ${show(body.origin)}, not ${show(options.origin)}`);
  }
  if (verifiedBy.length < required) {
    throw invalid(
      verifiedBy.length === 0
        ? 'no signature by a known key'
        : `signed by ${verifiedBy.length} known key(s); ${required} required`,
    );
  }
  return { ...body, verifiedBy };
}
