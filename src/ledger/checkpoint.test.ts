import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { WarrantError } from '../core/errors.ts';
import { generateSigningKey, importPrivateJwk, type SigningKey } from '../core/jose/jwk.ts';
import {
  cosign,
  type NoteSigner,
  noteVerifierKey,
  parseCheckpoint,
  parseNoteVerifierKey,
  signCheckpoint,
  signNote,
  verifyCheckpoint,
} from './checkpoint.ts';
import { leafHash, MerkleTree } from './merkle.ts';

const invalid = (message?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof WarrantError, `expected a WarrantError, got ${String(e)}`);
  assert.equal(e.code, 'WARRANT_LEDGER_CHECKPOINT_INVALID');
  if (message) assert.match(e.message, message);
  return true;
};
const keyInvalid = (e: unknown) => {
  assert.ok(e instanceof WarrantError, `expected a WarrantError, got ${String(e)}`);
  assert.equal(e.code, 'WARRANT_LEDGER_NOTE_KEY_INVALID');
  return true;
};

/** An Ed25519 signing key from a 32-byte seed (PKCS #8 wrapping of RFC 8410). */
function keyFromSeed(seed: Uint8Array): SigningKey {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const jwk = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
  return importPrivateJwk(jwk, 'EdDSA');
}

const ORIGIN = 'warrant.example/ledger';
const log: NoteSigner = { name: ORIGIN, key: generateSigningKey() };
const witness: NoteSigner = { name: 'witness.example/w1', key: generateSigningKey() };
const stranger: NoteSigner = { name: 'stranger.example', key: generateSigningKey() };
const LOG_KEY = noteVerifierKey(log.name, log.key);
const WITNESS_KEY = noteVerifierKey(witness.name, witness.key);

const tree = MerkleTree.from(Array.from({ length: 20 }, (_, i) => leafHash(Uint8Array.of(i))));
const ROOT = tree.root();
const note = signCheckpoint({ origin: ORIGIN, size: 20, root: ROOT }, log);

describe('published vectors', () => {
  // golang.org/x/mod/sumdb/note (note_test.go, and the package documentation): the PeterNeumann key.
  const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
  const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
  const PETER_TEXT =
    'If you think cryptography is the answer to your problem,\n' +
    "then you don't know what your problem is.\n";
  const PETER_NOTE =
    `${PETER_TEXT}\n` +
    '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';

  test('Go sumdb/note: the PeterNeumann verifier key and signed note, byte for byte', () => {
    const seed = Buffer.from(PETER_SKEY.split('+').slice(4).join('+'), 'base64');
    assert.equal(seed[0], 1);
    const peter = keyFromSeed(seed.subarray(1));
    assert.equal(noteVerifierKey('PeterNeumann', peter), PETER_VKEY);
    assert.equal(signNote(PETER_TEXT, { name: 'PeterNeumann', key: peter }), PETER_NOTE);
    const parsed = parseNoteVerifierKey(PETER_VKEY);
    assert.equal(parsed.name, 'PeterNeumann');
    assert.equal(parsed.keyHash, 'c74f20a3');
    assert.equal(parsed.publicKey.length, 32);
    // It is a note but not a checkpoint: two text lines.
    assert.throws(() => verifyCheckpoint(PETER_NOTE, [PETER_VKEY]), invalid(/2 line\(s\)/));
  });

  // sum.golang.org's verifier key (compiled into the go command) and two checkpoints it published: one as
  // served by /latest (quoted in a public write-up of the go command's module cache), one relayed through a
  // witness, with two extra co-signature lines by keys we do not know (one a 72-byte timestamped
  // cosignature), quoted in the README of a transparency-dev witness example.
  const SUMDB_KEY = 'sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8';
  const SUMDB_NOTES = [
    'go.sum database tree\n63096908\n8lHrQPRYe4KT4WQ9/Qk8/taKnD6IRHbFgfN7vQE2Y54=\n\n' +
      '— sum.golang.org Az3gri/oVBN1jAhNZ/iS+W31psFAWRT20/GyrhpU6taFwulQGetBkH5S7wpGXdS935jiIGiUUAXBVHzT/P6fYhqAmAk=\n',
    'go.sum database tree\n15081221\nBoMMe1wd25Tco0mYGROkyqxHZWx+hcSCtMV315Lu6Lg=\n\n' +
      '— sum.golang.org Az3grilD7vQqTrv66jRgKM84Y80KTprrSt4bKmiOPxgmS5ZVBTeCl6dUvjYnN13R+C8j0jGY1WnUADGMkok3U0m2Zgo=\n' +
      '— test.example.com qTGhC3917mAr6hGh+T55tNjxaej/D/GQivJZRIj7XGdAcQOTqfMWIPgp/v/904LEduN/h2sSRtHUJXUL4b9Gm7Bz4Qc=\n' +
      '— test.example.com /Pa7Y/dUvWMAAAAAQVwkQVi81ArPV7BIaQYrMIxyzY0m8a4BdeeBhSKd3PviPK4/3Sd+NKSc5N7PDTCfAkUSVniN+R2oKIggA4iiDQ==\n',
  ];

  test('Go checksum database (sum.golang.org) checkpoints verify under its published key', () => {
    const [a, b] = SUMDB_NOTES as [string, string];
    const va = verifyCheckpoint(a, [SUMDB_KEY], { origin: 'go.sum database tree' });
    assert.equal(va.size, 63096908);
    assert.equal(Buffer.from(va.root).toString('base64'), '8lHrQPRYe4KT4WQ9/Qk8/taKnD6IRHbFgfN7vQE2Y54=');
    assert.deepEqual(va.verifiedBy, [SUMDB_KEY]);
    const vb = verifyCheckpoint(b, [SUMDB_KEY]);
    assert.equal(vb.size, 15081221);
    assert.equal(parseCheckpoint(b).signatures.length, 3);
    assert.equal(parseCheckpoint(b).signatures[2]!.signature.length, 72); // 8-byte timestamp + Ed25519
    // Any change to the signed body breaks it.
    assert.throws(
      () => verifyCheckpoint(a.replace('63096908', '63096909'), [SUMDB_KEY]),
      invalid(/does not verify/),
    );
    assert.throws(
      () => verifyCheckpoint(b.replace('go.sum', 'go.Sum'), [SUMDB_KEY]),
      invalid(/does not verify/),
    );
    // Its key does not verify our checkpoint, and ours does not verify its.
    assert.throws(() => verifyCheckpoint(note, [SUMDB_KEY]), invalid(/no signature by a known key/));
    assert.throws(() => verifyCheckpoint(a, [LOG_KEY]), invalid(/no signature by a known key/));
  });
});

describe('signCheckpoint / parseCheckpoint / verifyCheckpoint', () => {
  test('the note has the C2SP layout', () => {
    const lines = note.split('\n');
    assert.equal(lines[0], ORIGIN);
    assert.equal(lines[1], '20');
    assert.equal(lines[2], Buffer.from(ROOT).toString('base64'));
    assert.equal(lines[3], '');
    assert.match(lines[4]!, /^\u2014 warrant\.example\/ledger [A-Za-z0-9+/]{91}=$/);
    assert.equal(lines[5], '');
    assert.equal(lines.length, 6);
    assert.match(LOG_KEY, /^warrant\.example\/ledger\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}$/);
  });

  test('round trip', () => {
    const parsed = parseCheckpoint(note);
    assert.equal(parsed.origin, ORIGIN);
    assert.equal(parsed.size, 20);
    assert.deepEqual(parsed.root, ROOT);
    assert.equal(parsed.signatures.length, 1);
    assert.equal(parsed.signatures[0]!.name, ORIGIN);
    assert.equal(parsed.signatures[0]!.keyHash, LOG_KEY.split('+')[1]);
    assert.equal(parsed.signatures[0]!.signature.length, 64);
    const v = verifyCheckpoint(note, [LOG_KEY]);
    assert.deepEqual(v, { origin: ORIGIN, size: 20, root: ROOT, verifiedBy: [LOG_KEY] });
    assert.doesNotThrow(() => verifyCheckpoint(note, [LOG_KEY], { origin: ORIGIN }));
    assert.throws(() => verifyCheckpoint(note, [LOG_KEY], { origin: 'other' }), invalid(/origin/));
    // The empty tree, and a size at the limit of exact integers.
    const empty = signCheckpoint({ origin: ORIGIN, size: 0, root: tree.root(0) }, log);
    assert.equal(verifyCheckpoint(empty, [LOG_KEY]).size, 0);
    const big = signCheckpoint({ origin: ORIGIN, size: Number.MAX_SAFE_INTEGER, root: ROOT }, log);
    assert.equal(verifyCheckpoint(big, [LOG_KEY]).size, Number.MAX_SAFE_INTEGER);
    // Origins may contain spaces (sumdb's does).
    const spaced = signCheckpoint({ origin: 'my log tree', size: 1, root: ROOT }, log);
    assert.equal(verifyCheckpoint(spaced, [LOG_KEY]).origin, 'my log tree');
  });

  test('a tampered size, root or origin fails', () => {
    const other = Buffer.from(tree.root(19)).toString('base64');
    const tampered = [
      note.replace(/^(.*)\n20\n/, '$1\n21\n'),
      note.replace(/^(.*)\n20\n/, '$1\n19\n'),
      note.replace(Buffer.from(ROOT).toString('base64'), other),
      note.replace(ORIGIN, 'warrant.example/ledger2'),
    ];
    for (const t of tampered) {
      assert.notEqual(t, note);
      assert.doesNotThrow(() => parseCheckpoint(t));
      assert.throws(() => verifyCheckpoint(t, [LOG_KEY]), invalid(/does not verify/));
    }
  });

  test('a checkpoint signed by another key fails', () => {
    const forged = signCheckpoint({ origin: ORIGIN, size: 20, root: ROOT }, stranger);
    assert.throws(() => verifyCheckpoint(forged, [LOG_KEY]), invalid(/no signature by a known key/));
    // Same key name as the log, another key: an unknown key (name matches, key hash does not), ignored.
    const impostor = signCheckpoint(
      { origin: ORIGIN, size: 20, root: ROOT },
      { name: ORIGIN, key: stranger.key },
    );
    assert.throws(() => verifyCheckpoint(impostor, [LOG_KEY]), invalid(/no signature by a known key/));
    // A signature line copied from the log onto another body: known key, bad signature, whole note refused.
    const line = note.slice(note.indexOf('\u2014'));
    const spliced = `${ORIGIN}\n21\n${Buffer.from(ROOT).toString('base64')}\n\n${line}`;
    assert.throws(() => verifyCheckpoint(spliced, [LOG_KEY]), invalid(/does not verify/));
  });

  test('cosigned by a witness: verifies with either key, and with both when two are required', () => {
    const both = cosign(note, witness);
    assert.ok(both.startsWith(note));
    assert.equal(parseCheckpoint(both).signatures.length, 2);
    assert.deepEqual(verifyCheckpoint(both, [LOG_KEY]).verifiedBy, [LOG_KEY]);
    assert.deepEqual(verifyCheckpoint(both, [WITNESS_KEY]).verifiedBy, [WITNESS_KEY]);
    assert.deepEqual(verifyCheckpoint(both, [WITNESS_KEY, LOG_KEY], { required: 2 }).verifiedBy, [
      LOG_KEY,
      WITNESS_KEY,
    ]);
    // Not enough: only the log signed, two required.
    assert.throws(
      () => verifyCheckpoint(note, [LOG_KEY, WITNESS_KEY], { required: 2 }),
      invalid(/1 known key\(s\); 2 required/),
    );
    // More required than keys given is a caller mistake.
    assert.throws(() => verifyCheckpoint(both, [LOG_KEY], { required: 2 }), RangeError);
    assert.throws(() => verifyCheckpoint(both, [LOG_KEY], { required: 0 }), RangeError);
    // Co-signing again with the same key changes nothing; a third party can add its line.
    assert.equal(cosign(both, witness), both);
    const three = cosign(both, stranger);
    assert.deepEqual(
      verifyCheckpoint(three, [LOG_KEY, WITNESS_KEY, noteVerifierKey(stranger.name, stranger.key)], {
        required: 3,
      }).verifiedBy.length,
      3,
    );
    // A witness line that does not verify (over another body) spoils the note for anyone who knows the witness.
    const witnessLine = both.slice(both.lastIndexOf('\u2014'));
    const otherBody = signCheckpoint({ origin: ORIGIN, size: 19, root: tree.root(19) }, log);
    const bad = otherBody + witnessLine;
    assert.doesNotThrow(() => verifyCheckpoint(bad, [LOG_KEY]));
    assert.throws(
      () => verifyCheckpoint(bad, [LOG_KEY, WITNESS_KEY]),
      invalid(/witness\.example\/w1.*does not verify/),
    );
    // Cosigning refuses a malformed note.
    assert.throws(() => cosign(note.replace('\n\n', '\n'), witness), invalid());
  });

  test('unknown signature lines are ignored, even when they share a name or a key hash with a known key', () => {
    const hash = LOG_KEY.split('+')[1]!;
    const junk = Buffer.concat([Buffer.from(hash, 'hex'), randomBytes(64)]).toString('base64');
    const junk2 = Buffer.concat([Buffer.from('00000000', 'hex'), randomBytes(64)]).toString('base64');
    const extra = `${note}\u2014 someone.else ${junk}\n\u2014 ${ORIGIN} ${junk2}\n`;
    assert.deepEqual(verifyCheckpoint(extra, [LOG_KEY]).verifiedBy, [LOG_KEY]);
  });

  test('parse rejects malformed notes with a precise message', () => {
    const [body, sigs] = note.split('\n\n') as [string, string];
    const rootB64 = Buffer.from(ROOT).toString('base64');
    const sigLine = sigs.slice(0, -1);
    const cases: [string, unknown, RegExp][] = [
      ['not a string', 42, /not a string/],
      ['missing blank line', `${body}\n${sigs}`, /no blank line/],
      ['no signature lines', `${body}\n\n`, /no signature lines/],
      ['body only', `${body}\n`, /no blank line/],
      ['empty', '', /does not end with a newline/],
      ['truncated: no final newline', note.slice(0, -1), /does not end with a newline/],
      ['truncated: cut inside the signature', `${note.slice(0, -20)}\n`, /base64|shorter/],
      ['truncated: cut inside the body', `${ORIGIN}\n20\n\n${sigs}`, /2 line\(s\)/],
      ['CRLF line ends', note.replaceAll('\n', '\r\n'), /control character U\+000d/],
      ['a tab', note.replace(ORIGIN, `${ORIGIN}\t`), /control character U\+0009/],
      ['lone surrogate', note.replace(ORIGIN, 'a\ud800b'), /lone surrogate/],
      ['size "01"', note.replace(/\n20\n/, '\n020\n'), /tree size "020"/],
      ['size "01" (one)', `${ORIGIN}\n01\n${rootB64}\n\n${sigs}`, /tree size "01" is not a decimal/],
      ['size "+20"', note.replace(/\n20\n/, '\n+20\n'), /tree size/],
      ['size "-0"', note.replace(/\n20\n/, '\n-0\n'), /tree size/],
      ['size "2e1"', note.replace(/\n20\n/, '\n2e1\n'), /tree size/],
      ['size "20.0"', note.replace(/\n20\n/, '\n20.0\n'), /tree size/],
      ['size with a space', note.replace(/\n20\n/, '\n20 \n'), /tree size "20 "/],
      ['size with a leading space', note.replace(/\n20\n/, '\n 20\n'), /tree size/],
      ['size beyond 2^53', note.replace(/\n20\n/, '\n9007199254740993\n'), /too large/],
      ['origin with a trailing space', note.replace(`${ORIGIN}\n`, `${ORIGIN} \n`), /leading or trailing/],
      ['empty origin', note.replace(`${ORIGIN}\n`, '\n'), /empty line/],
      ['root: bad base64', note.replace(rootB64, `${rootB64.slice(0, -2)}!=`), /root hash .* base64/],
      ['root: base64url', note.replace(rootB64, rootB64.replaceAll('+', '-').replaceAll('/', '_')), /base64/],
      ['root: no padding', note.replace(rootB64, rootB64.slice(0, -1)), /base64/],
      ['root: 31 bytes', note.replace(rootB64, Buffer.from(ROOT.subarray(1)).toString('base64')), /31 bytes/],
      [
        'root: 33 bytes',
        note.replace(rootB64, Buffer.concat([ROOT, Buffer.from([0])]).toString('base64')),
        /33 bytes/,
      ],
      ['root: non-zero padding bits', note.replace(rootB64, `${rootB64.slice(0, 42)}B=`), /base64/],
      ['extension line', `${body}\nextra\n\n${sigs}`, /extension lines/],
      ['empty line inside the body', `${ORIGIN}\n\n20\n${rootB64}\n\n${sigs}`, /empty line/],
      [
        'two spaces after the dash',
        `${body}\n\n${sigLine.replace('\u2014 ', '\u2014  ')}\n`,
        /signature line 1/,
      ],
      [
        'two spaces before the signature',
        `${body}\n\n${sigLine.replace(/ (\S+)$/, '  $1')}\n`,
        /signature line 1/,
      ],
      ['trailing space', `${body}\n\n${sigLine} \n`, /signature line 1/],
      ['hyphen for the em dash', `${body}\n\n${sigLine.replace('\u2014', '-')}\n`, /em dash/],
      ['en dash for the em dash', `${body}\n\n${sigLine.replace('\u2014', '\u2013')}\n`, /em dash/],
      ['plus in the key name', `${body}\n\n${sigLine.replace(ORIGIN, 'a+b')}\n`, /signature line 1/],
      [
        'bad signature base64 (no padding)',
        `${body}\n\n${sigLine.slice(0, -1)}\n`,
        /signature line 1 .* base64/,
      ],
      ['signature too short', `${body}\n\n\u2014 x AAAAAA==\n`, /shorter than a key hash/],
      ['an empty signature line', `${note}\n`, /no signature lines/],
      ['101 signatures', `${note}${`${sigLine}\n`.repeat(100)}`, /101 signature lines/],
    ];
    for (const [name, text, message] of cases) {
      assert.throws(() => parseCheckpoint(text as string), invalid(message), name);
      assert.throws(() => verifyCheckpoint(text as string, [LOG_KEY]), invalid(message), name);
    }
  });

  test('signing refuses bad input; ES256 keys and bad names cannot sign notes', () => {
    assert.throws(() => signCheckpoint({ origin: '', size: 1, root: ROOT }, log), TypeError);
    assert.throws(() => signCheckpoint({ origin: 'a\nb', size: 1, root: ROOT }, log), TypeError);
    assert.throws(() => signCheckpoint({ origin: ' a', size: 1, root: ROOT }, log), TypeError);
    assert.throws(() => signCheckpoint({ origin: ORIGIN, size: -1, root: ROOT }, log), RangeError);
    assert.throws(() => signCheckpoint({ origin: ORIGIN, size: 1.5, root: ROOT }, log), RangeError);
    assert.throws(() => signCheckpoint({ origin: ORIGIN, size: 1, root: ROOT.subarray(1) }, log), TypeError);
    const es256 = generateSigningKey('ES256');
    assert.throws(
      () => signCheckpoint({ origin: ORIGIN, size: 1, root: ROOT }, { name: 'x', key: es256 }),
      keyInvalid,
    );
    assert.throws(() => noteVerifierKey('x', es256), keyInvalid);
    for (const name of ['', 'a b', 'a+b', 'a\u00a0b', 'a\nb']) {
      assert.throws(() => noteVerifierKey(name, log.key), keyInvalid, JSON.stringify(name));
      assert.throws(
        () => signCheckpoint({ origin: ORIGIN, size: 1, root: ROOT }, { name, key: log.key }),
        keyInvalid,
      );
    }
  });

  test('verifier keys are checked', () => {
    const [name, hash, key] = [
      LOG_KEY.slice(0, LOG_KEY.indexOf('+')),
      LOG_KEY.split('+')[1]!,
      LOG_KEY.slice(LOG_KEY.indexOf('+', LOG_KEY.indexOf('+') + 1) + 1),
    ];
    const raw = Buffer.from(key, 'base64');
    const bad = [
      '',
      'nohash',
      `${name}+${hash}`,
      `${name}+${hash.toUpperCase() === hash ? '00000000' : hash.toUpperCase()}+${key}`,
      `${name}+${hash.slice(0, 7)}+${key}`,
      `${name}+00000000+${key}`,
      `other+${hash}+${key}`,
      `${name}+${hash}+${Buffer.concat([Buffer.from([2]), raw.subarray(1)]).toString('base64')}`,
      `${name}+${hash}+${raw.subarray(0, 32).toString('base64')}`,
      `${name}+${hash}+${key.replaceAll('+', '-').replaceAll('/', '_')}`,
      `a b+${hash}+${key}`,
    ];
    for (const k of bad) {
      if (k === LOG_KEY) continue;
      assert.throws(() => verifyCheckpoint(note, [k]), keyInvalid, k);
      assert.throws(() => parseNoteVerifierKey(k), keyInvalid, k);
    }
    // Two different keys with the same name and key hash cannot be told apart: refused.
    const same = `${name}+${hash}+${Buffer.concat([Buffer.from([1]), randomBytes(32)]).toString('base64')}`;
    assert.throws(() => verifyCheckpoint(note, [LOG_KEY, same]), keyInvalid);
    // The same key twice is fine.
    assert.deepEqual(verifyCheckpoint(note, [LOG_KEY, LOG_KEY]).verifiedBy, [LOG_KEY]);
  });
});
