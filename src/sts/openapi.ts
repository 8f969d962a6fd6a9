/** The admin API described as OpenAPI 3.1, served at /admin/openapi.json. */
export function openApiDocument(issuer: string): Record<string, unknown> {
  const json = (schema: Record<string, unknown>) => ({ content: { 'application/json': { schema } } });
  const ok = (description: string) => ({ description, ...json({ type: 'object' }) });
  const errors = {
    '400': ok('invalid_request: the body or a parameter is malformed (code WARRANT_REQUEST_MALFORMED)'),
    '401': ok('missing or wrong admin credential (code WARRANT_ADMIN_AUTH_FAILED)'),
    '404': ok('no such resource (codes WARRANT_NOT_FOUND, WARRANT_AGENT_UNKNOWN)'),
  };
  const agentRef = {
    name: 'agent',
    in: 'path',
    required: true,
    schema: { type: 'string' },
    description: 'agent name or SPIFFE ID',
  };
  const jwk = { type: 'object', description: 'public JWK (OKP Ed25519 or EC P-256)', required: ['kty'] };
  const clientIds = {
    type: 'object',
    description:
      "the agent's client id at each OpenID provider (issuer URL → client id): a person's ID token roots a warrant for the agent only when addressed to it; a pair belongs to one agent",
    additionalProperties: { type: 'string', minLength: 1, maxLength: 512 },
    maxProperties: 32,
  };
  return {
    openapi: '3.1.0',
    info: { title: 'Warrant admin API', version: '1' },
    servers: [{ url: `${issuer}/admin` }],
    components: { securitySchemes: { admin: { type: 'http', scheme: 'bearer' } } },
    security: [{ admin: [] }],
    paths: {
      '/agents': {
        get: {
          summary: 'List agents (keyset pagination)',
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
            { name: 'after', in: 'query', schema: { type: 'string' } },
            { name: 'status', in: 'query', schema: { enum: ['active', 'disabled'] } },
          ],
          responses: { '200': ok('a page of agents'), ...errors },
        },
        post: {
          summary: 'Register an agent with its public key',
          requestBody: json({
            type: 'object',
            required: ['name', 'owner', 'publicJwk'],
            additionalProperties: false,
            properties: {
              name: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' },
              owner: { type: 'string' },
              tier: { type: 'string', default: 'executor' },
              trustLevel: { type: 'integer', minimum: 0, maximum: 10, default: 0 },
              allowedAudiences: { type: 'array', items: { type: 'string' } },
              maxDepth: { type: 'integer', minimum: 0, maximum: 32 },
              publicJwk: jwk,
              clientIds,
            },
          }),
          responses: {
            '201': ok('the agent'),
            '409': ok('id, key or client id already registered (WARRANT_STORE_CONFLICT)'),
            ...errors,
          },
        },
      },
      '/agents/{agent}/client-ids': {
        put: {
          summary: "Replace the agent's client ids at OpenID providers",
          parameters: [agentRef],
          requestBody: json({
            type: 'object',
            required: ['clientIds'],
            additionalProperties: false,
            properties: { clientIds },
          }),
          responses: {
            '200': ok('the agent'),
            '409': ok('a client id is registered to another agent (WARRANT_STORE_CONFLICT)'),
            ...errors,
          },
        },
      },
      '/agents/{agent}': {
        get: {
          summary: 'Show an agent',
          parameters: [agentRef],
          responses: { '200': ok('the agent'), ...errors },
        },
      },
      '/agents/{agent}/disable': {
        post: {
          summary: 'Disable an agent and revoke every token it holds or passed on',
          parameters: [agentRef],
          responses: { '200': ok('agent and revoked count'), ...errors },
        },
      },
      '/agents/{agent}/enable': {
        post: {
          summary: 'Enable an agent',
          parameters: [agentRef],
          responses: { '200': ok('the agent'), ...errors },
        },
      },
      '/agents/{agent}/rotate-key': {
        post: {
          summary: 'Replace the agent key; the old key stays valid for overlapSeconds',
          parameters: [agentRef],
          requestBody: json({
            type: 'object',
            required: ['publicJwk'],
            properties: { publicJwk: jwk, overlapSeconds: { type: 'integer' } },
          }),
          responses: { '200': ok('the agent'), ...errors },
        },
      },
      '/issuers': {
        get: {
          summary: 'List trusted issuers added at runtime',
          responses: { '200': ok('issuers'), ...errors },
        },
        put: {
          summary: 'Add or replace a trusted issuer',
          requestBody: json({
            type: 'object',
            required: ['issuer', 'kind', 'audience'],
            properties: {
              issuer: { type: 'string' },
              kind: { enum: ['oidc', 'kubernetes', 'spiffe'] },
              audience: { type: 'string' },
              jwksUri: { type: 'string' },
              jwks: { type: 'object' },
              mapping: { type: 'object' },
              assertions: {
                type: 'array',
                uniqueItems: true,
                items: { enum: ['id_token', 'id_jag'] },
                description: "persons' assertions an oidc issuer may send (default [id_token])",
              },
              maxAssertionAgeSeconds: { type: 'integer', minimum: 60, maximum: 2592000, default: 3600 },
            },
          }),
          responses: { '200': ok('the issuer'), ...errors },
        },
      },
      '/issuers/{issuer}': {
        delete: {
          summary: 'Remove a trusted issuer',
          parameters: [{ name: 'issuer', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': ok('deleted'), ...errors },
        },
      },
      '/revoke': {
        post: {
          summary: 'Revoke by token hash, txn, agent or person; cascades to every descendant',
          requestBody: json({
            type: 'object',
            properties: {
              hash: { type: 'string' },
              txn: { type: 'string' },
              agent: { type: 'string' },
              person: { type: 'string' },
              reason: { type: 'string' },
            },
          }),
          responses: { '200': ok('revoked count and hashes'), ...errors },
        },
      },
      '/contain': {
        post: {
          summary:
            'Contain a warrant subtree, transaction, agent or person: revoke it, trip its breakers, compensate its reversible actions newest first, list the rest for a person (dryRun: the plan only, nothing changes). Accept: application/x-ndjson streams each step, then the result.',
          requestBody: json({
            type: 'object',
            properties: {
              txn: { type: 'string' },
              agent: { type: 'string', description: 'SPIFFE ID or agent name' },
              person: { type: 'string' },
              warrant: { type: 'string', description: 'token hash (43 base64url characters)' },
              dryRun: { type: 'boolean', default: false },
            },
          }),
          responses: {
            '200': ok('the plan (dryRun) or the run: revoked count, steps, summary'),
            ...errors,
            '404': ok('WARRANT_CONTAIN_TARGET_UNKNOWN: nothing is known under the selector; nothing changed'),
            '503': ok('WARRANT_CONTAIN_UNAVAILABLE: the ledger or guard store cannot be used; run it again'),
          },
        },
      },
      '/tokens': {
        get: {
          summary: 'Tokens of a transaction',
          parameters: [{ name: 'txn', in: 'query', required: true, schema: { type: 'string' } }],
          responses: { '200': ok('tokens'), ...errors },
        },
      },
      '/keys/rotate': {
        post: {
          summary: 'Rotate the STS signing key (old key stays published for the overlap)',
          responses: { '200': ok('new kid and JWKS'), ...errors },
        },
      },
      '/policy/reload': {
        post: {
          summary: 'Reload and validate the delegation policy; revoke live warrants it no longer permits',
          responses: { '200': ok('policy version and revoked count'), ...errors },
        },
      },
    },
  };
}
