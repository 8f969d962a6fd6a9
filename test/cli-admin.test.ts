/**
 * The admin and verification commands of the CLI (`warrant agent …`, `revoke`, `keys rotate`,
 * `policy …`, `token verify`) against a real STS started in this process, the CLI run as a child process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tokenHash } from '../src/core/jose/hash.ts';
import { type AgentClient, TOKEN_TYPES } from '../src/sdk/agent-client.ts';
import { warrantInProcess } from './support/cli.ts';
import { ADMIN_TOKEN, agentIdOf, type Harness, startHarness } from './support/sts-harness.ts';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'warrant-cli-admin-'));
/** Children share a compile cache: type stripping dominates the start of each `warrant` process. */
const compileCache = join(dir, 'compile-cache');

let h: Harness;
let planner: AgentClient;
let executor: AgentClient;
/** Chains made with the SDK before the suites start. */
const chains: Record<'byTxn' | 'byToken' | 'verify', { root: string; hop: string; txn: string }> =
  {} as never;

before(async () => {
  h = await startHarness();
  planner = await h.agent('planner');
  executor = await h.agent('executor', {
    allowedAudiences: ['https://tools.warrant.test/*', 'spiffe://warrant.test/*'],
  });
  chains.byTxn = await makeChain('revoke-by-txn');
  chains.byToken = await makeChain('revoke-by-token');
  chains.verify = await makeChain('verify');
});
after(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface RunOptions {
  readonly input?: string;
  /** Replaces WARRANT_URL / WARRANT_ADMIN_TOKEN; `undefined` values remove them. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
}

/** Runs `warrant …` against the harness STS; fails the test if the admin token shows up in any output. */
function warrant(args: readonly string[], options: RunOptions = {}): Promise<Result> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('WARRANT_') && v !== undefined) env[k] = v;
  const wanted = {
    WARRANT_URL: h.url,
    WARRANT_ADMIN_TOKEN: ADMIN_TOKEN,
    NODE_COMPILE_CACHE: compileCache,
    ...options.env,
  };
  for (const [k, v] of Object.entries(wanted)) if (v !== undefined) env[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: options.cwd ?? dir, env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      assert.ok(
        !stdout.includes(ADMIN_TOKEN) && !stderr.includes(ADMIN_TOKEN),
        'the admin token was printed',
      );
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input);
  });
}

/**
 * GET a JSON document from the harness STS, in this process. Retried once on a network error: under load,
 * a keep-alive connection the in-process server is closing can be picked for the request (ECONNRESET).
 */
async function getJson(path: string): Promise<unknown> {
  const get = () =>
    fetch(`${h.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }).then((r) => r.json());
  try {
    return await get();
  } catch {
    return await get();
  }
}

/** A root warrant from `alice` to the executor, and its exchange by the executor for a tool: a 2-link chain. */
async function makeChain(task = 'report'): Promise<{ root: string; hop: string; txn: string }> {
  const root = await planner.exchange({
    subjectToken: h.idToken('alice', planner),
    subjectTokenType: TOKEN_TYPES.idToken,
    audience: agentIdOf('executor'),
    grants: [{ action: 'crm:read', resource: 'crm/*', constraints: { max_rows: 100 } }],
    task,
  });
  const hop = await executor.exchange({
    subjectToken: root.access_token,
    subjectTokenType: TOKEN_TYPES.warrant,
    audience: 'https://tools.warrant.test/crm',
    scope: 'crm:read',
  });
  const claims = JSON.parse(Buffer.from(root.access_token.split('.')[1]!, 'base64url').toString('utf8'));
  return { root: root.access_token, hop: hop.access_token, txn: claims.txn };
}

/** The same token with one character of its signature changed (still canonical base64url). */
function tamper(token: string): string {
  const cut = token.lastIndexOf('.') + 10;
  const replacement = token[cut] === 'A' ? 'B' : 'A';
  return token.slice(0, cut) + replacement + token.slice(cut + 1);
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// The suites share one STS and touch different agents and transactions.
describe('warrant admin and verification commands', () => {
  describe('warrant agent', () => {
    test('keygen → add → list → show → disable → show (disabled) → enable → rotate-key', async () => {
      const [keygen, next] = await Promise.all([
        warrant(['keygen', '--out', 'reporter.jwk', '--json']),
        warrant(['keygen', '--out', 'reporter-2.jwk']),
      ]);
      assert.equal(keygen.code, 0, keygen.stderr);
      assert.equal(next.code, 0, next.stderr);
      const { kid } = JSON.parse(keygen.stdout);

      // The private key file is accepted; the registered key is its public half.
      const add = await warrant([
        'agent',
        'add',
        'reporter',
        '--public-key',
        'reporter.jwk',
        '--owner',
        'bob@example.org',
        '--tier',
        'executor',
        '--trust-level',
        '3',
        '--audience',
        'https://tools.warrant.test/*',
        '--audience',
        'spiffe://warrant.test/agent/*',
        '--max-depth',
        '2',
        '--client-id',
        'https://accounts.warrant.test=reporter-app',
        '--client-id',
        'https://login.warrant.test/tenant=a=b',
        '--json',
      ]);
      assert.equal(add.code, 0, add.stderr);
      const agent = JSON.parse(add.stdout);
      assert.equal(agent.id, agentIdOf('reporter'));
      assert.equal(agent.jkt, kid);
      assert.equal(agent.publicJwk.d, undefined);
      assert.equal(agent.owner, 'bob@example.org');
      assert.equal(agent.trustLevel, 3);
      assert.equal(agent.maxDepth, 2);
      assert.deepEqual(agent.allowedAudiences, [
        'https://tools.warrant.test/*',
        'spiffe://warrant.test/agent/*',
      ]);
      // Split at the first `=`: the issuer is a URL, the client id may hold `=`.
      assert.deepEqual(agent.clientIds, {
        'https://accounts.warrant.test': 'reporter-app',
        'https://login.warrant.test/tenant': 'a=b',
      });

      const [list, listJson, show, showById] = await Promise.all([
        warrant(['agent', 'list']),
        warrant(['agent', 'list', '--status', 'active', '--limit', '10', '--json']),
        warrant(['agent', 'show', 'reporter']),
        warrant(['agent', 'show', agentIdOf('reporter'), '--json']),
      ]);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^NAME +STATUS +TIER +TRUST +OWNER +ID$/m);
      assert.match(
        list.stdout,
        /^reporter +active +executor +3 +bob@example\.org +spiffe:\/\/warrant\.test\/agent\/reporter$/m,
      );
      assert.equal(listJson.code, 0, listJson.stderr);
      assert.ok(JSON.parse(listJson.stdout).items.some((a: { name: string }) => a.name === 'reporter'));
      assert.equal(show.code, 0, show.stderr);
      assert.match(show.stdout, /^status +active$/m);
      assert.match(show.stdout, new RegExp(`^key \\(jkt\\) +${kid}$`, 'm'));
      assert.match(show.stdout, /^client id +reporter-app at https:\/\/accounts\.warrant\.test$/m);
      assert.equal(JSON.parse(showById.stdout).name, 'reporter');

      const disable = await warrant(['agent', 'disable', 'reporter']);
      assert.equal(disable.code, 0, disable.stderr);
      assert.match(disable.stdout, /disabled spiffe:\/\/warrant\.test\/agent\/reporter; revoked \d+ token/);
      const [disabled, disabledList] = await Promise.all([
        warrant(['agent', 'show', 'reporter']),
        warrant(['agent', 'list', '--status', 'disabled', '--json']),
      ]);
      assert.match(disabled.stdout, /^status +disabled$/m);
      assert.deepEqual(
        JSON.parse(disabledList.stdout).items.map((a: { name: string }) => a.name),
        ['reporter'],
      );
      const enable = await warrant(['agent', 'enable', 'reporter', '--json']);
      assert.equal(enable.code, 0, enable.stderr);
      assert.equal(JSON.parse(enable.stdout).agent.status, 'active');

      // A public JWK (what keygen prints) works too.
      writeFileSync(join(dir, 'reporter-2.pub.jwk'), next.stdout);
      const rotate = await warrant([
        'agent',
        'rotate-key',
        'reporter',
        '--public-key',
        'reporter-2.pub.jwk',
        '--overlap',
        '60',
      ]);
      assert.equal(rotate.code, 0, rotate.stderr);
      const newKid = JSON.parse(next.stdout).kid;
      assert.match(rotate.stdout, new RegExp(`^new key \\(jkt\\) +${newKid}$`, 'm'));
      assert.match(rotate.stdout, new RegExp(`^old key \\(jkt\\) +${kid}, accepted until `, 'm'));
      const rotated = (await getJson('/admin/agents/reporter')) as {
        jkt: string;
        previousKeys: { jkt: string }[];
      };
      assert.equal(rotated.jkt, newKid);
      assert.equal(rotated.previousKeys.at(-1)?.jkt, kid);
    });

    test('agent trust sets and pins a level with its reason; agent show and agent autonomy show it', async () => {
      const before = await warrant(['agent', 'trust', 'planner']);
      assert.equal(before.code, 0, before.stderr);
      assert.match(before.stdout, /^trust level 0 of 4$/m);
      assert.match(before.stdout, /^history +\(no change yet\)$/m);
      const noReason = await warrant(['agent', 'trust', 'planner', '--level', '2']);
      assert.equal(noReason.code, 2, 'a usage error');
      assert.match(noReason.stderr, /--reason is required/);
      const set = await warrant(['agent', 'trust', 'planner', '--level', '2', '--reason', 'vetted by ops']);
      assert.equal(set.code, 0, set.stderr);
      assert.match(set.stdout, /^changed\ntrust level 2 of 4 \(pinned by an operator\)$/m);
      assert.match(set.stdout, /-> 2 by admin: set to level 2 and pinned by an operator: vetted by ops$/m);
      const tooHigh = await warrant(['agent', 'trust', 'planner', '--level', '7', '--reason', 'x']);
      assert.equal(tooHigh.code, 1);
      assert.match(tooHigh.stderr, /level must be an integer in 0\.\.4/);
      const [show, showJson, autonomy, autonomyJson] = await Promise.all([
        warrant(['agent', 'show', 'planner']),
        warrant(['agent', 'show', 'planner', '--json']),
        warrant(['agent', 'autonomy', 'planner']),
        warrant(['agent', 'autonomy', 'planner', '--json']),
      ]);
      assert.match(show.stdout, /^trust level 2 of 4 \(pinned by an operator\)$/m);
      assert.match(show.stdout, /^tier trust +\d+ \(the delegation policy's input at exchange\)$/m);
      assert.equal(JSON.parse(showJson.stdout).trust.level, 2);
      assert.equal(autonomy.code, 0, autonomy.stderr);
      assert.match(autonomy.stdout, /^Autonomy statement of spiffe:\/\/warrant\.test\/agent\/planner$/m);
      assert.match(autonomy.stdout, /^trust level 2 of 4 \(pinned\)/m);
      assert.match(autonomy.stdout, /^Under uncertainty it stops and asks:$/m);
      const answer = JSON.parse(autonomyJson.stdout);
      assert.equal(answer.statement.trustLevel, 2);
      assert.match(answer.digest, /^[A-Za-z0-9_-]{43}$/);
      const unpin = await warrant([
        'agent',
        'trust',
        'planner',
        '--unpin',
        '--reason',
        'let it earn',
        '--json',
      ]);
      assert.equal(unpin.code, 0, unpin.stderr);
      assert.deepEqual(
        [JSON.parse(unpin.stdout).trust.level, JSON.parse(unpin.stdout).trust.pinned],
        [2, false],
      );
    });

    test('an unknown agent, a taken name: exit 1 with what to do next', async () => {
      const [unknown, taken] = await Promise.all([
        warrant(['agent', 'show', 'nobody']),
        warrant(['agent', 'add', 'planner', '--public-key', 'reporter.jwk', '--owner', 'x']),
      ]);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /no such agent \(WARRANT_AGENT_UNKNOWN\)/);
      assert.match(unknown.stderr, /warrant agent list/);
      assert.equal(taken.code, 1);
      assert.match(taken.stderr, /WARRANT_STORE_CONFLICT/);
    });
  });

  describe('admin credentials and reachability', () => {
    const wrong = 'wrong-admin-token-5f1e';

    test('a wrong admin token exits 1 with a helpful message and never echoes the token', async () => {
      const { code, stdout, stderr } = await warrant(['agent', 'list'], {
        env: { WARRANT_ADMIN_TOKEN: wrong },
      });
      assert.equal(code, 1);
      assert.equal(stdout, '');
      assert.match(stderr, /refused the admin token \(WARRANT_ADMIN_AUTH_FAILED\)/);
      assert.match(stderr, /WARRANT_ADMIN_TOKEN/);
      assert.match(stderr, /--admin-token-file/);
      assert.ok(!stderr.includes(wrong), 'the wrong token is not echoed');
    });

    test('no admin token at all: exit 1 saying where to put one', async () => {
      const empty = join(dir, 'empty');
      mkdirSync(empty, { recursive: true });
      const { code, stderr } = await warrant(['agent', 'list'], {
        env: { WARRANT_ADMIN_TOKEN: undefined },
        cwd: empty,
      });
      assert.equal(code, 1);
      assert.match(stderr, /no admin token/);
      assert.match(stderr, /\.warrant\/admin-token/);
    });

    test('the token comes from --admin-token-file, or ./.warrant/admin-token by default', async () => {
      const project = join(dir, 'project');
      mkdirSync(join(project, '.warrant'), { recursive: true });
      writeFileSync(join(project, '.warrant', 'admin-token'), `${ADMIN_TOKEN}\n`, { mode: 0o600 });
      writeFileSync(join(dir, 'token-file'), `${ADMIN_TOKEN}\n`, { mode: 0o600 });
      const [byDefault, byFlag, missingFile] = await Promise.all([
        warrant(['agent', 'list', '--json'], { env: { WARRANT_ADMIN_TOKEN: undefined }, cwd: project }),
        warrant(['agent', 'show', 'planner', '--admin-token-file', 'token-file'], {
          env: { WARRANT_ADMIN_TOKEN: wrong },
        }),
        warrant(['agent', 'list', '--admin-token-file', 'no-such-file']),
      ]);
      assert.equal(byDefault.code, 0, byDefault.stderr);
      assert.equal(byFlag.code, 0, byFlag.stderr);
      assert.equal(missingFile.code, 1);
      assert.match(missingFile.stderr, /cannot read the admin token file .*no-such-file \(ENOENT\)/);
    });

    test('an STS that is not running: exit 1, asks whether warrant dev runs', async () => {
      const url = `http://127.0.0.1:${await closedPort()}`;
      const { code, stderr } = await warrant(['agent', 'list', '--url', url]);
      assert.equal(code, 1);
      assert.match(
        stderr,
        new RegExp(`cannot reach the STS at ${url.replaceAll('.', '\\.')} \\(ECONNREFUSED\\)`),
      );
      assert.match(stderr, /warrant dev/);
      assert.match(stderr, /--url/);
    });
  });

  describe('warrant revoke', () => {
    test('by --txn revokes the warrants of the transaction', async () => {
      const { root, hop, txn } = chains.byTxn;
      const { code, stdout, stderr } = await warrant(['revoke', '--txn', txn, '--reason', 'test', '--json']);
      assert.equal(code, 0, stderr);
      const result = JSON.parse(stdout);
      assert.ok(result.revoked >= 2);
      assert.ok(result.hashes.includes(tokenHash(root)));
      assert.ok(result.hashes.includes(tokenHash(hop)));
      const tokens = (await getJson(`/admin/tokens?txn=${encodeURIComponent(txn)}`)) as {
        items: { hash: string; revokedAt: number | null; revokeReason: string | null }[];
      };
      const record = tokens.items.find((t) => t.hash === tokenHash(root));
      assert.ok(record?.revokedAt !== null);
      assert.equal(record?.revokeReason, 'test');
      // Again: nothing live is left.
      const again = await warrant(['revoke', '--txn', txn]);
      assert.equal(again.code, 0);
      assert.match(again.stdout, /revoked 0 token\(s\) for transaction/);
    });

    test('a token given instead of a hash is hashed locally (here from standard input)', async () => {
      const { root, hop } = chains.byToken;
      // The leaf first: revoking the root first would revoke it too (by cascade).
      const byToken = await warrant(['revoke', '-', '--json'], { input: `${hop}\n` });
      const byHash = await warrant(['revoke', tokenHash(root), '--json']);
      assert.equal(byToken.code, 0, byToken.stderr);
      assert.deepEqual(JSON.parse(byToken.stdout).hashes, [tokenHash(hop)]);
      assert.equal(byHash.code, 0, byHash.stderr);
      assert.ok(JSON.parse(byHash.stdout).hashes.includes(tokenHash(root)));
    });

    test('by --agent takes a name', async () => {
      const key = await warrant(['keygen', '--out', 'victim.jwk']);
      assert.equal(key.code, 0);
      assert.equal(
        (await warrant(['agent', 'add', 'victim', '--public-key', 'victim.jwk', '--owner', 'x'])).code,
        0,
      );
      const { code, stdout, stderr } = await warrant(['revoke', '--agent', 'victim']);
      assert.equal(code, 0, stderr);
      assert.match(stdout, /revoked 0 token\(s\) for agent victim/);
    });
  });

  describe('warrant token verify', () => {
    const jwks = () => `${h.url}/jwks`;

    test('--chain on a 2-link chain: exit 0, prints the person, actors, txn, grants and hashes', async () => {
      const chain = chains.verify;
      const header = `${chain.root}, ${chain.hop}`;
      writeFileSync(join(dir, 'jwks.json'), JSON.stringify(await getJson('/jwks')));
      const [human, json, fromFile] = await Promise.all([
        warrant(['token', 'verify', '--chain', header, '--jwks', jwks()]),
        warrant(
          [
            'token',
            'verify',
            '-',
            '--chain',
            '--jwks',
            jwks(),
            '--issuer',
            h.url,
            '--audience',
            'https://tools.warrant.test/crm',
            '--json',
          ],
          { input: `${header}\n` },
        ),
        warrant(['token', 'verify', '--chain', header, '--jwks', 'jwks.json']),
      ]);
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /^valid: chain of 2 link/m);
      assert.match(human.stdout, /^person +alice \(authenticated by https:\/\/idp\.warrant\.test\)$/m);
      assert.ok(human.stdout.includes(`${agentIdOf('planner')} -> ${agentIdOf('executor')}`));
      assert.ok(human.stdout.includes(chain.txn));
      assert.match(human.stdout, /crm:read on crm\/\*/);
      assert.ok(human.stdout.includes(tokenHash(chain.root)) && human.stdout.includes(tokenHash(chain.hop)));
      assert.match(human.stdout, /not pinned/);
      assert.equal(json.code, 0, json.stderr);
      const out = JSON.parse(json.stdout);
      assert.equal(out.valid, true);
      assert.deepEqual(out.person, { sub: 'alice', iss: 'https://idp.warrant.test' });
      assert.equal(out.txn, chain.txn);
      assert.equal(out.links.length, 2);
      assert.equal(fromFile.code, 0, fromFile.stderr);
    });

    test('a tampered chain: exit 1 with the stable code and the link index', async () => {
      const chain = chains.verify;
      const [signature, noRoot, json] = await Promise.all([
        warrant(['token', 'verify', '--chain', `${chain.root},${tamper(chain.hop)}`, '--jwks', jwks()]),
        warrant(['token', 'verify', '--chain', chain.hop, '--jwks', jwks()]),
        warrant([
          'token',
          'verify',
          '--chain',
          `${tamper(chain.root)},${chain.hop}`,
          '--jwks',
          jwks(),
          '--json',
        ]),
      ]);
      assert.equal(signature.code, 1);
      assert.equal(signature.stdout, '');
      assert.match(
        signature.stderr,
        /chain rejected at link 1 .*\((WARRANT_JWS_SIGNATURE_INVALID|WARRANT_CHAIN_LINK_BROKEN)\)/,
      );
      assert.equal(noRoot.code, 1);
      assert.match(noRoot.stderr, /chain rejected at link 0 .*\(WARRANT_CHAIN_LINK_BROKEN\)/);
      assert.equal(json.code, 1);
      const out = JSON.parse(json.stdout);
      assert.equal(out.valid, false);
      assert.equal(out.link, 0);
      assert.equal(out.code, 'WARRANT_JWS_SIGNATURE_INVALID');
    });

    test('a single token: the kind comes from typ; context is checked', async () => {
      const chain = chains.verify;
      const identity = (await planner.identity()).access_token;
      const [root, id, wrongAudience, wrongIssuer, chainWithoutFlag] = await Promise.all([
        warrant(['token', 'verify', '-', '--jwks', jwks(), '--json'], { input: chain.root }),
        warrant(['token', 'verify', identity, '--jwks', jwks()]),
        warrant(['token', 'verify', chain.hop, '--jwks', jwks(), '--audience', 'https://elsewhere.test']),
        warrant(['token', 'verify', chain.root, '--jwks', jwks(), '--issuer', 'https://other.test']),
        warrant(['token', 'verify', `${chain.root},${chain.hop}`, '--jwks', jwks()]),
      ]);
      assert.equal(root.code, 0, root.stderr);
      const out = JSON.parse(root.stdout);
      assert.equal(out.kind, 'warrant');
      assert.equal(out.hash, tokenHash(chain.root));
      assert.equal(out.claims.sub, 'alice');
      assert.equal(id.code, 0, id.stderr);
      assert.match(id.stdout, /^valid: identity token \(wi\+jwt\)/m);
      assert.ok(id.stdout.includes(`agent     ${agentIdOf('planner')}`));
      assert.equal(wrongAudience.code, 1);
      assert.match(wrongAudience.stderr, /token rejected: .*\(WARRANT_AUDIENCE_MISMATCH\)/);
      assert.match(wrongAudience.stderr, /--audience/);
      assert.equal(wrongIssuer.code, 1);
      assert.match(wrongIssuer.stderr, /WARRANT_ISSUER_MISMATCH/);
      assert.equal(chainWithoutFlag.code, 2);
      assert.match(chainWithoutFlag.stderr, /pass --chain/);
    });
  });

  describe('warrant policy and keys', () => {
    test('policy validate: the default policies are valid (exit 0)', async () => {
      const [human, json] = await Promise.all([
        warrant(['policy', 'validate']),
        warrant(['policy', 'validate', '--json']),
      ]);
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /^version +sha256:[0-9a-f]{64}$/m);
      assert.match(human.stdout, /person-to-agent/);
      const out = JSON.parse(json.stdout);
      assert.equal(out.valid, true);
      assert.ok(out.policyIds.includes('person-to-agent'));
    });

    test('policy validate: a broken policy file exits 1 with its file, line and policy', async () => {
      writeFileSync(
        join(dir, 'unknown-type.cedar'),
        '@id("bad")\npermit (principal is Warrant::Nope, action, resource);\n',
      );
      writeFileSync(join(dir, 'syntax.cedar'), 'permit (principal, action, resource\n');
      const [unknownType, syntax, missing] = await Promise.all([
        warrant(['policy', 'validate', '--policies', 'unknown-type.cedar']),
        warrant(['policy', 'validate', '--policies', 'syntax.cedar', '--json']),
        warrantInProcess(['policy', 'validate', '--policies', join(dir, 'missing.cedar')]),
      ]);
      assert.equal(unknownType.code, 1);
      assert.match(unknownType.stderr, /WARRANT_POLICY_INVALID/);
      assert.match(unknownType.stderr, /unknown-type\.cedar:2:\d+: policy "bad": .*Warrant::Nope/);
      assert.equal(syntax.code, 1);
      const out = JSON.parse(syntax.stdout);
      assert.equal(out.valid, false);
      assert.equal(out.diagnostics[0].source, 'syntax.cedar');
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /cannot read .*missing\.cedar \(ENOENT\)/);
    });

    test('policy reload and keys rotate', async () => {
      const before = (await getJson('/jwks')) as { keys: { kid: string }[] };
      const [reload, rotate] = await Promise.all([
        warrant(['policy', 'reload', '--json']),
        warrant(['keys', 'rotate']),
      ]);
      assert.equal(reload.code, 0, reload.stderr);
      const reloaded = JSON.parse(reload.stdout);
      assert.equal(reloaded.version, reloaded.previous);
      assert.equal(reloaded.revoked, 0);
      assert.equal(rotate.code, 0, rotate.stderr);
      const kid = /^new signing key (\S+)$/m.exec(rotate.stdout)?.[1];
      assert.ok(kid && !before.keys.some((k) => k.kid === kid));
      const afterwards = (await getJson('/jwks')) as { keys: { kid: string }[] };
      assert.ok(afterwards.keys.some((k) => k.kid === kid));
    });
  });

  describe('usage errors exit 2 and --help has an example', () => {
    test('usage errors', async () => {
      const cases: [string[], RegExp][] = [
        [['agent', 'add', 'x', '--owner', 'o'], /--public-key <file> is required/],
        [['agent', 'add', 'Bad_Name', '--public-key', 'k', '--owner', 'o'], /lowercase letters/],
        [
          ['agent', 'add', 'x', '--public-key', 'k', '--owner', 'o', '--trust-level', '11'],
          /--trust-level expects/,
        ],
        [['agent', 'list', '--status', 'gone'], /--status expects active or disabled/],
        [['agent', 'show'], /missing argument/],
        [['revoke'], /say what to revoke/],
        [['revoke', '--txn', 't', '--agent', 'a'], /exactly one/],
        [['revoke', 'not-a-hash'], /expected a token hash/],
        [['token', 'verify', 'a.b.c'], /--jwks <url\|file> is required/],
        [['keys', 'rotate', 'extra'], /unexpected argument/],
        [['agent', 'list', '--url', 'ftp://x'], /http or https URL/],
        [
          ['agent', 'add', 'x', '--public-key', 'k', '--owner', 'o', '--client-id', 'app'],
          /ISSUER=CLIENT_ID/,
        ],
        [
          ['agent', 'add', 'x', '--public-key', 'k', '--owner', 'o', '--client-id', 'https://idp='],
          /ISSUER=CLIENT_ID/,
        ],
      ];
      // Two as real processes (the exit status), the rest in this process (the same code path, faster).
      const results = await Promise.all(
        cases.map(([args], i) => (i < 2 ? warrant(args) : warrantInProcess(args))),
      );
      for (const [i, { code, stderr }] of results.entries()) {
        const [args, message] = cases[i]!;
        assert.equal(code, 2, args.join(' '));
        assert.match(stderr, message, args.join(' '));
        assert.match(stderr, /--help/);
      }
    });

    test('--help of every new command exits 0 with an example', async () => {
      const commands = [
        ['agent', 'add'],
        ['agent', 'list'],
        ['agent', 'show'],
        ['agent', 'disable'],
        ['agent', 'enable'],
        ['agent', 'rotate-key'],
        ['agent', 'trust'],
        ['agent', 'autonomy'],
        ['revoke'],
        ['token', 'verify'],
        ['keys', 'rotate'],
        ['policy', 'reload'],
        ['policy', 'validate'],
      ];
      const results = await Promise.all(
        commands.map((args, i) =>
          i === 0 ? warrant([...args, '--help']) : warrantInProcess([...args, '--help']),
        ),
      );
      for (const [i, { code, stdout }] of results.entries()) {
        const name = commands[i]!.join(' ');
        assert.equal(code, 0, name);
        assert.ok(stdout.startsWith(`Usage: warrant ${name}`), name);
        assert.match(stdout, /Examples?:\n {2}(\S+ \| )?warrant /, name);
      }
      assert.match(results[0]!.stdout, /--audience <pattern> +.*\(repeatable\)/);
      const docs = readFileSync(new URL('../docs/cli.md', import.meta.url), 'utf8');
      for (const args of commands) assert.ok(docs.includes(`warrant ${args.join(' ')}`), args.join(' '));
    });
  });
});
