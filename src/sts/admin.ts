import type { IncomingMessage, ServerResponse } from 'node:http';
import { WarrantError } from '../core/errors.ts';
import { importPublicJwk } from '../core/jose/jwk.ts';
import type { AgentRecord, AssertionKind, IssuerKind, IssuerRecord, RevokeSelector } from '../store/ports.ts';
import { type AdminExtension, bad, int, jsonBody, str, strings } from './admin-input.ts';
import { sendJson } from './http/respond.ts';
import { OAuthError } from './oauth-error.ts';
import { openApiDocument } from './openapi.ts';
import type { Sts } from './sts.ts';

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** `clientIds`: issuer → the agent's client id there (what a person's ID token must be addressed to). */
function clientIdsOf(body: Record<string, unknown>): Record<string, string> {
  const v = body['clientIds'] ?? {};
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw bad('clientIds must be an object of issuer → client id');
  const entries = Object.entries(v);
  if (entries.length > 32) throw bad('clientIds holds more than 32 issuers');
  for (const [issuer, clientId] of entries) {
    if (!/^https?:\/\/\S+$/.test(issuer) || issuer.length > 2048)
      throw bad('clientIds keys must be issuer URLs');
    if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > 512)
      throw bad('clientIds values must be client ids of 1..512 characters');
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

function publicKey(body: Record<string, unknown>) {
  try {
    return importPublicJwk(body['publicJwk']);
  } catch (error) {
    throw bad(`publicJwk: ${error instanceof WarrantError ? error.message : 'invalid'}`);
  }
}

/** Public view of an agent: no key history beyond thumbprints. */
export function agentView(a: AgentRecord): Record<string, unknown> {
  return {
    id: a.id,
    name: a.name,
    owner: a.owner,
    tier: a.tier,
    trustLevel: a.trustLevel,
    allowedAudiences: a.allowedAudiences,
    maxDepth: a.maxDepth,
    status: a.status,
    publicJwk: a.publicJwk,
    jkt: a.jkt,
    previousKeys: a.previousKeys.map((k) => ({ jkt: k.jkt, until: k.until })),
    clientIds: a.clientIds,
    createdAt: a.createdAt,
    updatedAt: a.updatedAt,
  };
}

async function agentOr404(sts: Sts, idOrName: string): Promise<AgentRecord> {
  const id = idOrName.startsWith('spiffe://')
    ? idOrName
    : `spiffe://${sts.config.trustDomain}/agent/${idOrName}`;
  const agent = await sts.store.agents.get(id);
  if (agent === null)
    throw new OAuthError('not_found', 'WARRANT_AGENT_UNKNOWN', 'no agent with that id or name');
  return agent;
}

function selector(body: Record<string, unknown>): RevokeSelector {
  const keys = ['hash', 'txn', 'agent', 'person'].filter((k) => body[k] !== undefined);
  if (keys.length !== 1) throw bad('give exactly one of hash, txn, agent, person');
  const key = keys[0]!;
  const value = str(body, key);
  if (key === 'hash') return { hash: value };
  if (key === 'txn') return { txn: value };
  if (key === 'agent') return { agentId: value };
  return { sub: value };
}

/** The admin API (authenticated by the caller). Every write is explicit and answers what it changed. */
export async function admin(
  sts: Sts,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  extensions: readonly AdminExtension[] = [],
): Promise<void> {
  const parts = url.pathname
    .split('/')
    .slice(2)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        throw bad('the path has invalid percent-encoding');
      }
    });
  const [collection, id, action] = parts;
  const method = req.method ?? 'GET';
  const now = sts.clock();

  if (collection === 'openapi.json' && method === 'GET')
    return sendJson(res, 200, openApiDocument(sts.issuer));

  if (collection === 'agents') {
    if (id === undefined && method === 'GET') {
      const limit = Number(url.searchParams.get('limit') ?? 100);
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw bad('limit must be 1..1000');
      const status = url.searchParams.get('status');
      if (status !== null && status !== 'active' && status !== 'disabled')
        throw bad('status must be active or disabled');
      const after = url.searchParams.get('after');
      const page = await sts.store.agents.list({
        limit,
        ...(status ? { status } : {}),
        ...(after ? { after } : {}),
      });
      return sendJson(res, 200, { items: page.items.map(agentView), next: page.next });
    }
    if (id === undefined && method === 'POST') {
      const body = await jsonBody(req);
      const name = str(body, 'name');
      if (!NAME.test(name)) throw bad('name must be lowercase letters, digits and dashes (1..63)');
      const key = publicKey(body);
      const agent = await sts.store.agents.create({
        id: `spiffe://${sts.config.trustDomain}/agent/${name}`,
        name,
        owner: str(body, 'owner'),
        tier: str(body, 'tier', 'executor'),
        trustLevel: int(body, 'trustLevel', 0, 10),
        allowedAudiences: strings(body, 'allowedAudiences', [`spiffe://${sts.config.trustDomain}/*`]),
        maxDepth: int(body, 'maxDepth', sts.config.sts.maxDepth, 32),
        publicJwk: { ...key.jwk },
        jkt: key.kid,
        clientIds: clientIdsOf(body),
      });
      return sendJson(res, 201, agentView(agent));
    }
    if (id !== undefined && method === 'PUT' && action === 'client-ids') {
      const agent = await agentOr404(sts, id);
      const body = await jsonBody(req);
      if (body['clientIds'] === undefined) throw bad('clientIds is required');
      const updated = await sts.store.agents.update(agent.id, { clientIds: clientIdsOf(body) });
      return sendJson(res, 200, agentView(updated));
    }
    if (id !== undefined && action === undefined && method === 'GET')
      return sendJson(res, 200, agentView(await agentOr404(sts, id)));
    if (id !== undefined && method === 'POST' && (action === 'disable' || action === 'enable')) {
      const agent = await agentOr404(sts, id);
      const updated = await sts.store.agents.setStatus(
        agent.id,
        action === 'disable' ? 'disabled' : 'active',
      );
      const revoked = action === 'disable' ? await sts.revoke({ agentId: agent.id }, 'agent disabled') : [];
      return sendJson(res, 200, { agent: agentView(updated), revoked: revoked.length });
    }
    if (id !== undefined && method === 'POST' && action === 'rotate-key') {
      const agent = await agentOr404(sts, id);
      const body = await jsonBody(req);
      const key = publicKey(body);
      const overlap = int(body, 'overlapSeconds', sts.config.sts.identityTokenLifetime, 86_400);
      const updated = await sts.store.agents.rotateKey(agent.id, { ...key.jwk }, key.kid, now + overlap);
      return sendJson(res, 200, agentView(updated));
    }
  }

  if (collection === 'issuers') {
    if (method === 'GET' && id === undefined)
      return sendJson(res, 200, { items: await sts.store.issuers.list() });
    if (method === 'PUT' && id === undefined) {
      const body = await jsonBody(req);
      const kind = str(body, 'kind');
      if (kind !== 'oidc' && kind !== 'kubernetes' && kind !== 'spiffe')
        throw bad('kind must be oidc, kubernetes or spiffe');
      const jwksUri = body['jwksUri'] === undefined ? null : str(body, 'jwksUri');
      const jwks = body['jwks'] === undefined ? null : (body['jwks'] as Record<string, unknown>);
      if ((jwksUri === null) === (jwks === null)) throw bad('give exactly one of jwksUri and jwks');
      const assertions = body['assertions'] ?? null;
      if (
        assertions !== null &&
        (!Array.isArray(assertions) ||
          assertions.some((a) => a !== 'id_token' && a !== 'id_jag') ||
          new Set(assertions).size !== assertions.length ||
          (kind !== 'oidc' && assertions.length > 0))
      )
        throw bad('assertions must be distinct values of id_token, id_jag (oidc issuers only)');
      const maxAge = body['maxAssertionAgeSeconds'] ?? null;
      if (
        maxAge !== null &&
        (typeof maxAge !== 'number' || !Number.isSafeInteger(maxAge) || maxAge < 60 || maxAge > 2_592_000)
      )
        throw bad('maxAssertionAgeSeconds must be an integer in 60..2592000');
      const record: IssuerRecord = {
        issuer: str(body, 'issuer'),
        kind: kind as IssuerKind,
        audience: str(body, 'audience'),
        jwksUri,
        jwks,
        mapping: (body['mapping'] as Record<string, unknown> | undefined) ?? null,
        assertions: assertions as AssertionKind[] | null,
        maxAssertionAgeSeconds: maxAge as number | null,
      };
      await sts.store.issuers.put(record);
      return sendJson(res, 200, record);
    }
    if (method === 'DELETE' && id !== undefined) {
      const deleted = await sts.store.issuers.delete(id);
      if (!deleted) throw new OAuthError('not_found', 'WARRANT_NOT_FOUND', 'no such issuer');
      return sendJson(res, 200, { deleted: id });
    }
  }

  if (collection === 'revoke' && method === 'POST') {
    const body = await jsonBody(req);
    const sel = selector(body);
    const revoked = await sts.revoke(
      sel,
      typeof body['reason'] === 'string' ? body['reason'].slice(0, 200) : 'admin',
    );
    return sendJson(res, 200, { revoked: revoked.length, hashes: revoked.map((r) => r.hash) });
  }

  if (collection === 'tokens' && method === 'GET') {
    const txn = url.searchParams.get('txn');
    if (txn === null) throw bad('query parameter txn is required');
    return sendJson(res, 200, { items: await sts.store.tokens.listByTxn(txn) });
  }

  if (collection === 'keys' && id === 'rotate' && method === 'POST') {
    const { kid, activeFrom } = await sts.rotateSigningKeyAt();
    return sendJson(res, 200, { kid, activeFrom, jwks: sts.keys.keySet(now).toJwks() });
  }

  if (collection === 'policy' && id === 'reload' && method === 'POST') {
    const result = await sts.reloadPolicy();
    return sendJson(res, 200, result);
  }

  for (const extension of extensions) if (await extension(req, res, url, parts)) return;

  throw new OAuthError('not_found', 'WARRANT_NOT_FOUND', 'no such admin endpoint');
}
