import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateSigningKey } from '../core/jose/jwk.ts';
import { signCompact } from '../core/jose/jws.ts';
import type { RunningGateway } from '../gateway/start-gateway.ts';
import { ActionCatalog, type CatalogAction } from '../guard/catalog.ts';
import type { ControlPlane } from '../runtime/control-plane.ts';
import { AgentClient, TOKEN_TYPES } from '../sdk/agent-client.ts';

export const DEMO_TOOL = 'https://tools.demo.warrant/crm';

const CATALOG: CatalogAction[] = [
  {
    name: 'crm:contacts.read',
    match: { protocol: 'http', method: 'GET', path: '/demo/crm/contacts/*' },
    impact: 'low',
    dataClass: 'confidential',
    reversibility: 'reversible',
    blastRadius: 1,
  },
  {
    name: 'crm:contacts.delete',
    match: { protocol: 'http', method: 'DELETE', path: '/demo/crm/contacts/*' },
    impact: 'critical',
    dataClass: 'confidential',
    reversibility: 'irreversible',
    blastRadius: 1,
  },
];

export interface DemoResult {
  readonly upstream: Server;
  readonly lines: readonly string[];
  close(): Promise<void>;
}

/**
 * `warrant dev --demo`: a person (alice, from a built-in dev identity provider trusted only here), two
 * agents (planner → executor), a demo CRM tool behind the gateway, and a few calls through it — some
 * allowed, some denied — so the STS, the gateway and the decision records have real traffic to show.
 */
export async function runDemo(
  plane: ControlPlane,
  gw: RunningGateway,
  trustDomain: string,
): Promise<DemoResult> {
  const lines: string[] = [];
  const upstream = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        tool: 'demo-crm',
        path: req.url,
        person: req.headers['warrant-person'],
        actor: req.headers['warrant-actor'],
      }),
    );
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

  // The built-in dev user issuer: trusted by this STS only, for this run only.
  const idpKey = generateSigningKey('ES256');
  const idp = `${plane.url}/dev-idp`;
  await plane.store.issuers.put({
    issuer: idp,
    kind: 'oidc',
    audience: 'warrant-dev',
    jwksUri: null,
    jwks: { keys: [{ ...idpKey.jwk }] },
    mapping: null,
    assertions: ['id_token'],
    maxAssertionAgeSeconds: null,
  });
  // The planner's client id at the dev issuer: alice's ID token is addressed to it, and to no other agent.
  const plannerClientId = `demo-planner-${randomUUID().slice(0, 8)}`;

  const agent = async (name: string, allowedAudiences: string[]) => {
    const key = generateSigningKey();
    const id = `spiffe://${trustDomain}/agent/demo-${name}-${randomUUID().slice(0, 8)}`;
    await plane.store.agents.create({
      id,
      name: id.split('/').at(-1)!,
      owner: 'alice@example.org',
      tier: name === 'planner' ? 'planner' : 'executor',
      trustLevel: 1,
      allowedAudiences,
      maxDepth: 5,
      publicJwk: { ...key.jwk },
      jkt: key.kid,
      ...(name === 'planner' ? { clientIds: { [idp]: plannerClientId } } : {}),
    });
    return new AgentClient({ issuer: plane.sts.issuer, agentId: id, key });
  };
  const planner = await agent('planner', [`spiffe://${trustDomain}/*`]);
  const executor = await agent('executor', ['https://tools.demo.warrant/*']);

  gw.gateway.reload({
    routes: [
      ...gw.gateway.routes,
      { match: { pathPrefix: '/demo/crm' }, upstream: upstreamUrl, audience: DEMO_TOOL, protocol: 'http' },
    ],
    catalog: new ActionCatalog([...CATALOG]),
  });

  const now = Math.floor(Date.now() / 1000);
  const idToken = signCompact(
    { typ: 'JWT' },
    { iss: idp, sub: 'alice@example.org', aud: plannerClientId, iat: now, exp: now + 300 },
    idpKey,
  );
  const root = await planner.exchange({
    subjectToken: idToken,
    subjectTokenType: TOKEN_TYPES.idToken,
    audience: executor.agentId,
    grants: [{ action: 'crm:*', resource: DEMO_TOOL, constraints: { data_class: 'confidential' } }],
    task: 'demo: look up customer contacts',
  });
  const hop = await executor.exchange({
    subjectToken: root.access_token,
    subjectTokenType: TOKEN_TYPES.warrant,
    audience: DEMO_TOOL,
  });
  lines.push(`demo: alice → ${planner.agentId} → ${executor.agentId} → ${DEMO_TOOL}`);

  const call = async (method: string, path: string) => {
    const url = `${gw.url}${path}`;
    const response = await fetch(url, {
      method,
      headers: {
        authorization: `DPoP ${hop.access_token}`,
        dpop: executor.dpopProof(method, url, hop.access_token),
        'warrant-chain': `${root.access_token}, ${hop.access_token}`,
      },
    });
    const body = (await response.json()) as { code?: string };
    lines.push(`demo: ${method} ${path} → ${response.status}${body.code ? ` ${body.code}` : ''}`);
  };
  for (const id of [1, 2, 3]) await call('GET', `/demo/crm/contacts/${id}`);
  await call('DELETE', '/demo/crm/contacts/2');
  await call('GET', '/demo/crm/export');
  return {
    upstream,
    lines,
    close: () =>
      new Promise<void>((resolve) => {
        upstream.closeAllConnections();
        upstream.close(() => resolve());
      }),
  };
}
