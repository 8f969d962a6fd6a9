/**
 * Ledger proofs (DESIGN §9: "proof generation O(log n)"): RFC 9162 inclusion and consistency proof
 * generation and inclusion proof verification in trees of 10^3 … 10^6 leaves, beside a raw SHA-256 of 32
 * bytes measured in the same run. The last table divides each cost by log2(n): flat columns mean O(log n).
 */
import { hash, randomBytes } from 'node:crypto';
import { leafHash, MerkleTree, verifyInclusion } from '../src/ledger/merkle.ts';
import { type Measurement, measure, report } from './lib/measure.ts';

const SIZES = [1_000, 10_000, 100_000, 1_000_000];

interface Row {
  n: number;
  buildMs: number;
  inclusion: Measurement;
  consistency: Measurement;
  verify: Measurement;
  inclusionLength: number;
  consistencyLength: number;
}

/** A cheap deterministic index sequence (a full-period LCG would be overkill; this just avoids locality). */
function indices(n: number): () => number {
  let x = 0x9e3779b9 % n;
  const step = Math.floor(n * 0.6180339887) | 1;
  return () => {
    x = (x + step) % n;
    return x;
  };
}

export function run(): void {
  const data = new Uint8Array(32);
  const baseline = measure('raw SHA-256 of 32 bytes (node:crypto hash)', () =>
    hash('sha256', data, 'buffer'),
  );

  const rows: Row[] = [];
  const measurements: Measurement[] = [];
  let tree = new MerkleTree();
  let built = 0;
  let buildMs = 0;
  const random = randomBytes(32 * 1000);
  for (const n of SIZES) {
    // Grow the same tree to each size: leaf hashes of random bytes (1000 random blocks, varied per leaf).
    const start = performance.now();
    for (let i = built; i < n; i++) {
      const block = random.subarray((i % 1000) * 32, (i % 1000) * 32 + 32);
      block[0] = i & 0xff;
      block[1] = (i >>> 8) & 0xff;
      block[2] = (i >>> 16) & 0xff;
      tree.append(leafHash(block));
    }
    buildMs += performance.now() - start;
    built = n;

    const root = tree.root();
    const nextLeaf = indices(n);
    const nextOld = indices(n - 1);
    const inclusion = measure(`inclusionProof n=${n.toExponential(0)}`, () =>
      tree.inclusionProof(nextLeaf(), n),
    );
    const consistency = measure(`consistencyProof n=${n.toExponential(0)}`, () =>
      tree.consistencyProof(1 + nextOld(), n),
    );
    // Verification: a fixed pool of 256 proofs, cycled.
    const pool = Array.from({ length: 256 }, () => {
      const i = nextLeaf();
      return { i, leaf: tree.leafHash(i), proof: tree.inclusionProof(i, n) };
    });
    let k = 0;
    const verify = measure(`verifyInclusion n=${n.toExponential(0)}`, () => {
      const p = pool[k++ & 255]!;
      if (!verifyInclusion(p.leaf, p.i, n, p.proof, root)) throw new Error('proof did not verify');
    });
    measurements.push(inclusion, consistency, verify);
    rows.push({
      n,
      buildMs,
      inclusion,
      consistency,
      verify,
      inclusionLength: tree.inclusionProof(0, n).length,
      consistencyLength: tree.consistencyProof(Math.floor(n / 3), n).length,
    });
  }
  report(
    'ledger proofs (cost per operation relative to one raw SHA-256 of 32 bytes)',
    baseline,
    measurements,
  );

  const sha = baseline.microsPerOp;
  console.log('\nledger proofs: growth with n (µs per op, and µs / log2(n): flat means O(log n))');
  const head = [
    'n'.padStart(9),
    'log2 n'.padStart(6),
    'build s'.padStart(8),
    'incl µs'.padStart(8),
    '/log2n'.padStart(7),
    '×sha'.padStart(6),
    'cons µs'.padStart(8),
    '/log2n'.padStart(7),
    '×sha'.padStart(6),
    'verify µs'.padStart(9),
    '/log2n'.padStart(7),
    '×sha'.padStart(6),
    'path len'.padStart(8),
  ];
  console.log(head.join('  '));
  for (const r of rows) {
    const lg = Math.log2(r.n);
    const cols = [
      r.n.toLocaleString('en-US').padStart(9),
      lg.toFixed(1).padStart(6),
      (r.buildMs / 1000).toFixed(2).padStart(8),
      r.inclusion.microsPerOp.toFixed(2).padStart(8),
      (r.inclusion.microsPerOp / lg).toFixed(3).padStart(7),
      (r.inclusion.microsPerOp / sha).toFixed(1).padStart(6),
      r.consistency.microsPerOp.toFixed(2).padStart(8),
      (r.consistency.microsPerOp / lg).toFixed(3).padStart(7),
      (r.consistency.microsPerOp / sha).toFixed(1).padStart(6),
      r.verify.microsPerOp.toFixed(2).padStart(9),
      (r.verify.microsPerOp / lg).toFixed(3).padStart(7),
      (r.verify.microsPerOp / sha).toFixed(1).padStart(6),
      `${r.inclusionLength}/${r.consistencyLength}`.padStart(8),
    ];
    console.log(cols.join('  '));
  }
  console.log(
    '(build s: cumulative time to append leaf hashes up to n, leaf hashing included; path len: inclusion proof of leaf 0 / consistency proof from n/3)',
  );
  tree = new MerkleTree(); // release the 10^6-leaf tree before the next suite
}
