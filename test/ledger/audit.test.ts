/**
 * `warrant audit …` and the audit operations of src/ledger/audit, against a real ledger: the `Ledger` class
 * writing SQLite in a temporary data directory, 50 records across two transactions (one with a 3-link
 * chain, denies, outcomes), a checkpoint every 10 records. The CLI runs as a child process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateSigningKey } from '../../src/core/jose/jwk.ts';
import { analyseExcessiveAgency } from '../../src/ledger/audit/excessive-agency.ts';
import { exportOtel, traceIdOf } from '../../src/ledger/audit/export.ts';
import { parseIsoTime, queryRecords } from '../../src/ledger/audit/query.ts';
import type { AuditSource } from '../../src/ledger/audit/source.ts';
import { traceTxn } from '../../src/ledger/audit/trace.ts';
import { verifyExport } from '../../src/ledger/audit/verify-export.ts';
import { whoAuthorised } from '../../src/ledger/audit/who.ts';
import {
  cosign,
  type NoteSigner,
  noteVerifierKey,
  parseCheckpoint,
  signCheckpoint,
  verifyCheckpoint,
} from '../../src/ledger/checkpoint.ts';
import type { DecisionRecord } from '../../src/ledger/decision-log.ts';
import { canonicalJson } from '../../src/ledger/jcs.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { leafHash, MerkleTree, verifyInclusion } from '../../src/ledger/merkle.ts';
import { loadOrCreateLedgerKey } from '../../src/ledger/open-ledger.ts';
import type { LedgerStore } from '../../src/ledger/store/ports.ts';
import { openSqliteLedgerStore } from '../../src/ledger/store/sqlite/sqlite-ledger-store.ts';
import { type BulkLedger, writeBulkLedger } from '../support/bulk-ledger.ts';
import { warrantInProcess } from '../support/cli.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'warrant-audit-'));
const data = join(dir, 'data');
const exportPath = join(dir, 'ledger.jsonl');
after(() => rmSync(dir, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------------------
// The fixture ledger

const ORIGIN = 'warrant.local/ledger';
const TXN_A = '7f3c9a2e-1d4b-4c1e-9a0b-2f6e8d7c5b41';
const TXN_B = '0b1e2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e';
const TASK_A = 'Prepare the Q3 report <script>alert("x")</script>';
const agent = (name: string): string => `spiffe://warrant.local/agent/${name}`;
const PLANNER = agent('planner');
const RESEARCHER = agent('researcher');
const WRITER = agent('writer');
const SUPPORT = agent('support');
const CRM = 'https://tools.example.org/crm';
const DOCS = 'https://tools.example.org/docs';
const MAIL = 'https://tools.example.org/mail';

/** A token hash as the gateway records it: base64url SHA-256, 43 characters. */
const hashOf = (label: string): string => createHash('sha256').update(label).digest('base64url');
const LINK_PLANNER = hashOf('planner-warrant');
const LINK_RESEARCHER = hashOf('researcher-warrant');
const LINK_WRITER = hashOf('writer-warrant');
const LINK_SUPPORT = hashOf('support-warrant');

const ALICE = { sub: 'alice', iss: 'https://idp.example.org' };
const BOB = { sub: 'bob', iss: 'https://idp.example.org' };
const T0 = Date.parse('2025-06-15T10:00:00.000Z');

interface Fixture {
  readonly records: DecisionRecord[];
  readonly verifierKey: string;
  readonly size: number;
}

/** The records, in the order they are appended (outcomes right after their decisions). */
function fixtureRecords(): DecisionRecord[] {
  const out: DecisionRecord[] = [];
  let n = 0;
  const decision = (
    txn: string,
    fields: Partial<DecisionRecord> & Pick<DecisionRecord, 'caller' | 'recipient' | 'action' | 'chain'>,
    status = 200,
  ) => {
    const id = `dec-${String(++n).padStart(3, '0')}`;
    const time = new Date(T0 + n * 7000).toISOString();
    const allowed = (fields.decision ?? 'allow') === 'allow';
    out.push({
      id,
      kind: 'decision',
      time,
      gateway: 'gw-1',
      decision: 'allow',
      reasons: allowed ? ['policy:allow-within-grants'] : ['policy:forbid'],
      person: txn === TXN_A ? ALICE : BOB,
      txn,
      ...(txn === TXN_A ? { task: TASK_A } : { task: 'Answer ticket 4711' }),
      policyVersion: 'sha256:4f9c1e0d',
      risk: { score: allowed ? 5 : 40, factors: [{ name: 'new-recipient', points: allowed ? 5 : 40 }] },
      trustLevel: 1,
      requestDigest: hashOf(`req-${n}`),
      ...fields,
    });
    if (allowed)
      out.push({
        id: `out-${id}`,
        kind: 'outcome',
        time: new Date(T0 + n * 7000 + 40).toISOString(),
        gateway: 'gw-1',
        decisionId: id,
        status,
        latencyMs: 12.5,
      });
  };

  const plannerGrants = [
    { action: 'a2a:message/send', resource: RESEARCHER },
    { action: 'crm:contacts.read', resource: 'crm/*' },
    { action: 'docs:*', resource: 'docs/*' },
  ];
  const researcherGrants = [
    { action: 'crm:contacts.read', resource: 'crm/*' },
    { action: 'docs:*', resource: 'docs/*' },
  ];
  const writerGrants = [{ action: 'docs:write', resource: 'docs/reports/*' }];
  const supportGrants = [
    { action: 'crm:*', resource: 'crm/*' },
    { action: 'email:send', resource: '*' },
  ];
  const chainA1 = [{ hash: LINK_PLANNER, actor: PLANNER }];
  const chainA2 = [...chainA1, { hash: LINK_RESEARCHER, actor: RESEARCHER }];
  const chainA3 = [...chainA2, { hash: LINK_WRITER, actor: WRITER }];
  const chainB = [{ hash: LINK_SUPPORT, actor: SUPPORT }];

  // Transaction A: the planner asks the researcher, who reads the CRM and hands the writing to the writer.
  decision(TXN_A, {
    caller: PLANNER,
    recipient: RESEARCHER,
    action: 'a2a:message/send',
    resource: RESEARCHER,
    granted: plannerGrants,
    used: plannerGrants[0],
    chain: chainA1,
  });
  for (let i = 0; i < 6; i++)
    decision(TXN_A, {
      caller: RESEARCHER,
      recipient: CRM,
      action: 'crm:contacts.read',
      resource: `crm/contacts/${40 + i}`,
      granted: researcherGrants,
      used: researcherGrants[0],
      chain: chainA2,
    });
  decision(TXN_A, {
    caller: RESEARCHER,
    recipient: CRM,
    action: 'crm:contacts.delete',
    resource: 'crm/contacts/41',
    granted: researcherGrants,
    decision: 'deny',
    code: 'WARRANT_GRANT_NOT_HELD',
    chain: chainA2,
  });
  decision(TXN_A, {
    caller: RESEARCHER,
    recipient: WRITER,
    action: 'a2a:message/send',
    resource: WRITER,
    granted: researcherGrants,
    decision: 'deny',
    code: 'WARRANT_CALL_DENIED',
    chain: chainA2,
  });
  for (let i = 0; i < 4; i++)
    decision(TXN_A, {
      caller: WRITER,
      recipient: DOCS,
      action: 'docs:write',
      resource: `docs/reports/q3-${i}`,
      granted: writerGrants,
      used: writerGrants[0],
      chain: chainA3,
    });
  decision(TXN_A, {
    caller: WRITER,
    recipient: DOCS,
    action: 'docs:delete',
    resource: 'docs/reports/q2',
    granted: writerGrants,
    decision: 'deny',
    code: 'WARRANT_GRANT_NOT_HELD',
    chain: chainA3,
  });

  // Transaction B: a support agent holding crm:* and email:send, using only crm:contacts.read.
  for (let i = 0; i < 12; i++)
    decision(TXN_B, {
      caller: SUPPORT,
      recipient: CRM,
      action: 'crm:contacts.read',
      resource: `crm/contacts/${100 + (i % 3)}`,
      granted: supportGrants,
      used: supportGrants[0],
      chain: chainB,
    });
  decision(TXN_B, {
    caller: SUPPORT,
    recipient: MAIL,
    action: 'mail:send',
    resource: 'mail/outbox',
    granted: supportGrants,
    decision: 'deny',
    code: 'WARRANT_GRANT_NOT_HELD',
    chain: chainB,
  });
  return out;
}

/** Writes the fixture ledger into `dataDir`; checkpoints every 10 records, plus one at the end. */
async function buildLedger(dataDir: string): Promise<Fixture> {
  const key = loadOrCreateLedgerKey(dataDir);
  const store = await openSqliteLedgerStore({ path: join(dataDir, 'ledger.db'), synchronous: 'normal' });
  const ledger = await Ledger.open(
    store,
    { name: ORIGIN, key },
    { origin: ORIGIN, checkpointEvery: { records: 10, ms: 60_000 } },
  );
  const records = fixtureRecords();
  for (let i = 0; i < records.length; i += 10) {
    await Promise.all(records.slice(i, i + 10).map((r) => ledger.append(r)));
    await ledger.checkpoint();
  }
  const size = ledger.size;
  const verifierKey = ledger.verifierKey;
  await ledger.close();
  return { records, verifierKey, size };
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const env = { ...process.env, WARRANT_DEBUG: '' };

/** Runs `warrant …` as a child process, to completion, in the temporary directory. */
function warrant(args: readonly string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: dir, env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end();
  });
}

/**
 * Runs `warrant …` in this process (the same `runCli` as the binary, with its output captured): most
 * tests use this, a few spawn the real command to show it behaves the same.
 */
const cli = (args: readonly string[]): Promise<Result> =>
  warrantInProcess(args, env as Record<string, string>);

/** A failure with a reason and no stack trace or "unexpected error". */
function assertCleanFailure(r: Result, code = 1): void {
  assert.equal(r.code, code, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
  assert.doesNotMatch(r.stderr, /unexpected error/);
}

let fixture: Fixture;
let lines: string[];
const D = ['--data', data];

/** Writes a variant of the export and runs `warrant audit verify` on it with the ledger key pinned. */
async function verifyVariant(
  name: string,
  variant: string[] | string,
  { pin = true, spawned = false } = {},
): Promise<Result> {
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, typeof variant === 'string' ? variant : `${variant.join('\n')}\n`);
  return (spawned ? warrant : cli)(['audit', 'verify', path, ...(pin ? ['--key', fixture.verifierKey] : [])]);
}

/** Writes a variant of the export and runs `warrant audit verify` on it with exactly `flags`. */
async function verifyWith(name: string, variant: string[], flags: readonly string[]): Promise<Result> {
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, `${variant.join('\n')}\n`);
  return cli(['audit', 'verify', path, ...flags]);
}

/** The checkpoint note of size `size` in the untouched export. */
function noteAt(size: number): string {
  for (const line of lines) {
    const parsed = JSON.parse(line);
    if (parsed.type === 'checkpoint' && parseCheckpoint(parsed.note).size === size) return parsed.note;
  }
  throw new Error(`no checkpoint of size ${size}`);
}

/** Writes a checkpoint note to a file (a trusted checkpoint saved earlier); returns its path. */
function trustedFile(name: string, note: string): string {
  const path = join(dir, `${name}.cp`);
  writeFileSync(path, note);
  return path;
}

/** The export cut back to its first `size` records and the checkpoints up to `size`. */
function cutTo(size: number): string[] {
  return lines.filter((line, i) => {
    if (i === 0) return true;
    const parsed = JSON.parse(line);
    return parsed.type === 'record' ? parsed.index < size : parseCheckpoint(parsed.note).size <= size;
  });
}

/**
 * The export with `change` applied to its records (each then written as canonical JSON), the tree rebuilt
 * and every checkpoint signed again by `signer` at its size: a different history with valid signatures.
 */
function rewrite(
  signer: NoteSigner,
  change: (record: DecisionRecord & { index: number }) => DecisionRecord & { index: number },
): string[] {
  const tree = new MerkleTree();
  return lines.map((line, i) => {
    if (i === 0) return line;
    const parsed = JSON.parse(line);
    if (parsed.type === 'record') {
      const canonical = canonicalJson(change(parsed.record));
      tree.append(leafHash(Buffer.from(canonical, 'utf8')));
      return `{"type":"record","index":${parsed.index},"record":${canonical}}`;
    }
    const { size } = parseCheckpoint(parsed.note);
    return JSON.stringify({
      type: 'checkpoint',
      note: signCheckpoint({ origin: ORIGIN, size, root: tree.root(size) }, signer),
    });
  });
}

/** The export with the checkpoints of the given sizes co-signed by `witness`. */
function cosigned(witness: NoteSigner, sizes: readonly number[]): string[] {
  return lines.map((line, i) => {
    if (i === 0) return line;
    const parsed = JSON.parse(line);
    if (parsed.type !== 'checkpoint' || !sizes.includes(parseCheckpoint(parsed.note).size)) return line;
    return JSON.stringify({ type: 'checkpoint', note: cosign(parsed.note, witness) });
  });
}

function problemCodes(r: Result): string[] {
  return (JSON.parse(r.stdout) as { problems: { code: string }[] }).problems.map((p) => p.code);
}

/** The 1-based line of record `index` in an untouched export (line 1 is the header). */
const lineOfRecord = (index: number): number => index + 2;

function recordAt(index: number): DecisionRecord & { index: number } {
  return JSON.parse(lines[index + 1]!).record;
}

/** Opens the fixture ledger's store for reading, runs `fn`, closes it. */
async function withStore<T>(fn: (source: AuditSource) => Promise<T>): Promise<T> {
  const store: LedgerStore = await openSqliteLedgerStore({ path: join(data, 'ledger.db') });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

before(async () => {
  fixture = await buildLedger(data);
  const r = await warrant(['audit', 'export', ...D, '--out', exportPath]);
  assert.equal(r.code, 0, r.stderr);
  lines = readFileSync(exportPath, 'utf8').split('\n').slice(0, -1);
});

// ---------------------------------------------------------------------------------------------------------

describe('warrant audit export and verify', () => {
  test('the export is a header, the records in canonical JSON, then every checkpoint', () => {
    assert.equal(fixture.size, 50);
    const header = JSON.parse(lines[0]!);
    assert.deepEqual(header, {
      type: 'warrant-ledger-export',
      version: 1,
      origin: ORIGIN,
      verifierKeys: [fixture.verifierKey],
    });
    for (let i = 0; i < 50; i++) {
      const line = lines[i + 1]!;
      const parsed = JSON.parse(line);
      assert.equal(parsed.index, i);
      assert.equal(line, `{"type":"record","index":${i},"record":${canonicalJson(parsed.record)}}`);
      assert.equal(parsed.record.index, i);
    }
    const notes = lines.slice(51).map((l) => JSON.parse(l));
    assert.deepEqual(
      notes.map((n) => parseCheckpoint(n.note).size),
      [10, 20, 30, 40, 50],
    );
    for (const n of notes) verifyCheckpoint(n.note, [fixture.verifierKey]);
  });

  test('verify passes with the pinned key, and says so', async () => {
    const r = await warrant(['audit', 'verify', exportPath, '--key', fixture.verifierKey]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /verified/);
    assert.match(r.stdout, /records +50/);
    assert.match(r.stdout, /sizes 10, 20, 30, 40, 50/);
    assert.match(r.stdout, /from --key/);
    assert.equal(r.stderr, '');
  });

  test('verify without a trust anchor fails (exit 1, WARRANT_AUDIT_NO_TRUST_ANCHOR) and names the anchors to give', async () => {
    const r = await cli(['audit', 'verify', exportPath, '--json']);
    assertCleanFailure(r);
    const result = JSON.parse(r.stdout);
    assert.equal(result.ok, false);
    assert.equal(result.anchored, false);
    assert.equal(result.keysFrom, 'file');
    assert.deepEqual(
      result.problems.map((p: { code: string }) => p.code),
      ['WARRANT_AUDIT_NO_TRUST_ANCHOR'],
    );
    assert.match(r.stderr, /no trust anchor/);
    assert.match(r.stderr, /WARRANT_AUDIT_NO_TRUST_ANCHOR/);
    for (const flag of ['--key', '--trusted-checkpoint', '--witness-key', 'warrant audit key'])
      assert.ok(r.stderr.includes(flag), flag);
    const spawned = await warrant(['audit', 'verify', exportPath]);
    assertCleanFailure(spawned);
    assert.equal(spawned.stdout, '');
  });
});

describe('tampering makes verify fail and say where', { concurrency: true }, () => {
  test('a changed record field (still canonical JSON)', async () => {
    const changed = [...lines];
    const rec = { ...recordAt(15), resource: 'crm/contacts/999' };
    changed[15 + 1] = `{"type":"record","index":15,"record":${canonicalJson(rec)}}`;
    const r = await verifyVariant('changed', changed, { spawned: true });
    assertCleanFailure(r);
    // The checkpoint of size 10 still verifies; 20 and later do not: the change is in records 10..19.
    assert.match(r.stderr, /line 12: record 10 is the first record covered only by checkpoints that fail/);
    assert.match(r.stderr, /records 10\.\.19 \(lines 12\.\.21\)/);
    assert.match(r.stderr, /do not match checkpoint 20/);
  });

  test('a removed record line', async () => {
    const removed = lines.filter((_, i) => i !== lineOfRecord(30) - 1);
    const r = await verifyVariant('removed', removed);
    assertCleanFailure(r);
    assert.match(r.stderr, /line 32: record 31 where record 30 was expected: record 30 is missing/);
  });

  test('two record lines swapped', async () => {
    const swapped = [...lines];
    [swapped[21], swapped[22]] = [swapped[22]!, swapped[21]!];
    const r = await verifyVariant('swapped', swapped);
    assertCleanFailure(r);
    assert.match(r.stderr, /line 22: record 21 where record 20 was expected/);
    assert.match(r.stderr, /line 23: record 20 where record 22 was expected: records are out of order/);
  });

  test('a forged record line inserted', async () => {
    const forged = { ...recordAt(26), id: 'dec-forged', decision: 'allow', index: 26 };
    const inserted = [...lines];
    inserted.splice(
      lineOfRecord(26) - 1,
      0,
      `{"type":"record","index":26,"record":${canonicalJson(forged)}}`,
    );
    const r = await verifyVariant('inserted', inserted);
    assertCleanFailure(r);
    assert.match(r.stderr, /line 29: record 26 appears again \(first on line 28\)/);
  });

  test('a forged record appended after the last checkpoint is not covered', async () => {
    const forged = { ...recordAt(49), id: 'dec-late', index: 50 };
    const appended = [
      ...lines.slice(0, 51),
      `{"type":"record","index":50,"record":${canonicalJson(forged)}}`,
      ...lines.slice(51),
    ];
    const r = await verifyVariant('appended', appended);
    assertCleanFailure(r);
    assert.match(r.stderr, /line 52: record 50 is not covered by any signed checkpoint/);
  });

  test("a checkpoint's root changed", async () => {
    const last = lines.length - 1;
    const { note } = JSON.parse(lines[last]!);
    const body = note.split('\n');
    body[2] = Buffer.alloc(32, 7).toString('base64');
    const altered = [...lines];
    altered[last] = JSON.stringify({ type: 'checkpoint', note: body.join('\n') });
    const r = await verifyVariant('root', altered);
    assertCleanFailure(r);
    assert.match(
      r.stderr,
      new RegExp(`line ${last + 1}: the checkpoint of size 50: the signature by .* does not verify`),
    );
  });

  test('a checkpoint signed by another key fails when --key pins the right one', async () => {
    const last = lines.length - 1;
    const cp = parseCheckpoint(JSON.parse(lines[last]!).note);
    const other = { name: ORIGIN, key: generateSigningKey('EdDSA') };
    const resigned = [...lines];
    resigned[last] = JSON.stringify({ type: 'checkpoint', note: signCheckpoint(cp, other) });
    const r = await verifyVariant('resigned', resigned);
    assertCleanFailure(r);
    assert.match(
      r.stderr,
      new RegExp(`line ${last + 1}: the checkpoint of size 50 is not signed by a trusted key`),
    );
  });

  test('an export re-signed throughout by another key fails: without an anchor, with --key, with a trusted checkpoint', async () => {
    const other = { name: ORIGIN, key: generateSigningKey('EdDSA') };
    const forgedKey = noteVerifierKey(ORIGIN, other.key);
    const rewritten = lines.map((line, i) => {
      if (i === 0) return JSON.stringify({ ...JSON.parse(line), verifierKeys: [forgedKey] });
      const parsed = JSON.parse(line);
      return parsed.type === 'checkpoint'
        ? JSON.stringify({ type: 'checkpoint', note: signCheckpoint(parseCheckpoint(parsed.note), other) })
        : line;
    });
    const pinned = await verifyVariant('rewritten', rewritten);
    assertCleanFailure(pinned);
    assert.match(pinned.stderr, /not signed by a trusted key/);
    const unpinned = await verifyVariant('rewritten-unpinned', rewritten, { pin: false });
    assertCleanFailure(unpinned);
    assert.equal(unpinned.stdout, '');
    assert.match(unpinned.stderr, /no trust anchor.*\(WARRANT_AUDIT_NO_TRUST_ANCHOR\)/);
    const anchored = await verifyWith('rewritten-anchored', rewritten, [
      '--trusted-checkpoint',
      trustedFile('cp-30', noteAt(30)),
    ]);
    assertCleanFailure(anchored);
    assert.match(
      anchored.stderr,
      /line 1: none of the verifier keys in the header signed the trusted checkpoint of size 30 .*re-signed/,
    );
  });

  test('a record that is not in canonical form', async () => {
    const spaced = [...lines];
    spaced[4] = spaced[4]!.replace(
      '{"type":"record","index":3,"record":{',
      '{"type":"record","index":3,"record":{ ',
    );
    const r = await verifyVariant('spaced', spaced);
    assertCleanFailure(r);
    assert.match(r.stderr, /line 5: record 3 is not written exactly as hashed/);
  });
});

describe('trust anchors: pinned key, trusted checkpoint, witness (DESIGN §8)', () => {
  test('an export cut back to an earlier checkpoint fails against a later trusted checkpoint: WARRANT_AUDIT_EXPORT_ROLLED_BACK', async () => {
    const cut = cutTo(30);
    // On the pinned key alone it verifies: every signature in it is the log's, it is only older.
    const keyOnly = await verifyWith('cut-30', cut, ['--key', fixture.verifierKey]);
    assert.equal(keyOnly.code, 0, keyOnly.stderr);
    const trusted = trustedFile('cp-50', noteAt(50));
    for (const flags of [
      ['--trusted-checkpoint', trusted],
      ['--key', fixture.verifierKey, '--trusted-checkpoint', trusted],
    ]) {
      const r = await verifyWith('cut-30', cut, [...flags, '--json']);
      assertCleanFailure(r);
      assert.deepEqual(problemCodes(r), ['WARRANT_AUDIT_EXPORT_ROLLED_BACK']);
      assert.match(
        r.stderr,
        /the export ends at size 30, before the trusted checkpoint of size 50 .*rolled back/,
      );
      assert.match(r.stderr, /\(WARRANT_AUDIT_EXPORT_ROLLED_BACK\)/);
      assert.match(r.stderr, /rolled back or rewritten/);
    }
  });

  test('a forked log (other records, same size, signed by the same key) fails against a trusted checkpoint: WARRANT_AUDIT_EXPORT_FORKED', async () => {
    const logKey = { name: ORIGIN, key: loadOrCreateLedgerKey(data) };
    const forked = rewrite(logKey, (r) => (r.index === 15 ? { ...r, resource: 'crm/contacts/999' } : r));
    // Every signature in it is the log's own: the pinned key alone cannot tell.
    const keyOnly = await verifyWith('forked', forked, ['--key', fixture.verifierKey]);
    assert.equal(keyOnly.code, 0, keyOnly.stderr);
    for (const size of [30, 50]) {
      const r = await verifyWith('forked', forked, [
        '--trusted-checkpoint',
        trustedFile(`cp-${size}`, noteAt(size)),
        '--json',
      ]);
      assertCleanFailure(r);
      assert.deepEqual(problemCodes(r), ['WARRANT_AUDIT_EXPORT_FORKED']);
      assert.match(
        r.stderr,
        new RegExp(`the export is not consistent with the trusted checkpoint of size ${size} .*forked`),
      );
    }
    // A checkpoint trusted from before the fork (record 15) is consistent with it: that much is the same log.
    const earlier = await verifyWith('forked', forked, [
      '--trusted-checkpoint',
      trustedFile('cp-10', noteAt(10)),
    ]);
    assert.equal(earlier.code, 0, earlier.stderr);
  });

  test('a longer export is proven consistent with a trusted earlier checkpoint, which anchors the log key', async () => {
    const cp = trustedFile('cp-30', noteAt(30));
    const r = await cli(['audit', 'verify', exportPath, '--trusted-checkpoint', cp]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /anchor +consistent with the trusted checkpoint\(s\) of size 30 \(RFC 9162 consistency proof\)/,
    );
    assert.match(r.stdout, /from the file, as signers of the trusted checkpoint/);
    const json = JSON.parse(
      (await cli(['audit', 'verify', exportPath, '--trusted-checkpoint', cp, '--json'])).stdout,
    );
    assert.equal(json.ok, true);
    assert.equal(json.anchored, true);
    assert.deepEqual(json.anchoredBy, ['trusted-checkpoint']);
    assert.deepEqual(json.trustedSizes, [30]);
    assert.deepEqual(json.keys, [fixture.verifierKey]);
  });

  test('records added past the trusted checkpoint under another key fail, even when the header lists that key', async () => {
    const other = { name: ORIGIN, key: generateSigningKey('EdDSA') };
    const extended = rewrite(other, (r) =>
      r.index >= 30 ? { ...r, resource: 'crm/contacts/forged' } : r,
    ).map((line, i) => {
      if (i === 0)
        return JSON.stringify({
          ...JSON.parse(line),
          verifierKeys: [fixture.verifierKey, noteVerifierKey(ORIGIN, other.key)],
        });
      const parsed = JSON.parse(line);
      // The checkpoints up to 30 are the genuine ones.
      if (parsed.type === 'checkpoint' && parseCheckpoint(parsed.note).size <= 30)
        return JSON.stringify({ type: 'checkpoint', note: noteAt(parseCheckpoint(parsed.note).size) });
      return line;
    });
    const r = await verifyWith('extended', extended, [
      '--trusted-checkpoint',
      trustedFile('cp-30', noteAt(30)),
    ]);
    assertCleanFailure(r);
    assert.match(r.stderr, /the checkpoint of size 40 is not signed by a trusted key/);
    assert.match(r.stderr, /the checkpoint of size 50 is not signed by a trusted key/);
  });

  test('--save-checkpoint keeps the anchor for next time; a failed verification saves nothing', async () => {
    const cp = join(dir, 'saved.cp');
    const first = await verifyWith('cut-30', cutTo(30), [
      '--key',
      fixture.verifierKey,
      '--save-checkpoint',
      cp,
    ]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(readFileSync(cp, 'utf8'), noteAt(30));
    assert.match(first.stderr, /saved the checkpoint of size 30 to .*--trusted-checkpoint/);
    const later = await cli([
      'audit',
      'verify',
      exportPath,
      '--trusted-checkpoint',
      cp,
      '--save-checkpoint',
      cp,
    ]);
    assert.equal(later.code, 0, later.stderr);
    assert.equal(readFileSync(cp, 'utf8'), noteAt(50));
    const rolledBack = await verifyWith('cut-30', cutTo(30), [
      '--trusted-checkpoint',
      cp,
      '--save-checkpoint',
      cp,
    ]);
    assertCleanFailure(rolledBack);
    assert.match(rolledBack.stderr, /WARRANT_AUDIT_EXPORT_ROLLED_BACK/);
    assert.equal(
      readFileSync(cp, 'utf8'),
      noteAt(50),
      'the trusted checkpoint is not replaced by an older one',
    );
    const unanchored = await cli(['audit', 'verify', exportPath, '--save-checkpoint', cp]);
    assertCleanFailure(unanchored, 2);
    assert.match(unanchored.stderr, /--save-checkpoint needs --key or --trusted-checkpoint/);
  });

  test('warrant audit key prints the ledger key; audit checkpoint saves the latest checkpoint, checked', async () => {
    const key = await warrant(['audit', 'key', ...D]);
    assert.equal(key.code, 0, key.stderr);
    assert.equal(key.stdout, `${fixture.verifierKey}\n`);
    const cpPath = join(dir, 'latest.cp');
    const cp = await cli(['audit', 'checkpoint', ...D, '--out', cpPath]);
    assert.equal(cp.code, 0, cp.stderr);
    assert.equal(readFileSync(cpPath, 'utf8'), noteAt(50));
    assert.match(cp.stderr, /at size 50 .*saved to/);
    const r = await cli([
      'audit',
      'verify',
      exportPath,
      '--key',
      key.stdout.trim(),
      '--trusted-checkpoint',
      cpPath,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /anchor +the pinned key \(--key\); consistent with the trusted checkpoint\(s\) of size 50/,
    );
    // Checked against another key, nothing is saved.
    const wrongPath = join(dir, 'wrong.cp');
    const wrong = await cli([
      'audit',
      'checkpoint',
      ...D,
      '--key',
      noteVerifierKey(ORIGIN, generateSigningKey('EdDSA')),
      '--out',
      wrongPath,
    ]);
    assertCleanFailure(wrong);
    assert.match(wrong.stderr, /does not verify/);
    assert.equal(existsSync(wrongPath), false);
    const noKey = await cli(['audit', 'key', '--data', join(dir, 'nowhere')]);
    assertCleanFailure(noKey);
  });

  test('a checkpoint co-signed by a trusted witness anchors the export; an untrusted witness anchors nothing', async () => {
    const witness = { name: 'witness.example/w1', key: generateSigningKey('EdDSA') };
    const witnessKey = noteVerifierKey(witness.name, witness.key);
    const stranger = noteVerifierKey('witness.example/w2', generateSigningKey('EdDSA'));
    const witnessed = cosigned(witness, [50]);
    const ok = await verifyWith('witnessed', witnessed, ['--witness-key', witnessKey]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /anchor +co-signed by a trusted witness \(sizes 50\)/);
    const json = JSON.parse(
      (await verifyWith('witnessed', witnessed, ['--witness-key', witnessKey, '--json'])).stdout,
    );
    assert.equal(json.anchored, true);
    assert.deepEqual(json.anchoredBy, ['witness']);
    assert.deepEqual(json.witnessedSizes, [50]);

    const untrusted = await verifyWith('witnessed', witnessed, ['--witness-key', stranger, '--json']);
    assertCleanFailure(untrusted);
    assert.deepEqual(problemCodes(untrusted), ['WARRANT_AUDIT_NO_TRUST_ANCHOR']);
    assert.match(untrusted.stderr, /no checkpoint is co-signed by a trusted witness key/);

    // A witness that co-signed up to size 30 vouches for records 0..29, not for the 20 after.
    const partly = await verifyWith('witnessed-30', cosigned(witness, [30]), ['--witness-key', witnessKey]);
    assertCleanFailure(partly);
    assert.match(partly.stderr, /records 30\.\.49 are covered by no checkpoint a trust anchor vouches for/);

    // A co-signature that does not verify over its checkpoint is a tampered checkpoint.
    const broken = witnessed.map((line) => {
      const parsed = JSON.parse(line);
      if (parsed.type !== 'checkpoint' || !parsed.note.includes(witness.name)) return line;
      const note: string = parsed.note;
      const sig = note.slice(note.lastIndexOf(' ') + 1, -1);
      const other = Buffer.from(sig, 'base64');
      other[10] = (other[10] ?? 0) ^ 1;
      return JSON.stringify({ type: 'checkpoint', note: note.replace(sig, other.toString('base64')) });
    });
    const altered = await verifyWith('witness-altered', broken, ['--witness-key', witnessKey]);
    assertCleanFailure(altered);
    assert.match(altered.stderr, /the checkpoint of size 50: the witness signature by witness\.example\/w1/);
  });

  test('a malformed trusted checkpoint or witness key is refused before reading the export', async () => {
    const bad = trustedFile('bad', 'not a checkpoint\n');
    const r = await cli(['audit', 'verify', exportPath, '--trusted-checkpoint', bad]);
    assertCleanFailure(r);
    assert.match(r.stderr, /--trusted-checkpoint .*bad\.cp: checkpoint: /);
    const missing = await cli(['audit', 'verify', exportPath, '--trusted-checkpoint', join(dir, 'none.cp')]);
    assertCleanFailure(missing);
    assert.match(missing.stderr, /cannot read --trusted-checkpoint .*none\.cp \(ENOENT\)/);
    const key = await cli(['audit', 'verify', exportPath, '--witness-key', 'nope']);
    assertCleanFailure(key, 2);
    assert.match(key.stderr, /--witness-key: note key/);
  });
});

describe('warrant audit export writes its file whole or not at all', () => {
  const bulkData = join(dir, 'bulk');
  let bulk: BulkLedger;
  before(async () => {
    // 70,000 records and 1,400 checkpoints: written in 7 chunks of 10,000 records and many small
    // checkpoint lines, each chunk more than a write buffer holds (back-pressure every time).
    bulk = await writeBulkLedger(bulkData, { records: 70_000, every: 50 });
  });

  test('a large export emits no MaxListenersExceededWarning (no listener added per write)', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const out = join(dir, 'bulk.jsonl');
      const r = await cli(['audit', 'export', '--data', bulkData, '--out', out]);
      assert.equal(r.code, 0, r.stderr);
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      assert.deepEqual(
        warnings.map((w) => `${w.name}: ${w.message}`),
        [],
      );
      const v = await cli(['audit', 'verify', out, '--key', bulk.verifierKey]);
      assert.equal(v.code, 0, v.stderr);
      assert.match(v.stdout, /records +70000/);
    } finally {
      process.off('warning', onWarning);
    }
  });

  test('an export killed part way (kill -9) leaves the existing target intact', async () => {
    const work = mkdtempSync(join(dir, 'kill-'));
    const target = join(work, 'ledger.jsonl');
    writeFileSync(target, 'the previous export\n');
    const child = spawn(process.execPath, [MAIN, 'audit', 'export', '--data', bulkData, '--out', target], {
      cwd: dir,
      env,
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let caught = false;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      // Part way: a file beside the target is being written, or the target itself was touched.
      if (readdirSync(work).length > 1 || readFileSync(target, 'utf8') !== 'the previous export\n') {
        caught = child.kill('SIGKILL');
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await exited;
    assert.ok(caught, 'the export was caught part way');
    assert.equal(readFileSync(target, 'utf8'), 'the previous export\n');
  });

  test('an export that fails part way (a record missing from the store) leaves the target intact and no temporary file', async () => {
    const db = new DatabaseSync(join(bulkData, 'ledger.db'));
    db.prepare('DELETE FROM ledger_records WHERE idx = ?').run(25_000);
    db.close();
    const work = mkdtempSync(join(dir, 'gap-'));
    const target = join(work, 'ledger.jsonl');
    writeFileSync(target, 'the previous export\n');
    const r = await cli(['audit', 'export', '--data', bulkData, '--out', target]);
    assertCleanFailure(r);
    assert.match(r.stderr, /ledger corrupt at index 25000: the record is missing from the store/);
    assert.match(r.stderr, /WARRANT_LEDGER_CORRUPT/);
    assert.equal(readFileSync(target, 'utf8'), 'the previous export\n');
    assert.deepEqual(readdirSync(work), ['ledger.jsonl']);
  });
});

describe('verify never crashes on garbage', { concurrency: true }, () => {
  test('an empty file', async () => {
    const r = await verifyVariant('empty', '');
    assertCleanFailure(r);
    assert.match(r.stderr, /line 1: the file is empty/);
  });

  test('binary data', async () => {
    const r = await verifyVariant('binary', randomBytes(64 * 1024).toString('latin1'), { spawned: true });
    assertCleanFailure(r);
    assert.match(r.stderr, /line 1: /);
  });

  test('a file cut in the middle of its last line', async () => {
    const text = readFileSync(exportPath, 'utf8');
    const r = await verifyVariant('truncated', text.slice(0, text.length - 40));
    assertCleanFailure(r);
    assert.match(r.stderr, new RegExp(`line ${lines.length}: not JSON: .*truncated`));
  });

  test('a 2 MiB line', async () => {
    const huge = [lines[0]!, `{"type":"record","index":0,"record":{"x":"${'a'.repeat(2 * 1024 * 1024)}"}}`];
    const r = await verifyVariant('huge', huge, { spawned: true });
    assertCleanFailure(r);
    assert.match(r.stderr, /line 2: the line is \d+ bytes, longer than the 1048576-byte limit/);
  });

  test('lines of the wrong types', async () => {
    const r = await verifyVariant('types', [
      lines[0]!,
      '{"type":"record","index":"zero","record":{}}',
      '{"type":"record","index":1,"record":[1,2]}',
      '{"type":"checkpoint","note":42}',
      '[1,2,3]',
    ]);
    assertCleanFailure(r);
    assert.match(r.stderr, /line 2: "index" must be a non-negative integer/);
    assert.match(r.stderr, /line 3: "record" must be a JSON object \(got an array\)/);
    assert.match(r.stderr, /line 4: "note" must be a string/);
    assert.match(r.stderr, /line 5: unknown line type/);
  });

  test('a file that is not an export, and a missing file', async () => {
    const notExport = await verifyVariant('not-export', ['{"hello":"world"}']);
    assertCleanFailure(notExport);
    assert.match(notExport.stderr, /line 1: not a Warrant ledger export/);
    const missing = await cli(['audit', 'verify', join(dir, 'nope.jsonl')]);
    assertCleanFailure(missing);
    assert.match(missing.stderr, /cannot read .*nope\.jsonl \(ENOENT\)/);
  });

  test('a malformed --key is a usage error', async () => {
    const r = await cli(['audit', 'verify', exportPath, '--key', 'not-a-key']);
    assertCleanFailure(r, 2);
    assert.match(r.stderr, /--key: note key/);
  });

  test('the verifier itself, in process, on random bytes and random lines', async () => {
    for (let i = 0; i < 50; i++) {
      const chunks = [
        randomBytes(1 + ((i * 97) % 3000)),
        Buffer.from(`\n${lines[0]}\n`),
        randomBytes(i * 13),
      ];
      const result = await verifyExport(
        (async function* () {
          yield* chunks;
        })(),
        { verifierKeys: [fixture.verifierKey] },
      );
      assert.equal(result.ok, false);
      assert.ok(result.problems.length > 0);
      for (const p of result.problems) assert.match(p.message, /^(line \d+: |no checkpoint|cannot read)/);
    }
  });
});

describe('warrant audit trace', () => {
  test('prints the call tree with each hop, its grants and the decisions made there', async () => {
    const r = await warrant(['audit', 'trace', '--txn', TXN_A, ...D]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout;
    assert.match(out, /14 decision\(s\), 3 not allowed/);
    assert.match(out, /person alice \(https:\/\/idp\.example\.org\)/);
    const planner = out.indexOf(`hop 0: ${PLANNER}`);
    const researcher = out.indexOf(`hop 1: ${RESEARCHER}`);
    const writer = out.indexOf(`hop 2: ${WRITER}`);
    assert.ok(planner >= 0 && planner < researcher && researcher < writer, 'root → hops, in order');
    assert.ok(out.includes(`[link ${LINK_WRITER}]`));
    assert.match(out, /grants: +docs:write on docs\/reports\/\*/);
    assert.match(
      out,
      /recipients: https:\/\/tools\.example\.org\/crm, spiffe:\/\/warrant\.local\/agent\/writer/,
    );
    assert.match(
      out,
      /DENY docs:delete docs\/reports\/q2 -> https:\/\/tools\.example\.org\/docs \(policy:forbid\)/,
    );
    assert.match(
      out,
      /ALLOW crm:contacts\.read crm\/contacts\/40 -> https:\/\/tools\.example\.org\/crm \[200, 12\.5 ms\]/,
    );
  });

  test('--json gives the tree', async () => {
    const r = await cli(['audit', 'trace', TXN_A, ...D, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const trace = JSON.parse(r.stdout);
    assert.equal(trace.roots.length, 1);
    const [root] = trace.roots;
    assert.equal(root.actor, PLANNER);
    assert.equal(root.children[0].actor, RESEARCHER);
    const leaf = root.children[0].children[0];
    assert.equal(leaf.actor, WRITER);
    assert.equal(leaf.hash, LINK_WRITER);
    assert.equal(leaf.depth, 2);
    assert.equal(leaf.calls.length, 5);
    assert.deepEqual(
      leaf.calls.map((c: { decision: string }) => c.decision),
      ['allow', 'allow', 'allow', 'allow', 'deny'],
    );
  });

  test('an unknown transaction fails with what to do', async () => {
    const r = await cli(['audit', 'trace', '--txn', 'no-such-txn', ...D]);
    assertCleanFailure(r);
    assert.match(r.stderr, /no ledger record belongs to transaction "no-such-txn"/);
  });

  test('a data directory without a ledger fails with what to do', async () => {
    const r = await cli(['audit', 'trace', '--txn', TXN_A, '--data', join(dir, 'empty-data')]);
    assertCleanFailure(r);
    assert.match(r.stderr, /no ledger at .*ledger\.db/);
    assert.match(r.stderr, /--data/);
  });
});

describe('warrant audit who', () => {
  const writerCall = () => fixture.records.findIndex((r) => r.caller === WRITER && r.decision === 'allow');

  test('names the person, the chain, the grant, the policy and the decision, with a verified proof', async () => {
    const index = writerCall();
    const r = await warrant(['audit', 'who', String(index), ...D, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const who = JSON.parse(r.stdout);
    assert.deepEqual(who.person, { sub: 'alice', iss: 'https://idp.example.org' });
    assert.deepEqual(
      who.chain.map((l: { actor: string; hash: string }) => [l.actor, l.hash]),
      [
        [PLANNER, LINK_PLANNER],
        [RESEARCHER, LINK_RESEARCHER],
        [WRITER, LINK_WRITER],
      ],
    );
    assert.deepEqual(who.used, { action: 'docs:write', resource: 'docs/reports/*' });
    assert.equal(who.policyVersion, 'sha256:4f9c1e0d');
    assert.equal(who.decision, 'allow');
    assert.deepEqual(who.reasons, ['policy:allow-within-grants']);
    assert.equal(who.outcome.status, 200);
    assert.equal(who.inclusion.verified, true);
    assert.equal(who.inclusion.signature, 'verified');

    // The proof checks independently: the record's canonical JSON, the proof, the signed checkpoint.
    const signed = verifyCheckpoint(who.inclusion.checkpoint, [fixture.verifierKey]);
    assert.equal(signed.size, 50);
    const leaf = leafHash(
      new TextEncoder().encode(
        lines[index + 1]!.slice(`{"type":"record","index":${index},"record":`.length, -1),
      ),
    );
    assert.equal(Buffer.from(leaf).toString('base64'), who.inclusion.leafHash);
    const proof = who.inclusion.proof.map((p: string) => new Uint8Array(Buffer.from(p, 'base64')));
    assert.ok(verifyInclusion(leaf, index, signed.size, proof, signed.root));
  });

  test('text output, and an index past the log', async () => {
    const r = await cli(['audit', 'who', String(writerCall()), ...D]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /person +alice \(issuer https:\/\/idp\.example\.org\)/);
    assert.match(
      r.stdout,
      /proof +included in the checkpoint of size 50 of warrant\.local\/ledger: verified/,
    );
    const past = await cli(['audit', 'who', '500', ...D]);
    assertCleanFailure(past);
    assert.match(past.stderr, /no record 500: the ledger holds 50 record\(s\)/);
    const bad = await cli(['audit', 'who', 'x1', ...D]);
    assertCleanFailure(bad, 2);
  });

  test("a checkpoint key that is not the ledger's fails the proof", async () => {
    const stranger = noteVerifierKey(ORIGIN, generateSigningKey('EdDSA'));
    const r = await cli(['audit', 'who', '3', ...D, '--key', stranger]);
    assertCleanFailure(r);
    assert.match(r.stderr, /WARRANT_AUDIT_PROOF_INVALID/);
  });

  test('the API answers the same in process', async () => {
    const who = await withStore((s) => whoAuthorised(s, 0, { verifierKeys: [fixture.verifierKey] }));
    assert.equal(who.caller, PLANNER);
    assert.equal(who.inclusion?.verified, true);
  });
});

describe('warrant audit query', () => {
  test('filters by person, agent, action, decision and time', async () => {
    const bob = JSON.parse((await cli(['audit', 'query', ...D, '--person', 'bob', '--json'])).stdout);
    assert.equal(bob.records.length, 13);
    assert.ok(bob.records.every((r: DecisionRecord) => r.person?.sub === 'bob'));

    const denies = JSON.parse((await cli(['audit', 'query', ...D, '--decision', 'deny', '--json'])).stdout);
    assert.deepEqual(
      denies.records.map((r: DecisionRecord) => r.action),
      ['crm:contacts.delete', 'a2a:message/send', 'docs:delete', 'mail:send'],
    );

    const agent = await cli(['audit', 'query', ...D, '--agent', WRITER, '--action', 'docs:write', '--json']);
    assert.equal(JSON.parse(agent.stdout).records.length, 4);

    const late = await cli([
      'audit',
      'query',
      ...D,
      '--since',
      '2025-06-15T10:01:30Z',
      '--until',
      '2025-06-15T10:02:00Z',
      '--json',
    ]);
    const times = JSON.parse(late.stdout).records.map((r: DecisionRecord) => Date.parse(r.time));
    assert.ok(times.length > 0);
    assert.ok(
      times.every(
        (t: number) => t >= Date.parse('2025-06-15T10:01:30Z') && t < Date.parse('2025-06-15T10:02:00Z'),
      ),
    );
  });

  test('--limit pages, and the next page starts --after', async () => {
    const first = await cli(['audit', 'query', ...D, '--limit', '5', '--json']);
    const page = JSON.parse(first.stdout);
    assert.deepEqual(
      page.records.map((r: { index: number }) => r.index),
      [0, 1, 2, 3, 4],
    );
    assert.equal(page.next, 4);
    const text = await cli(['audit', 'query', ...D, '--limit', '5', '--after', '4']);
    assert.match(text.stdout, /^#5 /);
    assert.match(text.stderr, /--after 9/);
  });

  test('a malformed time exits 2 naming the flag', async () => {
    for (const [flag, value] of [
      ['--since', 'yesterday'],
      ['--until', '2025-02-30'],
      ['--since', '2025-06-15T25:00:00Z'],
    ] as const) {
      // The first one through the real command, the others in process.
      const r = await (value === 'yesterday' ? warrant : cli)(['audit', 'query', ...D, flag, value]);
      assertCleanFailure(r, 2);
      assert.match(r.stderr, new RegExp(`${flag}: "${value}" is not`));
    }
    const decision = await cli(['audit', 'query', ...D, '--decision', 'maybe']);
    assertCleanFailure(decision, 2);
    assert.match(decision.stderr, /--decision: must be one of allow, deny/);
    const limit = await cli(['audit', 'query', ...D, '--limit', 'ten']);
    assertCleanFailure(limit, 2);
    assert.match(limit.stderr, /--limit/);
  });

  test('the API parses ISO 8601 strictly', async () => {
    assert.equal(parseIsoTime('2025-06-15', 'since'), Date.parse('2025-06-15T00:00:00Z'));
    assert.equal(parseIsoTime('2025-06-15T12:00:00+02:00', 'since'), Date.parse('2025-06-15T10:00:00Z'));
    assert.throws(() => parseIsoTime('15/06/2025', 'since'), {
      code: 'WARRANT_AUDIT_QUERY_INVALID',
      field: 'since',
    });
    const { items } = await withStore((s) => queryRecords(s, { txn: TXN_B, decision: 'allow', limit: 3 }));
    assert.equal(items.length, 3);
  });
});

describe('warrant audit report excessive-agency', () => {
  test('flags a crm:* grant used for one action only, and a grant never used', async () => {
    const r = await cli(['audit', 'report', 'excessive-agency', ...D, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    const broad = report.findings.find(
      (f: { kind: string; caller: string }) => f.kind === 'broad-grant' && f.caller === SUPPORT,
    );
    assert.ok(broad, 'crm:* is flagged');
    assert.deepEqual(broad.grant, { action: 'crm:*', resource: 'crm/*' });
    assert.deepEqual(broad.evidence.usedActions, ['crm:contacts.read']);
    assert.equal(broad.evidence.usedIn, 12);
    assert.deepEqual(broad.suggestion, [{ action: 'crm:contacts.read', resource: 'crm/*' }]);
    const unused = report.findings.find(
      (f: { kind: string; caller: string; grant: { action: string } }) =>
        f.kind === 'unused-grant' && f.caller === SUPPORT && f.grant.action === 'email:send',
    );
    assert.ok(unused, 'email:send is never used');
    assert.equal(unused.evidence.heldIn, 13);
    // The writer uses exactly what it holds.
    assert.ok(!report.findings.some((f: { caller: string }) => f.caller === WRITER));
    const row = report.rows.find(
      (x: { caller: string; action: string }) => x.caller === SUPPORT && x.action === 'crm:contacts.read',
    );
    assert.deepEqual([row.allowed, row.denied, row.grantsHeld], [12, 0, 2]);

    const text = await cli(['audit', 'report', 'excessive-agency', ...D, '--since', '2025-06-15']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /broad-grant +spiffe:\/\/warrant\.local\/agent\/support holds crm:\* on crm\/\* but only crm:contacts\.read used/,
    );
  });

  test('flags a caller holding far more grants than its peers doing the same action', () => {
    const call = (caller: string, granted: unknown[]): DecisionRecord => ({
      id: `${caller}-${granted.length}`,
      kind: 'decision',
      time: '2025-06-15T10:00:00Z',
      gateway: 'gw',
      decision: 'allow',
      caller,
      action: 'crm:contacts.read',
      resource: 'crm/contacts/1',
      granted,
      used: granted[0],
    });
    const read = { action: 'crm:contacts.read', resource: 'crm/*' };
    const extra = [
      'crm:contacts.write',
      'crm:contacts.delete',
      'billing:read',
      'billing:refund',
      'email:send',
    ].map((action) => ({ action, resource: '*' }));
    const report = analyseExcessiveAgency([
      call(agent('a'), [read]),
      call(agent('b'), [read]),
      call(agent('c'), [read, extra[0]]),
      call(agent('greedy'), [read, ...extra]),
    ]);
    const finding = report.findings.find((f) => f.kind === 'above-typical');
    assert.ok(finding);
    assert.equal(finding.caller, agent('greedy'));
    assert.deepEqual(finding.evidence, { held: 6, median: 1.5, peers: 4, action: 'crm:contacts.read' });
  });
});

describe('warrant audit report disclosure', () => {
  test('writes a self-contained HTML page with the person, the agents, and every text escaped', async () => {
    const out = join(dir, 'disclosure.html');
    const r = await cli(['audit', 'report', 'disclosure', '--txn', TXN_A, '--out', out, ...D]);
    assert.equal(r.code, 0, r.stderr);
    const html = readFileSync(out, 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.ok(html.includes('alice'));
    for (const name of ['planner', 'researcher', 'writer']) assert.ok(html.includes(`>${name}<`), name);
    assert.ok(html.includes('<svg'));
    assert.ok(html.includes('docs:delete'));
    assert.ok(!html.includes('<script'), 'no script element, none injected');
    assert.ok(
      html.includes('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;'),
      'the task name is escaped',
    );
    assert.doesNotMatch(html, /(src|href)=["']?(https?:)?\/\//, 'no external assets');
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  });

  test('needs --txn', async () => {
    const r = await cli(['audit', 'report', 'disclosure', ...D]);
    assertCleanFailure(r, 2);
    assert.match(r.stderr, /--txn/);
    const unknown = await cli(['audit', 'report', 'nonsense', ...D]);
    assertCleanFailure(unknown, 2);
  });
});

describe('warrant audit export --format otel', () => {
  test('each transaction is a trace, each hop a span, each decision a span under its hop', async () => {
    const r = await cli(['audit', 'export', '--format', 'otel', '--txn', TXN_A, ...D]);
    assert.equal(r.code, 0, r.stderr);
    const otlp = JSON.parse(r.stdout);
    const spans = otlp.resourceSpans[0].scopeSpans[0].spans;
    const traceId = createHash('sha256').update(TXN_A).digest('hex').slice(0, 32);
    assert.equal(traceIdOf(TXN_A), traceId);
    assert.ok(spans.every((s: { traceId: string }) => s.traceId === traceId));
    const attr = (s: { attributes: { key: string; value: { stringValue?: string } }[] }, key: string) =>
      s.attributes.find((a) => a.key === key)?.value.stringValue;
    const hops = spans.filter((s: { kind: number }) => s.kind === 1);
    assert.deepEqual(
      hops.map((s: never) => attr(s, 'warrant.actor')),
      [PLANNER, RESEARCHER, WRITER],
    );
    assert.equal(hops[1].parentSpanId, hops[0].spanId);
    assert.equal(hops[2].parentSpanId, hops[1].spanId);
    assert.equal(hops[0].spanId, Buffer.from(LINK_PLANNER, 'base64url').subarray(0, 8).toString('hex'));
    const calls = spans.filter((s: { kind: number }) => s.kind === 3);
    assert.equal(calls.length, 14);
    const denied = calls.find((s: never) => attr(s, 'warrant.action') === 'docs:delete');
    assert.equal(denied.parentSpanId, hops[2].spanId);
    assert.equal(attr(denied, 'warrant.decision'), 'deny');
    assert.equal(attr(denied, 'warrant.person'), 'alice');
    assert.equal(attr(denied, 'warrant.policy_version'), 'sha256:4f9c1e0d');
    assert.equal(denied.status.code, 2);

    const all = await withStore((s) => exportOtel(s));
    const traces = new Set(all.resourceSpans[0]!.scopeSpans[0]!.spans.map((s) => s.traceId));
    assert.equal(traces.size, 2);
  });

  test('JSON Lines takes no filter: it is the whole log', async () => {
    const r = await cli(['audit', 'export', '--txn', TXN_A, ...D]);
    assertCleanFailure(r, 2);
    assert.match(r.stderr, /--txn applies to --format otel only/);
  });
});

describe('the API', () => {
  test('trace of a transaction in process', async () => {
    const trace = await withStore((s) => traceTxn(s, TXN_B));
    assert.equal(trace.roots.length, 1);
    assert.equal(trace.roots[0]!.actor, SUPPORT);
    assert.equal(trace.decisions, 13);
    assert.equal(trace.denied, 1);
  });

  test('warrant audit --help lists the subcommands', async () => {
    const r = await cli(['audit', '--help']);
    assert.equal(r.code, 0);
    for (const sub of ['trace', 'who', 'query', 'verify', 'export', 'key', 'checkpoint', 'report'])
      assert.match(r.stdout, new RegExp(`audit ${sub} `));
    const help = await cli(['audit', 'verify', '--help']);
    assert.match(help.stdout, /Example/);
  });
});
