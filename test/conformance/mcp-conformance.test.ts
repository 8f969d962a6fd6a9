/**
 * MCP fit, checked by the protocol's own conformance suite (`@modelcontextprotocol/conformance`, server
 * scenarios): its reference "everything" server (vendored in ./vendor, the package ships none) is tested
 * directly and then behind the gateway, through `warrant agent proxy` (a stock client's view: the suite
 * itself cannot do DPoP). Every scenario that passes directly must pass through the gateway; both pass
 * counts are printed. The runs take about a minute each; nothing is skipped.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CatalogAction } from '../../src/guard/catalog.ts';
import { type RunningAgentProxy, startAgentProxy } from '../../src/sdk/proxy/agent-proxy.ts';
import { TokenPool } from '../../src/sdk/token-pool.ts';
import { rootWarrant, WIDE } from '../gateway/rejections-support.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { freePort } from '../support/redis-server.ts';
import { agentIdOf } from '../support/sts-harness.ts';

const NODE = process.execPath;
const SERVER = fileURLToPath(new URL('./vendor/everything-server.mjs', import.meta.url));
const SUITE = fileURLToPath(
  new URL('../../node_modules/@modelcontextprotocol/conformance/dist/index.js', import.meta.url),
);
const AUDIENCE = 'https://tools.warrant.test/everything';
/** The MCP methods the scenarios call besides tools/call (housekeeping such as ping needs no action). */
const METHODS = [
  'resources/list',
  'resources/read',
  'resources/templates/list',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
  'logging/setLevel',
];
const low = { impact: 'low', dataClass: 'internal', reversibility: 'reversible', blastRadius: 1 } as const;

interface Summary {
  readonly scenarios: Map<string, { passed: number; failed: number }>;
  readonly total: { passed: number; failed: number };
  readonly output: string;
}

/** The suite's output (stdout and stderr) for `args`, run in a scratch directory (it writes `results/`). */
function runConformance(args: readonly string[], timeoutMs: number): Promise<string> {
  const cwd = mkdtempSync(join(tmpdir(), 'warrant-conformance-'));
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [SUITE, 'server', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => {
      output += c;
    });
    child.stderr.on('data', (c) => {
      output += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      rmSync(cwd, { recursive: true, force: true });
      resolve(output);
    });
  });
}

/** Runs the suite's server scenarios against `url`. */
async function runSuite(url: string): Promise<Summary> {
  const output = await runConformance(['--url', url], 300_000);
  const scenarios = new Map<string, { passed: number; failed: number }>();
  for (const m of output.matchAll(/^[✓✗] ([\w-]+): (\d+) passed, (\d+) failed$/gmu))
    scenarios.set(m[1]!, { passed: Number(m[2]), failed: Number(m[3]) });
  const total = /^Total: (\d+) passed, (\d+) failed$/m.exec(output);
  if (!total || scenarios.size === 0)
    throw new Error(`the conformance suite printed no summary:\n${output.slice(-3000)}`);
  return { scenarios, total: { passed: Number(total[1]), failed: Number(total[2]) }, output };
}

/** Whether the suite's scenario `name` passes against `url`, run alone. */
async function passesAlone(url: string, name: string): Promise<boolean> {
  const output = await runConformance(['--url', url, '--scenario', name], 120_000);
  const m = /^Passed: (\d+)\/(\d+), (\d+) failed/m.exec(output);
  return m !== null && m[1] === m[2] && m[3] === '0' && Number(m[2]) > 0;
}

function passing(s: Summary): string[] {
  return [...s.scenarios].filter(([, r]) => r.failed === 0 && r.passed > 0).map(([name]) => name);
}

describe('MCP conformance: the reference server directly, and behind the gateway through the agent proxy', () => {
  let server: ChildProcess;
  let serverUrl: string;
  let h: GatewayHarness;
  let pool: TokenPool;
  let proxy: RunningAgentProxy;

  before(async () => {
    const port = await freePort();
    serverUrl = `http://localhost:${port}/mcp`;
    server = spawn(NODE, [SERVER], { env: { ...process.env, PORT: String(port) }, stdio: 'pipe' });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new Error(`the everything server did not start: ${out}`)),
        20_000,
      );
      server.stdout!.on('data', (c) => {
        out += c;
        if (out.includes('running on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      server.on('exit', (code) => reject(new Error(`the everything server exited (${code}): ${out}`)));
    });
    // Its tools, to put each in the catalog.
    const lister = new Client({ name: 'lister', version: '1.0.0' });
    await lister.connect(new StreamableHTTPClientTransport(new URL(serverUrl)));
    const { tools } = await lister.listTools();
    await lister.close();
    const catalog: CatalogAction[] = [
      ...tools.map((t) => ({
        name: `everything:${t.name}`,
        match: { protocol: 'mcp', tool: t.name },
        ...low,
      })),
      ...METHODS.map((m) => ({
        name: `everything:${m.replaceAll('/', '.')}`,
        match: { protocol: 'mcp', rpcMethod: m },
        ...low,
      })),
    ] as CatalogAction[];
    h = await startGatewayHarness({
      upstreams: {},
      routes: () => [
        { match: { pathPrefix: '/mcp' }, upstream: serverUrl, audience: AUDIENCE, protocol: 'mcp' },
      ],
      catalog,
    });
    const planner = await h.sts.agent('planner');
    const executor = await h.sts.agent('executor', WIDE);
    const root = await rootWarrant(h, planner, agentIdOf('executor'), [
      { action: 'everything:*', resource: AUDIENCE },
    ]);
    pool = new TokenPool({ client: executor, subject: { token: root } });
    proxy = await startAgentProxy({ gateway: h.gw.url, pool });
  });

  after(async () => {
    await proxy?.close();
    pool?.close();
    // The server first: its event streams end, so the gateway's upstream connections close.
    server?.kill();
    await h?.close();
  });

  test('every scenario that passes directly passes through the gateway', { timeout: 420_000 }, async () => {
    // The proxy is reached as localhost (the reference server's DNS-rebinding check wants a local Host).
    const viaGateway = proxy.url.replace('127.0.0.1', 'localhost');
    // One after the other: the reference server keeps state, and the suite has timing-sensitive scenarios.
    const direct = await runSuite(serverUrl);
    const gated = await runSuite(`${viaGateway}/mcp`);
    const d = passing(direct);
    const g = new Set(passing(gated));
    console.log(
      `MCP conformance (server scenarios): directly ${direct.total.passed} checks passed, ${direct.total.failed} failed ` +
        `(${d.length}/${direct.scenarios.size} scenarios); through warrant agent proxy + gateway ` +
        `${gated.total.passed} passed, ${gated.total.failed} failed (${g.size}/${gated.scenarios.size} scenarios)`,
    );
    const failedDirectly = [...direct.scenarios].filter(([, r]) => r.failed > 0).map(([n]) => n);
    if (failedDirectly.length > 0)
      console.log(`failing directly too (the reference server's): ${failedDirectly}`);
    assert.deepEqual(
      [...direct.scenarios.keys()].sort(),
      [...gated.scenarios.keys()].sort(),
      'the same scenarios ran',
    );
    let lost = d.filter((name) => !g.has(name));
    if (lost.length > 0) {
      // The suite has timing-sensitive scenarios (progress, sampling, several SSE streams) that a loaded
      // 2-core machine can fail either way (the reference server fails some directly too): one more run
      // through the gateway; what fails twice is a real loss.
      console.log(`failing through the gateway on the first run, run again: ${lost}`);
      const again = new Set(passing(await runSuite(`${viaGateway}/mcp`)));
      lost = lost.filter((name) => !again.has(name));
    }
    // Still lost: the scenario alone, up to three times (the reference server fails tools-call-sampling and
    // the elicitation scenarios directly too, now and then, and its state carries over within a suite
    // run). A scenario the gateway breaks fails every time.
    for (const name of [...lost]) {
      for (let attempt = 1; attempt <= 3; attempt++) {
        if (await passesAlone(`${viaGateway}/mcp`, name)) {
          console.log(`${name} passes through the gateway alone (attempt ${attempt})`);
          lost = lost.filter((n) => n !== name);
          break;
        }
      }
    }
    assert.deepEqual(
      lost,
      [],
      `scenarios passing directly but not through the gateway:\n${gated.output.slice(-4000)}`,
    );
    // The gateway decided the calls: tools/call and the other methods were recorded as allowed.
    const allowed = h.decisions.records.filter((r) => r.kind === 'decision' && r.decision === 'allow');
    assert.ok(
      allowed.some((r) => r.action === 'everything:test_simple_text'),
      'tools/call went through the gateway',
    );
  });
});
