/**
 * The gateway on the full path against a plain Node reverse proxy and direct calls (DESIGN §9 rows 1–3):
 * same upstream, same run, at concurrency 1 and at saturation.
 *
 * Processes: the upstream (a bare node:http server answering a small JSON body), the plain proxy (node:http +
 * an undici Pool, streaming, the gateway's header handling), the STS (issues the chain; off the measured
 * path: the gateway only pulls its JWKS and status lists on its own timers) and the gateway each run in a
 * child process; this process is the load generator.
 *
 * Gateway workload, per request: `Authorization: DPoP <leaf>`, a fresh single-use DPoP proof (signed before
 * the timed window: client cost is not gateway cost) and `Warrant-Chain: <root>, <hop>, <leaf>` — a 3-link
 * chain person → planner → executor → third → CRM tool, issued by the real STS over RFC 8693. The gateway
 * verifies the proof, the chain (its cache keeps verified chains), revocation status, the catalog action,
 * grants, risk and the shipped Cedar action policy, appends a durable decision record to the Merkle ledger
 * (SQLite, synchronous=FULL, group commit on its writer thread: the sink `warrant dev` gives its gateway) and
 * forwards. Direct and proxy requests are plain GETs to the same upstream path.
 *
 * Figures: latency at c=1 (p50/p99; the three targets interleaved in blocks so drifting machine load hits all
 * alike; measured before the saturation windows and again after them, the goal judged by the second, the
 * steady state), throughput at c=32 keep-alive, and CPU per request of the proxy and the gateway processes
 * (process.cpuUsage() over the saturation window ÷ requests served), beside one node:crypto Ed25519
 * verification's CPU time measured in the gateway process in the same run.
 *   BENCH_MS=n            scales the windows (1000: 3,000 sequential requests per target, 5 s saturation)
 *   BENCH_GW_EXTRA=1      three more targets: the gateway with an in-memory decision log (no fsync), the gateway
 *                         with a JSON-lines file log (write + fdatasync group commit: the cheapest durable record), and the
 *                         plain proxy carrying the gateway's credential headers (their parsing/forwarding cost)
 *   BENCH_GW_STEPS=1      the gateways time each of their steps on the requests they serve one at a time
 *                         (the c=1 blocks) and the p50 per step is printed: where a lone request's time goes
 *   BENCH_GW_PROFILE=1    after the figures, one more gateway saturation window under a V8 CPU profile
 *                         (sampled in the child), summarised, the .cpuprofile kept in a printed directory
 *   BENCH_GW_CPU_PROF=dir the gateway child runs under `node --cpu-prof`, profile written to dir at exit: its
 *                         whole lifetime, so also start-up (Cedar WASM compile) and the Ed25519 loops;
 *                         BENCH_GW_PROFILE is the one that covers just a saturation window
 *   BENCH_GW_DIR=path     where the decision log (and temp files) go; default the OS temp dir
 *   BENCH_GW_AGAINST=path one more target, same run: the gateway of another checkout of this repository (with
 *                         its node_modules), e.g. `git worktree add /tmp/before <commit>`, on the same Merkle
 *                         ledger sink: a change measured against the build before it, in one run
 */
import { mkdirSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createDpopProof } from '../src/core/dpop/index.ts';
import { type AgentClient, TOKEN_TYPES } from '../src/sdk/agent-client.ts';
import { type Child, type CpuSnapshot, startChild } from './lib/child.ts';
import { type ProfileSummary, summarizeProfile } from './lib/cpuprofile-summary.ts';
import {
  newAdminToken,
  type PersonIdp,
  personIdp,
  registerAgent,
  rootDelegation,
  type StsAdmin,
  TOOL,
  TRUST_DOMAIN,
  WIDE,
} from './lib/delegation.ts';
import { type Headers, Target } from './lib/gateway-load.ts';
import type { ProxySpec } from './lib/gateway-proxy.ts';
import type { DecisionLogSpec, GatewayServerSpec } from './lib/gateway-server.ts';
import {
  batchSource,
  constantSource,
  deadlineAfter,
  quantile,
  type Saturation,
  type Source,
  saturate,
  sequential,
} from './lib/load.ts';
import { goal, SCALE, verdict } from './lib/measure.ts';
import type { StsServerSpec } from './lib/sts-server.ts';

const CONCURRENCY = 32;
const LATENCY_REQUESTS = Math.max(300, Math.round(3000 * SCALE));
const LATENCY_BLOCK = 500;
const WARMUP_REQUESTS = 300;
const WARMUP_MS = Math.max(500, 1000 * SCALE);
/** Saturation window; DPoP proofs live 60 s, so a window never outlasts the proofs signed before it. */
const THROUGHPUT_MS = Math.min(40_000, Math.max(1000, 5000 * SCALE));
const EXTRA = process.env['BENCH_GW_EXTRA'] === '1';
const PROFILE = process.env['BENCH_GW_PROFILE'] === '1';
const STEPS = process.env['BENCH_GW_STEPS'] === '1';
const CPU_PROF_DIR = process.env['BENCH_GW_CPU_PROF'];
const AGAINST = process.env['BENCH_GW_AGAINST'];

const ADMIN_TOKEN = newAdminToken();
const PATH = '/crm/contacts/42';
const EXPECT = '"name":"Ada Lovelace"';

/** DESIGN §9 goals. */
/** DESIGN §9 goals; the latency goals are over the floor (one Ed25519 verify + one 1 KiB fdatasync'ed append). */
const GOALS = { cpuInVerifies: 1.5, throughputRatio: 0.35, overFloorP50Ms: 0.15, overFloorP99Ms: 0.6 };

interface TargetSpec {
  readonly target: Target;
  /** The process answering (its CPU is measured), if not the upstream itself. */
  readonly server: Child | undefined;
  /** Prepares `n` request header sets (fresh DPoP proofs for the gateway). */
  readonly prepare: ((n: number) => Headers[]) | undefined;
  readonly fixed?: Headers;
}

/** One c=1 pass of a target: its latencies, and its server's CPU and counters between the blocks' snapshots. */
interface C1Pass {
  readonly times: number[];
  cpuMicros: number;
  mainMicros: number;
  served: number;
  readonly extra: Record<string, number>;
}

interface Row {
  name: string;
  /** c=1 before the saturation windows (fresh: a new ledger, a cold JIT). */
  c1: C1Pass;
  /** c=1 after them (the steady state the goal is judged by). */
  c1Steady: C1Pass;
  sat?: Saturation;
  /** Server CPU µs per request at saturation, and cores used by each process over the window. */
  serverMicrosPerRequest?: number;
  /** The part of it on the main thread (the event loop every request passes through). */
  mainThreadMicrosPerRequest?: number;
  cores?: { server: number; upstream: number; loadgen: number };
  extra?: Record<string, number>;
}

const ms = (x: number) => x.toFixed(3);

function sourceFor(spec: TargetSpec, n: number): Source<Headers> {
  return spec.prepare ? batchSource(spec.prepare(n)) : constantSource(spec.fixed ?? {});
}

/** One gateway's step wall times (µs) over a c=1 pass. */
interface StepRow {
  readonly name: string;
  readonly steps: Record<string, number[]>;
}

function newPass(): C1Pass {
  return { times: [], cpuMicros: 0, mainMicros: 0, served: 0, extra: {} };
}

function cpuDelta(a: CpuSnapshot, b: CpuSnapshot): { micros: number; main: number; served: number } {
  return {
    micros: b.cpuMicros - a.cpuMicros,
    main: b.mainThreadMicros - a.mainThreadMicros,
    served: b.served - a.served,
  };
}

export async function run(): Promise<void> {
  const base = process.env['BENCH_GW_DIR'] ?? os.tmpdir();
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, 'warrant-gw-bench-'));
  const children: Child[] = [];
  const targets: Target[] = [];
  try {
    await bench(dir, children, targets);
  } finally {
    await Promise.all(targets.map((t) => t.close()));
    await Promise.all(children.map((c) => c.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function bench(dir: string, children: Child[], targets: Target[]): Promise<void> {
  const lib = (name: string) => new URL(`./lib/${name}`, import.meta.url);
  console.log(
    `\ngateway full path vs plain undici proxy vs direct (DESIGN §9 rows 1–3); ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );

  // The person's identity provider: the STS trusts ID tokens signed by its key.
  const idp = personIdp(dir);

  const [upstream, sts] = await startAll(children, [
    startChild('upstream', lib('gateway-upstream.ts'), {}),
    startChild('sts', lib('sts-server.ts'), {
      store: { kind: 'sqlite', path: ':memory:' },
      trustDomain: TRUST_DOMAIN,
      dataDir: join(dir, 'sts'),
      adminToken: ADMIN_TOKEN,
      personIssuer: idp.trusted,
      hopLifetime: 3600,
    } satisfies StsServerSpec),
  ]);
  const gatewaySpec = (decisions: DecisionLogSpec, dataDir = 'gw'): GatewayServerSpec => ({
    issuer: sts.ready.url,
    trustDomain: TRUST_DOMAIN,
    dataDir: join(dir, dataDir),
    upstream: upstream.ready.url,
    audience: TOOL,
    decisions,
    ...(STEPS ? { steps: true } : {}),
  });
  const decisionFile = join(dir, 'decisions.jsonl');
  const starting = [
    startChild('proxy', lib('gateway-proxy.ts'), { upstream: upstream.ready.url }),
    startChild('floor', lib('gateway-proxy.ts'), {
      upstream: upstream.ready.url,
      floor: { logPath: join(dir, 'floor-decisions.jsonl') },
    } satisfies ProxySpec),
    startChild(
      'gateway',
      lib('gateway-server.ts'),
      gatewaySpec({ kind: 'ledger' }),
      CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : [],
    ),
    ...(EXTRA
      ? [
          startChild('gateway-memlog', lib('gateway-server.ts'), gatewaySpec({ kind: 'memory' }, 'gw-mem')),
          startChild(
            'gateway-filelog',
            lib('gateway-server.ts'),
            gatewaySpec({ kind: 'file', path: decisionFile }, 'gw-file'),
          ),
        ]
      : []),
    ...(AGAINST
      ? [
          startChild(
            'gateway-against',
            pathToFileURL(join(AGAINST, 'bench', 'lib', 'gateway-server.ts')),
            gatewaySpec({ kind: 'ledger' }, 'gw-against'),
          ),
        ]
      : []),
  ];
  const [proxy, floor, gateway, ...more] = await startAll(children, starting);
  const [gatewayMem, gatewayFile] = EXTRA ? more : [];
  const gatewayAgainst = AGAINST ? more.at(-1) : undefined;
  const fsType = (() => {
    try {
      return `fs type 0x${statfsSync(dir).type.toString(16)}`;
    } catch {
      return 'fs type unknown';
    }
  })();
  console.log(
    `decision sink: the Merkle ledger (SQLite WAL, synchronous=FULL, writer thread) in ${join(dir, 'gw')} (${fsType})${EXTRA ? `; JSON-lines log at ${decisionFile}` : ''}`,
  );

  // The chain: alice → planner → executor → third → CRM tool, three warrants issued by the STS.
  const chain = await issueChain({ url: sts.ready.url, adminToken: ADMIN_TOKEN }, idp);
  const third = chain.client;
  const chainHeader = chain.tokens.join(', ');
  const leaf = chain.tokens[2]!;
  const credentialBytes = Buffer.byteLength(`DPoP ${leaf}`) + Buffer.byteLength(chainHeader);
  console.log(
    `chain: 3 links (${chain.tokens.map((t) => t.length).join(' + ')} chars); per request ~${Math.round(
      (credentialBytes + 600) / 1024,
    )} KiB of Authorization + DPoP + Warrant-Chain headers`,
  );

  const prepareFor = (gw: Child) => {
    const htu = `${gw.ready.url}${PATH}`;
    return (n: number): Headers[] => {
      const out: Headers[] = [];
      for (let i = 0; i < n; i++)
        out.push({
          authorization: `DPoP ${leaf}`,
          dpop: createDpopProof({ key: third.key, htm: 'GET', htu, accessToken: leaf }),
          'warrant-chain': chainHeader,
        });
      return out;
    };
  };
  const mk = (name: string, url: string) => {
    const t = new Target(name, `${url}${PATH}`, CONCURRENCY, EXPECT);
    targets.push(t);
    return t;
  };
  const specs: TargetSpec[] = [
    { target: mk('direct', upstream.ready.url), server: undefined, prepare: undefined },
    { target: mk('plain proxy', proxy!.ready.url), server: proxy, prepare: undefined },
    { target: mk('gateway', gateway!.ready.url), server: gateway, prepare: prepareFor(gateway!) },
    // The same proxy doing only what DESIGN §7 makes every call pay (bench/lib/gateway-proxy.ts), with the
    // gateway's request headers.
    {
      target: mk('floor of the full path', floor!.ready.url),
      server: floor,
      prepare: undefined,
      fixed: prepareFor(gateway!)(1)[0]!,
    },
  ];
  if (gatewayMem)
    specs.push(
      {
        target: mk('gateway, memory log', gatewayMem.ready.url),
        server: gatewayMem,
        prepare: prepareFor(gatewayMem),
      },
      {
        target: mk('gateway, JSON-lines log', gatewayFile!.ready.url),
        server: gatewayFile,
        prepare: prepareFor(gatewayFile!),
      },
      {
        target: mk('proxy + credential hdrs', proxy!.ready.url),
        server: proxy,
        prepare: undefined,
        fixed: prepareFor(gateway!)(1)[0]!,
      },
    );
  if (gatewayAgainst)
    specs.push({
      target: mk(`gateway, build at ${AGAINST}`, gatewayAgainst.ready.url),
      server: gatewayAgainst,
      prepare: prepareFor(gatewayAgainst),
    });
  const [direct, plain, full, floorSpec] = specs as [TargetSpec, TargetSpec, TargetSpec, TargetSpec];

  // Sanity: one request through each; nothing is measured if the full path does not answer 200.
  for (const s of specs) {
    await s.target.send(sourceFor(s, 1)()!);
    if (s.target.errors.count > 0)
      throw new Error(`${s.target.name} does not answer 200: ${[...s.target.errors.samples.keys()][0]}`);
  }

  // One Ed25519 verification, in the gateway process, three times over the run (the machine may be shared).
  const verifies: number[] = [];
  const measureVerify = async () =>
    verifies.push(
      (await gateway!.request<{ cpuMicros: number }>({ type: 'ed25519', ms: Math.max(200, 300 * SCALE) }))
        .cpuMicros,
    );
  await measureVerify();
  // One Ed25519 signature of a Txn-Token-sized input: the other signature every forwarded call needs.
  const signMicros = (
    await gateway!.request<{ cpuMicros: number }>({ type: 'ed25519-sign', ms: Math.max(200, 300 * SCALE) })
  ).cpuMicros;

  const fsync = (await gateway!.request<{ ms: number[] }>({ type: 'fsync-probe', n: 200 })).ms;

  // (a) c=1 latency, interleaved in blocks, on fresh targets (again in (d), after the saturation windows).
  const rows = new Map<TargetSpec, Row>(
    specs.map((s) => [s, { name: s.target.name, c1: newPass(), c1Steady: newPass() }]),
  );
  /** c=1 latency, interleaved in blocks across the targets so drifting machine load hits all alike. */
  const c1Pass = async (pass: 'c1' | 'c1Steady'): Promise<void> => {
    for (let done = 0; done < LATENCY_REQUESTS; done += LATENCY_BLOCK) {
      const n = Math.min(LATENCY_BLOCK, LATENCY_REQUESTS - done);
      for (const s of specs) {
        const source = sourceFor(s, n); // proofs signed just before their block (untimed)
        const server = s.server ?? upstream;
        const before = await server.cpu();
        const into = rows.get(s)![pass];
        into.times.push(...(await sequential(s.target, source, { count: n })));
        const after = await server.cpu();
        into.cpuMicros += after.cpuMicros - before.cpuMicros;
        into.mainMicros += after.mainThreadMicros - before.mainThreadMicros;
        into.served += after.served - before.served;
        for (const [k, v] of Object.entries(after.extra ?? {}))
          into.extra[k] = (into.extra[k] ?? 0) + v - (before.extra?.[k] ?? 0);
      }
    }
  };
  for (const s of specs)
    await sequential(s.target, sourceFor(s, WARMUP_REQUESTS), { count: WARMUP_REQUESTS });
  await c1Pass('c1');

  // The gateways' steps at c=1 (BENCH_GW_STEPS=1): read now, before the saturation windows, and again after
  // the steady pass (d).
  const readSteps = async (): Promise<StepRow[]> =>
    STEPS
      ? await Promise.all(
          specs
            .filter((s) => s.prepare !== undefined)
            .map(async (s) => {
              const { steps } = await s.server!.request<{ steps: Record<string, number[]> }>({
                type: 'steps-get',
              });
              await s.server!.request({ type: 'steps-reset' });
              return { name: s.target.name, steps };
            }),
        )
      : [];
  const freshSteps = await readSteps();

  // (b) + (c) saturation: throughput and CPU per request.
  for (const s of specs) {
    if (s === full) await measureVerify();
    const warm = await saturate(s.target, CONCURRENCY, sourceFor(s, 8000), deadlineAfter(WARMUP_MS));
    const rate = warm.completed / warm.seconds;
    const need = Math.min(400_000, Math.ceil((rate * THROUGHPUT_MS * 2) / 1000) + 3000);
    const t0 = performance.now();
    const source = sourceFor(s, need);
    const prepMs = performance.now() - t0;
    const before = await Promise.all([s.server?.cpu(), upstream.cpu()]);
    const lg0 = process.cpuUsage();
    const sat = await saturate(s.target, CONCURRENCY, source, deadlineAfter(THROUGHPUT_MS));
    const lg = process.cpuUsage(lg0);
    const after = await Promise.all([s.server?.cpu(), upstream.cpu()]);
    const up = cpuDelta(before[1]!, after[1]!);
    const row = rows.get(s)!;
    row.sat = sat;
    if (s.server) {
      const sv = cpuDelta(before[0]!, after[0]!);
      row.serverMicrosPerRequest = sv.micros / sv.served;
      row.mainThreadMicrosPerRequest = sv.main / sv.served;
      row.cores = {
        server: sv.micros / 1e6 / sat.seconds,
        upstream: up.micros / 1e6 / sat.seconds,
        loadgen: (lg.user + lg.system) / 1e6 / sat.seconds,
      };
      if (after[0]!.extra) {
        const e: Record<string, number> = {};
        for (const [k, v] of Object.entries(after[0]!.extra)) e[k] = v - (before[0]!.extra?.[k] ?? 0);
        row.extra = e;
      }
    } else {
      row.serverMicrosPerRequest = up.micros / up.served;
      row.mainThreadMicrosPerRequest = up.main / up.served;
      row.cores = {
        server: up.micros / 1e6 / sat.seconds,
        upstream: up.micros / 1e6 / sat.seconds,
        loadgen: (lg.user + lg.system) / 1e6 / sat.seconds,
      };
    }
    if (s.prepare)
      console.log(
        `  ${s.target.name}: ${need.toLocaleString('en-US')} requests signed for the window in ${Math.round(prepMs)} ms (untimed)${sat.ranDry ? ' — ran dry, window shortened' : ''}`,
      );
  }

  await measureVerify();
  const verifyMicros = quantile(verifies, 0.5);

  // (d) c=1 latency again, interleaved in blocks, on targets that have run under load: the steady state.
  // A fresh ledger's WAL grows, and an fdatasync of an appending commit also commits the file's size; once
  // the WAL has reached its bound and started over (the saturation windows take it there; a running gateway
  // is there after its first ~64 MiB of records), commits overwrite blocks the file has.
  await c1Pass('c1Steady');

  const steadySteps = await readSteps();

  // Report.
  console.log(
    `\n${'target'.padEnd(24)}  ${'c=1 p50 ms'.padStart(10)}  ${'c=1 p99 ms'.padStart(10)}  ${`c=${CONCURRENCY} req/s`.padStart(11)}  ${'sat p50 ms'.padStart(10)}  ${'sat p99 ms'.padStart(10)}  ${'server µs CPU/req'.padStart(17)}  ${'main thread'.padStart(11)}  ${'(at c=1)'.padStart(8)}  ${'fresh c=1 p50/p99'.padStart(17)}  cores: server / upstream / loadgen`,
  );
  for (const row of rows.values()) {
    const sat = row.sat!;
    console.log(
      `${row.name.padEnd(24)}  ${ms(quantile(row.c1Steady.times, 0.5)).padStart(10)}  ${ms(quantile(row.c1Steady.times, 0.99)).padStart(10)}  ${Math.round(
        sat.completed / sat.seconds,
      )
        .toLocaleString('en-US')
        .padStart(
          11,
        )}  ${ms(quantile(sat.latencies, 0.5)).padStart(10)}  ${ms(quantile(sat.latencies, 0.99)).padStart(10)}  ${(row.serverMicrosPerRequest ?? 0).toFixed(1).padStart(17)}  ${(row.mainThreadMicrosPerRequest ?? 0).toFixed(1).padStart(11)}  ${(row.c1.cpuMicros / row.c1.served).toFixed(1).padStart(8)}  ${`${ms(quantile(row.c1.times, 0.5))} / ${ms(quantile(row.c1.times, 0.99))}`.padStart(17)}  ${row.cores!.server.toFixed(2)} / ${row.cores!.upstream.toFixed(2)} / ${row.cores!.loadgen.toFixed(2)}`,
    );
  }
  console.log(
    `(direct's "server" is the upstream; "main thread": the part of the server's CPU/req on its event loop, the rest on libuv's pool and worker threads; c=1 over ${LATENCY_REQUESTS.toLocaleString('en-US')} sequential requests each, interleaved, after the saturation windows ("fresh": before them; "at c=1": CPU then); saturation ${(THROUGHPUT_MS / 1000).toFixed(1)} s each)`,
  );
  const fullRow = rows.get(full)!;
  for (const row of rows.values()) {
    if (row.c1.served === 0 || row.c1Steady.served === 0) continue;
    const per = (micros: number, served: number) => (micros / served).toFixed(1);
    console.log(
      `${row.name} CPU µs/req at c=1 (all threads / main thread): fresh ${per(row.c1.cpuMicros, row.c1.served)} / ${per(row.c1.mainMicros, row.c1.served)}, steady ${per(row.c1Steady.cpuMicros, row.c1Steady.served)} / ${per(row.c1Steady.mainMicros, row.c1Steady.served)}`,
    );
  }
  const c1Log = fullRow.c1.extra;
  if (c1Log['logBatches'] !== undefined)
    console.log(
      `gateway at c=1: ${c1Log['logRecords']} records (decisions + outcomes) in ${c1Log['logBatches']} durable batches over ${fullRow.c1.served} requests (${((c1Log['logBatches'] ?? 0) / fullRow.c1.served).toFixed(2)} per request)`,
    );
  if (fullRow.extra) {
    const e = fullRow.extra;
    console.log(
      `gateway window: presented-chain cache ${e['presentedHits']} hits / ${e['presentedMisses']} misses (chain cache behind it ${e['chainHits']} / ${e['chainMisses']}); call-decision cache ${e['callHits']} hits / ${e['callMisses']} misses (policy cache ${e['decisionHits']} / ${e['decisionMisses']}); ${e['logRecords']} records in ${e['logBatches']} durable batches (${((e['logRecords'] ?? 0) / Math.max(1, e['logBatches'] ?? 0)).toFixed(1)} per batch)`,
    );
  }
  console.log(
    `fdatasync floor (1 KiB append + fdatasync, sequential, in the decision log's directory): p50 ${ms(quantile(fsync, 0.5))} ms, p99 ${ms(quantile(fsync, 0.99))} ms`,
  );
  console.log(
    `Ed25519 verify (node:crypto, in the gateway process; before c=1, before the gateway's window, at the end): ${verifies.map((v) => v.toFixed(1)).join(' / ')} µs CPU; median ${verifyMicros.toFixed(1)} µs`,
  );

  // What the design itself makes every forwarded call pay in signatures: the DPoP proof's verification
  // and the Txn-Token's signature (DESIGN §7). The CPU goal (1.5 × one verification) predates the
  // Txn-Token; this line says how much of it the two signature operations leave for everything else.
  const cryptoMicros = verifyMicros + signMicros;
  console.log(
    `signatures every forwarded call needs: DPoP verify ${verifyMicros.toFixed(1)} + Txn-Token sign ${signMicros.toFixed(1)} = ${cryptoMicros.toFixed(1)} µs CPU = ${(cryptoMicros / verifyMicros).toFixed(2)} × Ed25519 verify; the CPU goal leaves ${(GOALS.cpuInVerifies * verifyMicros - cryptoMicros).toFixed(1)} µs for all other work`,
  );

  const plainRow = rows.get(plain)!;
  const cpuDiff = fullRow.serverMicrosPerRequest! - plainRow.serverMicrosPerRequest!;
  const inVerifies = cpuDiff / verifyMicros;
  const rps = (r: Row) => r.sat!.completed / r.sat!.seconds;
  const tputRatio = rps(fullRow) / rps(plainRow);
  const addedP50 = quantile(fullRow.c1Steady.times, 0.5) - quantile(plainRow.c1Steady.times, 0.5);
  const addedP99 = quantile(fullRow.c1Steady.times, 0.99) - quantile(plainRow.c1Steady.times, 0.99);
  console.log('\nDESIGN §9                                   measured             goal     ');
  console.log(
    `1 gateway CPU/req − proxy CPU/req           ${`${cpuDiff.toFixed(1)} µs = ${inVerifies.toFixed(2)} × Ed25519`.padEnd(20)} ≤ ${GOALS.cpuInVerifies} ×   ${verdict(inVerifies <= GOALS.cpuInVerifies)}`,
  );
  console.log(
    `2 throughput gateway / proxy                ${tputRatio.toFixed(3).padEnd(20)} ≥ ${GOALS.throughputRatio}     ${verdict(tputRatio >= GOALS.throughputRatio)}`,
  );
  // The floor: the physical cost of verifying the proof and making the record durable, same run.
  const floorMs = verifyMicros / 1000 + quantile(fsync, 0.5);
  const p50Goal = floorMs + GOALS.overFloorP50Ms;
  const p99Goal = floorMs + GOALS.overFloorP99Ms;
  console.log(
    `3 added latency c=1, p50 (gw − proxy)       ${`${ms(addedP50)} ms`.padEnd(20)} ≤ ${ms(p50Goal)} ms  ${verdict(addedP50 <= p50Goal)}`,
  );
  console.log(
    `3 added latency c=1, p99 (gw − proxy)       ${`${ms(addedP99)} ms`.padEnd(20)} ≤ ${ms(p99Goal)} ms  ${verdict(addedP99 <= p99Goal)}`,
  );
  // The floor target: the proxy doing only what every call must (DPoP verify, durable record, Txn-Token
  // signature). Where the floor itself misses a goal, no implementation of DESIGN §7 meets it in this run.
  const floorRow = rows.get(floorSpec)!;
  const floorCpu = floorRow.serverMicrosPerRequest! - plainRow.serverMicrosPerRequest!;
  const floorTput = rps(floorRow) / rps(plainRow);
  const floorP50 = quantile(floorRow.c1Steady.times, 0.5) - quantile(plainRow.c1Steady.times, 0.5);
  const floorP99 = quantile(floorRow.c1Steady.times, 0.99) - quantile(plainRow.c1Steady.times, 0.99);
  console.log(
    `floor of the full path (the proxy + DPoP verify + a durable JSON-lines record + Txn-Token signature): CPU/req over proxy ${floorCpu.toFixed(1)} µs = ${(floorCpu / verifyMicros).toFixed(2)} × Ed25519, throughput / proxy ${floorTput.toFixed(3)}, added c=1 latency p50 ${ms(floorP50)} ms, p99 ${ms(floorP99)} ms`,
  );
  console.log(
    `gateway over that floor: CPU/req +${(fullRow.serverMicrosPerRequest! - floorRow.serverMicrosPerRequest!).toFixed(1)} µs (main thread +${(fullRow.mainThreadMicrosPerRequest! - floorRow.mainThreadMicrosPerRequest!).toFixed(1)} µs), throughput ${(rps(fullRow) / rps(floorRow)).toFixed(3)} × the floor's, c=1 latency p50 +${ms(quantile(fullRow.c1Steady.times, 0.5) - quantile(floorRow.c1Steady.times, 0.5))} ms`,
  );
  const reach = (floorMet: boolean, floorText: string) =>
    floorMet ? `floor ${floorText}` : `floor ${floorText}: out of reach in this run`;
  const proxyBase = `proxy ${plainRow.serverMicrosPerRequest!.toFixed(1)} µs CPU/req, Ed25519 verify ${verifyMicros.toFixed(1)} µs CPU; ${reach(floorCpu / verifyMicros <= GOALS.cpuInVerifies, `${(floorCpu / verifyMicros).toFixed(2)} ×`)}`;
  goal({
    figure: 'gateway CPU per request over the plain proxy, in Ed25519 verifications',
    goal: `≤ ${GOALS.cpuInVerifies} ×`,
    measured: `${inVerifies.toFixed(2)} × (${cpuDiff.toFixed(1)} µs)`,
    baseline: proxyBase,
    met: inVerifies <= GOALS.cpuInVerifies,
  });
  goal({
    figure: 'gateway throughput / plain proxy throughput (c=32)',
    goal: `≥ ${GOALS.throughputRatio}`,
    measured: tputRatio.toFixed(3),
    baseline: `proxy ${Math.round(rps(plainRow))} req/s; ${reach(floorTput >= GOALS.throughputRatio, floorTput.toFixed(3))}`,
    met: tputRatio >= GOALS.throughputRatio,
  });
  const floorText = `floor ${ms(floorMs)} ms (verify ${ms(verifyMicros / 1000)} + fdatasync p50 ${ms(quantile(fsync, 0.5))}); proxy c=1`;
  goal({
    figure: 'gateway added latency at c=1, p50',
    goal: `≤ floor + ${GOALS.overFloorP50Ms} ms = ${ms(p50Goal)} ms`,
    measured: `${ms(addedP50)} ms`,
    baseline: `${floorText} p50 ${ms(quantile(plainRow.c1Steady.times, 0.5))} ms; full-path ${reach(floorP50 <= p50Goal, `${ms(floorP50)} ms`)}`,
    met: addedP50 <= p50Goal,
  });
  goal({
    figure: 'gateway added latency at c=1, p99',
    goal: `≤ floor + ${GOALS.overFloorP99Ms} ms = ${ms(p99Goal)} ms`,
    measured: `${ms(addedP99)} ms`,
    baseline: `${floorText} p99 ${ms(quantile(plainRow.c1Steady.times, 0.99))} ms; full-path ${reach(floorP99 <= p99Goal, `${ms(floorP99)} ms`)}`,
    met: addedP99 <= p99Goal,
  });
  const directRow = rows.get(direct)!;
  console.log(
    `  (context: proxy / direct throughput ${(rps(plainRow) / rps(directRow)).toFixed(3)}; proxy adds ${ms(quantile(plainRow.c1Steady.times, 0.5) - quantile(directRow.c1Steady.times, 0.5))} ms p50 over direct)`,
  );

  let failures = 0;
  for (const s of specs) {
    const e = s.target.errors;
    if (e.count === 0) continue;
    failures += e.count;
    console.log(`\n!!! ${s.target.name}: ${e.count} requests did NOT answer 200 with the expected body:`);
    for (const [what, n] of e.samples) console.log(`!!!   ${n}× ${what}`);
  }
  if (failures > 0) {
    console.log(`!!! ${failures} failed requests in total: the figures above are not valid`);
    process.exitCode = 1;
  } else console.log('all requests answered 200 with the expected body');

  if (freshSteps.length > 0) {
    // Two columns per gateway: the fresh pass (before the saturation windows) and the steady one (after).
    // Steps that take under 3 µs at p50 everywhere are summed into one line.
    const cols = freshSteps.flatMap((row, i) => [
      { name: `${row.name} fresh`, steps: row.steps },
      { name: `${row.name} steady`, steps: steadySteps[i]?.steps ?? {} },
    ]);
    const names = Object.keys(freshSteps[0]!.steps);
    const p50 = (col: (typeof cols)[0], step: string) => quantile(col.steps[step] ?? [], 0.5);
    const w = Math.max(...cols.map((r) => r.name.length), 10);
    console.log(
      `\ngateway steps at c=1, wall time p50 (µs, waits included; ${LATENCY_REQUESTS.toLocaleString('en-US')}+ requests each; fresh: before the saturation windows, steady: after them):`,
    );
    console.log(`  ${'step'.padEnd(16)}${cols.map((r) => r.name.padStart(w + 2)).join('')}`);
    const small = names.filter((n) => cols.every((r) => p50(r, n) < 3));
    const line = (label: string, value: (col: (typeof cols)[0]) => number) =>
      console.log(
        `  ${label.padEnd(16)}${cols
          .map((r) =>
            value(r)
              .toFixed(1)
              .padStart(w + 2),
          )
          .join('')}`,
      );
    for (const n of names.filter((x) => !small.includes(x))) line(n, (r) => p50(r, n));
    line(`${small.length} others`, (r) => small.reduce((t, n) => t + p50(r, n), 0));
  }

  if (PROFILE) {
    // The gateway, then the plain proxy, each over one more saturation window under a V8 CPU profile.
    const profileDir = mkdtempSync(join(os.tmpdir(), 'warrant-gw-profile-'));
    const profiled: { name: string; summary: ProfileSummary; requests: number }[] = [];
    for (const s of [full, plain]) {
      const file = join(profileDir, `${s === full ? 'gateway' : 'proxy'}-saturation.cpuprofile`);
      const source = sourceFor(s, Math.ceil((rps(rows.get(s)!) * THROUGHPUT_MS * 2) / 1000) + 3000);
      await s.server!.request({ type: 'profile-start', intervalMicros: 500 });
      const sat = await saturate(s.target, CONCURRENCY, source, deadlineAfter(THROUGHPUT_MS));
      await s.server!.request({ type: 'profile-stop', file });
      const summary = summarizeProfile(file, 30, sat.completed);
      profiled.push({ name: s.target.name, summary, requests: sat.completed });
      console.log(
        `\n${s.target.name} CPU profile over a ${sat.seconds.toFixed(1)} s c=${CONCURRENCY} window (${Math.round(sat.completed / sat.seconds)} req/s under the profiler): ${file}`,
      );
      for (const line of s === full ? summary.lines : summary.lines.slice(0, 1)) console.log(`  ${line}`);
    }
    const [g, p] = profiled as [(typeof profiled)[0], (typeof profiled)[0]];
    console.log(
      '\nmain-thread self time per request by kind, gateway vs plain proxy (µs/req, under the profiler):',
    );
    const kinds = [...new Set([...g.summary.categories.keys(), ...p.summary.categories.keys()])];
    const per = (x: (typeof profiled)[0], k: string) => (x.summary.categories.get(k) ?? 0) / x.requests;
    kinds.sort((a, b) => per(g, b) - per(p, b) - (per(g, a) - per(p, a)));
    console.log(`  ${'gateway'.padStart(8)} ${'proxy'.padStart(8)} ${'diff'.padStart(8)}`);
    for (const k of kinds)
      console.log(
        `  ${per(g, k).toFixed(1).padStart(8)} ${per(p, k).toFixed(1).padStart(8)} ${(per(g, k) - per(p, k)).toFixed(1).padStart(8)}  ${k}`,
      );
    const busy = (x: (typeof profiled)[0]) => (x.summary.busySeconds * 1e6) / x.requests;
    console.log(
      `  ${busy(g).toFixed(1).padStart(8)} ${busy(p).toFixed(1).padStart(8)} ${(busy(g) - busy(p)).toFixed(1).padStart(8)}  total main-thread busy`,
    );
    // And the gateway at c=1: where a lone request's time goes (the latency goal's path).
    {
      const file = join(profileDir, 'gateway-c1.cpuprofile');
      const n = LATENCY_REQUESTS;
      await full.server!.request({ type: 'profile-start', intervalMicros: 100 });
      const t0 = performance.now();
      const times = await sequential(full.target, sourceFor(full, n), { count: n });
      const seconds = (performance.now() - t0) / 1000;
      await full.server!.request({ type: 'profile-stop', file });
      const summary = summarizeProfile(file, 30, n);
      console.log(
        `\n${full.target.name} CPU profile over ${n} sequential requests (c=1, p50 ${ms(quantile(times, 0.5))} ms under the profiler, ${seconds.toFixed(1)} s): ${file}`,
      );
      for (const line of summary.lines) console.log(`  ${line}`);
    }
    if (full.target.errors.count + plain.target.errors.count > failures)
      console.log('!!! errors during the profiled windows');
  }
}

/** Waits for children starting together; every one that started is in `children` (stopped at the end). */
async function startAll(children: Child[], starting: Promise<Child>[]): Promise<Child[]> {
  const settled = await Promise.allSettled(starting);
  for (const r of settled) if (r.status === 'fulfilled') children.push(r.value);
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<Child>).value);
}

/** Registers three agents at the STS and has it issue person → planner → executor → third → tool. */
async function issueChain(
  sts: StsAdmin,
  idp: PersonIdp,
): Promise<{ tokens: [string, string, string]; client: AgentClient }> {
  const { executor, root } = await rootDelegation(sts, idp, {
    grants: [
      { action: 'crm:*', resource: 'https://tools.bench.warrant.test/*' },
      { action: 'agent:*', resource: `spiffe://${TRUST_DOMAIN}/agent/*` },
    ],
  });
  const third = await registerAgent(sts, 'third', WIDE);
  const r1 = await executor.exchange({
    subjectToken: root,
    subjectTokenType: TOKEN_TYPES.warrant,
    audience: third.agentId,
  });
  const r2 = await third.exchange({
    subjectToken: r1.access_token,
    subjectTokenType: TOKEN_TYPES.warrant,
    audience: TOOL,
  });
  return { tokens: [root, r1.access_token, r2.access_token], client: third };
}
