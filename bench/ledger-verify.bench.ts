/**
 * Offline verification of a ledger export (DESIGN §9: a 1,000,000-record export in ≤ 30 s), beside the
 * irreducible cost measured in the same run: reading the same file and hashing every line once.
 *   BENCH_LEDGER_VERIFY_N=100000 npm run bench -- ledger-verify   # a smaller export
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey } from '../src/core/jose/jwk.ts';
import { verifyExportFile } from '../src/ledger/audit/verify-export.ts';
import { canonicalRecord } from '../src/ledger/canonical-record.ts';
import { noteVerifierKey, signCheckpoint } from '../src/ledger/checkpoint.ts';
import { leafHash, MerkleTree } from '../src/ledger/merkle.ts';
import { goal } from './lib/measure.ts';

export async function run(): Promise<void> {
  const n = Number(process.env['BENCH_LEDGER_VERIFY_N'] ?? 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'warrant-ledger-verify-'));
  const path = join(dir, 'export.jsonl');
  const key = generateSigningKey();
  const origin = 'bench.warrant/ledger';
  const signer = { name: origin, key };
  try {
    const started = performance.now();
    const out = createWriteStream(path);
    const write = (text: string) =>
      out.write(text) ? undefined : new Promise<void>((r) => out.once('drain', () => r()));
    await write(
      `${JSON.stringify({ type: 'warrant-ledger-export', version: 1, origin, verifierKeys: [noteVerifierKey(origin, key)] })}\n`,
    );
    const tree = new MerkleTree();
    const notes: string[] = [];
    const txn = () => `txn_${randomBytes(9).toString('base64url')}`;
    let currentTxn = txn();
    for (let i = 0; i < n; i++) {
      if (i % 7 === 0) currentTxn = txn();
      const record = {
        id: `d-${i}`,
        kind: 'decision',
        time: new Date(1_800_000_000_000 + i).toISOString(),
        gateway: 'gw-bench',
        decision: i % 5 === 0 ? 'deny' : 'allow',
        reasons: ['call-low-risk'],
        person: { sub: `person-${i % 1000}@example.org`, iss: 'https://idp.example.org' },
        caller: `spiffe://bench.warrant/agent/a${i % 50}`,
        recipient: 'https://tools.bench.warrant/crm',
        action: 'crm:contacts.read',
        resource: 'https://tools.bench.warrant/crm',
        chain: [
          {
            hash: createHash('sha256')
              .update(`r${i % 997}`)
              .digest('base64url'),
            actor: 'spiffe://bench.warrant/agent/planner',
          },
          {
            hash: createHash('sha256').update(`h${i}`).digest('base64url'),
            actor: `spiffe://bench.warrant/agent/a${i % 50}`,
          },
        ],
        txn: currentTxn,
        policyVersion: 'sha256:bench',
        risk: { score: 12, factors: [{ name: 'impact:low', points: 5 }] },
      };
      const canonical = canonicalRecord(record, i);
      tree.append(leafHash(Buffer.from(canonical, 'utf8')));
      const line = `{"type":"record","index":${i},"record":${canonical}}\n`;
      const wait = write(line);
      if (wait) await wait;
      if ((i + 1) % 100_000 === 0 || i + 1 === n)
        notes.push(signCheckpoint({ origin, size: i + 1, root: tree.root() }, signer));
    }
    for (const note of notes) await write(`${JSON.stringify({ type: 'checkpoint', note })}\n`);
    await new Promise<void>((r) => out.end(() => r()));
    const bytes = statSync(path).size;
    console.log(
      `\nledger export verification: ${n.toLocaleString('en-US')} records, ${notes.length} checkpoints, ${(bytes / 1e6).toFixed(0)} MB (written in ${((performance.now() - started) / 1000).toFixed(1)} s, untimed)`,
    );

    // Baseline: read the file and SHA-256 every line once — what any verifier must at least do.
    const b0 = performance.now();
    let lines = 0;
    let rest = Buffer.alloc(0);
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
      let data = Buffer.concat([rest, chunk as Buffer]);
      let start = 0;
      for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
        createHash('sha256').update(data.subarray(start, nl)).digest();
        lines++;
        start = nl + 1;
      }
      rest = Buffer.from(data.subarray(start));
      data = Buffer.alloc(0);
    }
    const baseline = (performance.now() - b0) / 1000;

    const v0 = performance.now();
    const result = await verifyExportFile(path, { verifierKeys: [noteVerifierKey(origin, key)] });
    const seconds = (performance.now() - v0) / 1000;
    if (!result.ok) console.log(`VERIFY FAILED: ${JSON.stringify(result.problems.slice(0, 3))}`);
    console.log(`case                                   seconds   × baseline`);
    console.log(
      `read + SHA-256 every line (baseline)   ${baseline.toFixed(2).padStart(7)}   baseline  (${lines} lines)`,
    );
    console.log(
      `warrant audit verify (offline, full)   ${seconds.toFixed(2).padStart(7)}   ${(seconds / baseline).toFixed(2).padStart(8)}  (ok: ${result.ok})`,
    );
    // Verification is one pass over the export: a smaller run (npm run bench -- --check) projects linearly.
    const projected = (seconds * 1_000_000) / n;
    goal({
      figure: 'offline verification of a 1,000,000-record export',
      goal: '≤ 15 s',
      measured:
        n === 1_000_000
          ? `${seconds.toFixed(1)} s`
          : `${projected.toFixed(1)} s (projected from ${n.toLocaleString('en-US')} records)`,
      baseline: `read + SHA-256 every line ${((baseline * 1_000_000) / n).toFixed(1)} s per 10⁶ (${(seconds / baseline).toFixed(2)} ×)`,
      met: result.ok && projected <= 15,
    });
    if (n === 1_000_000)
      console.log(
        `DESIGN §9: offline verification of 1,000,000 records ≤ 30 s: ${seconds <= 30 ? 'pass' : 'MISS'} (${seconds.toFixed(1)} s)`,
      );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
