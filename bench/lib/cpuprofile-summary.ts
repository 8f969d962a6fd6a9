/**
 * Summarises a V8 `.cpuprofile` of the gateway child (bench/gateway.bench.ts with BENCH_GW_PROFILE=1, or any
 * `node --cpu-prof` output): top functions by self time, self time grouped by what the leaf frame is doing
 * (Ed25519, SHA-256, JSON, Cedar/WASM, HTTP parsing, undici, fs, GC…), and inclusive time of the gateway's
 * steps. Percentages are of busy (non-idle) samples.
 *   node bench/lib/cpuprofile-summary.ts <file.cpuprofile> [top=25] [requests in the window]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Gateway steps whose inclusive time is shown (function names as V8 reports them). */
const STEPS: readonly [string, string][] = [
  ['handle', 'Gateway.handle (all synchronous gateway work)'],
  ['verifyPresented', '  authenticate: verifyPresented (DPoP + chain + revocation)'],
  ['verifyDpopProof', '    verifyDpopProof'],
  ['verifyChain', '    verifyChain (ChainCache)'],
  ['checkCall', '  guard: checkCall (catalog + trust level)'],
  ['verdictOf', '  decide (grants + risk + policy)'],
  ['authorize', '    PolicySet.authorize (Cedar + decision cache)'],
  ['decisionKey', '      decisionKey (canonical JSON + SHA-256)'],
  ['decisionRecord', '  record: decisionRecord (decision record + request digest)'],
  ['append', '  DecisionLog.append (JSON.stringify + queue)'],
  ['#flush', '  FileDecisionLog #flush (write + fdatasync calls)'],
  ['forwardUpstream', '  forward (headers + undici request + response streaming)'],
  ['#finish', '  access line, metrics, span'],
];

type Frame = ProfileNode['callFrame'];

/**
 * Classifies a sample by what its leaf is doing. A native leaf (no url: a C++ binding such as the one-shot
 * crypto job's `run` or a socket `writeUtf8String`) is classified by the JS frames above it.
 */
function categoryOf(stack: readonly Frame[]): string {
  const leaf = stack[0]!;
  const fn = leaf.functionName;
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'V8/native, unattributed ((program))';
  const above = (part: string) => stack.some((f) => f.url.includes(part));
  const caller = leaf.url === '' ? (stack.find((f) => f.url !== '') ?? leaf) : leaf;
  const url = caller.url;
  if (url.includes('internal/crypto/sig')) return 'crypto: signature verify (Ed25519/ECDSA, native)';
  if (url.includes('internal/crypto/hash') || fn === 'Hash')
    return 'crypto: SHA-256 (createHash/update/digest)';
  if (url.includes('internal/crypto')) return 'crypto: other (randomUUID, key import…)';
  if (url.includes('stream_base_commons') || fn === 'writev' || fn === 'writeBuffer')
    return above('undici')
      ? 'socket writes to the upstream (syscalls)'
      : 'socket writes to the client (syscalls)';
  if (url.includes('internal/fs') || url.includes('fs/promises') || fn === 'fdatasync')
    return 'fs: decision log write + fdatasync (main-thread part)';
  if (fn === 'parse' || fn === 'stringify' || url.includes('strict-json'))
    return 'JSON (parse/stringify, strict JSON)';
  if (url.includes('cedar') || url.startsWith('wasm://') || fn === 'wasm-to-js')
    return 'Cedar (WASM + its JS glue)';
  if (url.includes('node_modules/undici')) return 'undici (upstream client JS)';
  if (url.includes('_http_') || url.includes('internal/http') || fn.startsWith('parserOn'))
    return 'node:http server (parse, headers, response)';
  if (
    url.includes('node:net') ||
    url.includes('internal/streams') ||
    url === 'node:events' ||
    url.includes('node:stream')
  )
    return 'net/streams/events';
  if (url.includes('task_queues') || url.includes('internal/timers') || fn === 'runMicrotasks')
    return 'microtasks/timers (async plumbing)';
  if (url.includes('/src/')) return 'Warrant src (own JS)';
  if (url.includes('buffer') || url.includes('base64')) return 'Buffer/base64/strings';
  if (url === '') return `native: ${fn || '(anonymous)'}`;
  return 'other JS';
}

export interface ProfileSummary {
  readonly sampledSeconds: number;
  readonly busySeconds: number;
  readonly lines: string[];
  /** Self time (µs) per kind of leaf frame, over the whole window. */
  readonly categories: ReadonlyMap<string, number>;
}

/** `requests`: requests served in the profiled window, to show µs per request beside each percentage. */
export function summarizeProfile(file: string, top = 25, requests?: number): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const idleUs = [...selfUs]
    .filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)')
    .reduce((a, [, us]) => a + us, 0);
  const busy = total - idleUs;
  const pct = (us: number) =>
    `${((us / busy) * 100).toFixed(1).padStart(5)} %${requests ? ` ${(us / requests).toFixed(1).padStart(6)} µs/req` : ''}`;
  const where = (f: Frame) => {
    const url = f.url.replace(/^file:\/\/\/work\/main\//, '').replace(/^.*node_modules\//, '');
    return `${f.functionName || '(anonymous)'} ${url ? `${url}:${f.lineNumber + 1}` : ''}`.trim();
  };
  // A native leaf is named with its nearest JS caller: `run ← verifyOneShot node:internal/crypto/sig:…`.
  const label = (n: ProfileNode) => {
    if (n.callFrame.url !== '' || n.callFrame.functionName.startsWith('(')) return where(n.callFrame);
    for (let p = parent.get(n.id); p !== undefined; p = parent.get(p)) {
      const f = byId.get(p)!.callFrame;
      if (f.url !== '') return `${n.callFrame.functionName || '(anonymous)'} ← ${where(f)}`;
    }
    return where(n.callFrame);
  };
  const lines: string[] = [];
  lines.push(
    `${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy (main thread)${requests ? `, ${requests} requests: ${(busy / requests).toFixed(1)} µs main-thread busy per request` : ''}`,
  );

  const self = new Map<string, number>();
  const categories = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') continue;
    const key = label(node);
    self.set(key, (self.get(key) ?? 0) + us);
    const stack: Frame[] = [];
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n))
      stack.push(byId.get(n)!.callFrame);
    const cat = categoryOf(stack);
    categories.set(cat, (categories.get(cat) ?? 0) + us);
  }
  lines.push(`top ${top} functions by self time (% of busy):`);
  for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top))
    lines.push(`  ${pct(us)}  ${key}`);
  lines.push('self time by kind of leaf frame (% of busy):');
  for (const [cat, us] of [...categories].sort((a, b) => b[1] - a[1])) lines.push(`  ${pct(us)}  ${cat}`);

  // Inclusive: a sample counts once for each step on its stack.
  const inclusive = new Map<string, number>(STEPS.map(([fn]) => [fn, 0]));
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const fn = byId.get(n)!.callFrame.functionName;
      if (inclusive.has(fn) && !seen.has(fn)) {
        seen.add(fn);
        inclusive.set(fn, inclusive.get(fn)! + us);
      }
    }
  }
  lines.push('inclusive time of gateway steps (% of busy; synchronous segments, async waits excluded):');
  for (const [fn, title] of STEPS) lines.push(`  ${pct(inclusive.get(fn)!)}  ${title}`);
  return { sampledSeconds: total / 1e6, busySeconds: busy / 1e6, lines, categories };
}

if (process.argv[1] === import.meta.filename) {
  const [file, topArg, requestsArg] = process.argv.slice(2);
  if (!file) {
    console.error('usage: cpuprofile-summary.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  for (const line of summarizeProfile(
    file,
    Number(topArg ?? 25),
    requestsArg ? Number(requestsArg) : undefined,
  ).lines)
    console.log(line);
}
