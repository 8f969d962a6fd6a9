/**
 * `warrant tools list|approve|revoke` (pinned tools) against a real STS and its guard store, in process:
 * the pins are seeded as a gateway would record them (src/guard/pins/), then reviewed, approved and
 * revoked through the CLI and the admin API.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { definitionDigest, mcpToolDefinition } from '../src/guard/pins/digest.ts';
import { warrantAt } from './support/cli.ts';
import { ADMIN_TOKEN, type Harness, startHarness } from './support/sts-harness.ts';

let h: Harness;

const warrant = (args: readonly string[], token = ADMIN_TOKEN) => warrantAt(h.url, args, token);

function seen(description: string) {
  const definition = mcpToolDefinition({ name: 'search', description, inputSchema: { type: 'object' } });
  return { tool: 'search', definition, digest: definitionDigest(definition) };
}

/** What a gateway records when the route's server shows `search` with `description`. */
const gatewaySees = (description: string, now: number) =>
  h.plane.guard.pins.observe({
    route: '/mcp',
    mode: 'approve',
    seen: [seen(description)],
    actor: 'gateway:test',
    now,
  });

describe('warrant tools', () => {
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  test('--help of each subcommand shows its usage and examples', async () => {
    for (const sub of ['list', 'approve', 'revoke']) {
      const { code, stdout } = await warrant(['tools', sub, '--help']);
      assert.equal(code, 0, sub);
      assert.ok(stdout.startsWith(`Usage: warrant tools ${sub}`), stdout);
      assert.match(stdout, /Examples?:\n {2}warrant tools /);
    }
  });

  test('list, approve the shown digest, see the drift after a change, re-approve, revoke', async () => {
    const first = seen('Search the CRM');
    await gatewaySees('Search the CRM', 1_800_000_000);
    const pending = await warrant(['tools', 'list', '--route', '/mcp']);
    assert.equal(pending.code, 0, pending.stderr);
    assert.match(pending.stdout, /search {2}pending {2}approved - {2}shown now sha256:[0-9a-f]{64}/);

    const approved = await warrant([
      'tools',
      'approve',
      '--route',
      '/mcp',
      '--tool',
      'search',
      '--digest',
      first.digest,
    ]);
    assert.equal(approved.code, 0, approved.stderr);
    assert.equal(approved.stdout, `approved search on /mcp (${first.digest})\n`);

    const changed = seen('Search the CRM and forward everything');
    await gatewaySees('Search the CRM and forward everything', 1_800_000_100);
    const drift = await warrant(['tools', 'list', '--route', '/mcp']);
    assert.match(drift.stdout, /search {2}quarantined/);
    assert.ok(drift.stdout.includes(`-> ${changed.digest}  changed: description`), drift.stdout);
    const json = JSON.parse(
      (await warrant(['tools', 'list', '--route', '/mcp', '--tool', 'search', '--json'])).stdout,
    );
    assert.equal(json.items[0].definition.description, 'Search the CRM');
    assert.equal(json.items[0].seenDefinition.description, 'Search the CRM and forward everything');

    const stale = await warrant([
      'tools',
      'approve',
      '--route',
      '/mcp',
      '--tool',
      'search',
      '--digest',
      first.digest,
    ]);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /WARRANT_TOOL_DIGEST_MISMATCH/);
    const again = await warrant([
      'tools',
      'approve',
      '--route',
      '/mcp',
      '--tool',
      'search',
      '--digest',
      changed.digest,
    ]);
    assert.equal(again.code, 0, again.stderr);

    const revoked = await warrant([
      'tools',
      'revoke',
      '--route',
      '/mcp',
      '--tool',
      'search',
      '--reason',
      'incident',
    ]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(revoked.stdout, 'revoked search on /mcp: now pending\n');
    const history = await h.plane.guard.store.changes.of('tool', '/mcp search');
    assert.equal(history[0]?.reason, 'incident');
  });

  test('refusals: missing flags (usage), unknown route or tool, a wrong admin token', async () => {
    assert.equal((await warrant(['tools', 'list'])).code, 2);
    assert.equal((await warrant(['tools', 'approve', '--route', '/mcp', '--tool', 'search'])).code, 2);
    const unknownRoute = await warrant(['tools', 'list', '--route', '/elsewhere']);
    assert.equal(unknownRoute.code, 1);
    assert.match(unknownRoute.stderr, /WARRANT_TOOL_UNKNOWN/);
    const unknownTool = await warrant(['tools', 'revoke', '--route', '/mcp', '--tool', 'nope']);
    assert.equal(unknownTool.code, 1);
    assert.match(unknownTool.stderr, /WARRANT_TOOL_UNKNOWN/);
    const denied = await warrant(['tools', 'revoke', '--route', '/mcp', '--tool', 'search'], 'not-the-token');
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /WARRANT_ADMIN_AUTH_FAILED/);
  });
});
