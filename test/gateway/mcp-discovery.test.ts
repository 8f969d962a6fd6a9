/**
 * The MCP SDK's own OAuth discovery against a running gateway (RFC 9728): a 401 carries a `Bearer`
 * challenge with `resource_metadata` first (the SDK reads only that scheme) and the `DPoP` challenge after
 * it (RFC 9449 §7.1 allows several); the protected-resource metadata lists `scopes_supported` (the catalog's
 * actions on the route) and leads the SDK to the STS's authorization-server metadata (where the SDK stops:
 * the STS offers no authorization-code flow).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  discoverOAuthProtectedResourceMetadata,
  extractWWWAuthenticateParams,
  type OAuthClientProvider,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { type McpUpstream, mcpUpstream } from '../support/mcp-upstream.ts';

const AUDIENCE = 'https://tools.warrant.test/crm-mcp';
const low = { impact: 'low', dataClass: 'internal', reversibility: 'reversible', blastRadius: 1 } as const;

describe('MCP SDK discovery through the gateway', () => {
  let h: GatewayHarness;
  let upstream: McpUpstream;

  before(async () => {
    upstream = mcpUpstream({ stateful: true });
    h = await startGatewayHarness({
      upstreams: { mcp: upstream.handler, files: (_req, res) => res.end('{}') },
      routes: (u) => [
        { match: { pathPrefix: '/mcp' }, upstream: `${u['mcp']}/mcp`, audience: AUDIENCE, protocol: 'mcp' },
        { match: { pathPrefix: '/files' }, upstream: u['files']!, audience: AUDIENCE, protocol: 'http' },
      ],
      catalog: [
        { name: 'crm:contacts.get', match: { protocol: 'mcp', tool: 'get_contact' }, ...low },
        { name: 'crm:contacts.delete', match: { protocol: 'mcp', tool: 'delete_contact' }, ...low },
        { name: 'files:read', match: { protocol: 'http', method: 'GET', path: '/files/*' }, ...low },
        { name: 'other:read', match: { protocol: 'http', method: 'GET', path: '/other/*' }, ...low },
      ],
    });
  });

  after(async () => {
    await upstream?.close();
    await h?.close();
  });

  test("the SDK's challenge parser finds resource_metadata; the metadata lists scopes_supported", async () => {
    const r = await fetch(`${h.gw.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    assert.equal(r.status, 401);
    await r.body?.cancel();
    const challenge = r.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /^Bearer resource_metadata="[^"]+", DPoP algs="EdDSA ES256", resource_metadata=/);
    const { resourceMetadataUrl } = extractWWWAuthenticateParams(r);
    assert.equal(resourceMetadataUrl?.href, `${h.gw.url}/.well-known/oauth-protected-resource/mcp`);
    const metadata = await discoverOAuthProtectedResourceMetadata(new URL(`${h.gw.url}/mcp`), {
      resourceMetadataUrl: resourceMetadataUrl!,
    });
    assert.equal(metadata.resource, `${h.gw.url}/mcp`);
    assert.deepEqual(metadata.authorization_servers, [h.sts.url.replace(/\/+$/, '')]);
    assert.deepEqual(metadata.scopes_supported, ['crm:contacts.delete', 'crm:contacts.get']);
    // An http route lists the actions under its own path only.
    const files = (await (await fetch(`${h.gw.url}/.well-known/oauth-protected-resource/files`)).json()) as {
      scopes_supported: string[];
    };
    assert.deepEqual(files.scopes_supported, ['files:read']);
  });

  test('the SDK transport with an auth provider follows the 401 to the metadata and on to the STS', async () => {
    const fetched: string[] = [];
    const recording: FetchLike = (url, init) => {
      fetched.push(`${init?.method ?? 'GET'} ${String(url)}`);
      return fetch(url, init);
    };
    const provider: OAuthClientProvider = {
      redirectUrl: 'http://127.0.0.1:1/callback',
      clientMetadata: { redirect_uris: ['http://127.0.0.1:1/callback'], client_name: 'discovery-test' },
      clientInformation: () => ({ client_id: 'discovery-test' }),
      tokens: () => undefined,
      saveTokens: () => {},
      redirectToAuthorization: () => {},
      saveCodeVerifier: () => {},
      codeVerifier: () => 'v',
    };
    const client = new Client({ name: 'discovery-test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(`${h.gw.url}/mcp`), {
      authProvider: provider,
      fetch: recording,
    });
    // The SDK stops at the STS's authorization-server metadata: the STS has no authorization endpoint
    // (agents authenticate with private_key_jwt and exchange tokens; there is no interactive flow).
    await assert.rejects(client.connect(transport));
    await client.close().catch(() => {});
    const sts = h.sts.url.replace(/\/+$/, '');
    assert.deepEqual(fetched.slice(0, 3), [
      `POST ${h.gw.url}/mcp`,
      // The route's metadata, named by the Bearer challenge.
      `GET ${h.gw.url}/.well-known/oauth-protected-resource/mcp`,
      // Then the authorization server the metadata names: the STS.
      `GET ${sts}/.well-known/oauth-authorization-server`,
    ]);
    assert.equal(upstream.seen.length, 0, 'nothing reached the MCP server');
  });
});
