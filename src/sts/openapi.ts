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
  const approvalRef = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
  const approvalErrors = {
    ...errors,
    '403': ok('addressed to a person, not a group (WARRANT_APPROVAL_NOT_ADDRESSED_TO_YOU)'),
    '404': ok('no such approval (WARRANT_APPROVAL_NOT_FOUND)'),
    '409': ok(
      'already decided, used or withdrawn, or expired (WARRANT_APPROVAL_DECIDED, WARRANT_APPROVAL_EXPIRED, WARRANT_APPROVAL_WITHDRAWN)',
    ),
    '503': ok('the approval store does not answer (WARRANT_APPROVAL_STORE_UNAVAILABLE)'),
  };
  const decision = {
    type: 'object',
    required: ['reason'],
    additionalProperties: false,
    properties: {
      reason: { type: 'string', minLength: 1, maxLength: 500 },
      narrow: {
        type: 'object',
        additionalProperties: false,
        description: 'approve: grant less than asked',
        properties: {
          windowSeconds: { type: 'integer', minimum: 1, maximum: 86400 },
          constraints: {
            type: 'object',
            description: 'numeric maxima (max_<name>) and enumerations the approval warrant carries',
          },
        },
      },
    },
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
      '/agents/{agent}/trust': {
        get: {
          summary:
            "The agent's standing at the gateway (progressive trust): level, maxLevel, pinned, its record since the level last changed (clean calls, denials, failures) and recent history with reasons",
          parameters: [agentRef],
          responses: { '200': ok('{agent, level, maxLevel, pinned, record, promotion, history}'), ...errors },
        },
        post: {
          summary:
            "Set the agent's trust level (pinned unless pin is false) and/or pin or unpin it; recorded with the reason, actor admin",
          parameters: [agentRef],
          requestBody: json({
            type: 'object',
            required: ['reason'],
            additionalProperties: false,
            properties: {
              level: { type: 'integer', minimum: 0, description: 'at most guard.trust.levels' },
              pin: { type: 'boolean', description: 'default true when level is given' },
              reason: { type: 'string', minLength: 1, maxLength: 512 },
            },
          }),
          responses: { '200': ok('{changed, trust}: whether anything changed, and the standing'), ...errors },
        },
      },
      '/agents/{agent}/autonomy': {
        get: {
          summary:
            "The agent's autonomy statement (may do alone, must ask first, may never do, under uncertainty) and its digest; gateways write every new version to the ledger",
          parameters: [agentRef],
          responses: { '200': ok('{digest, statement}'), ...errors },
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
          summary:
            'Rotate the STS signing key: published at once, signing from activeFrom (old key stays published for the overlap)',
          responses: { '200': ok('new kid, activeFrom (epoch seconds) and JWKS'), ...errors },
        },
      },
      '/policy/reload': {
        post: {
          summary: 'Reload and validate the delegation policy; revoke live warrants it no longer permits',
          responses: { '200': ok('policy version and revoked count'), ...errors },
        },
      },
      '/budgets': {
        get: {
          summary:
            'Budgets (guard.budgets): what each counts, the limit in force, and what each key (agent, person, txn, day) spent',
          responses: { '200': ok('{items: budgets}'), ...errors },
        },
      },
      '/budgets/{name}': {
        parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
        get: {
          summary: 'One budget with its spent amounts',
          responses: { '200': ok('the budget'), ...errors },
        },
        put: {
          summary:
            "Override a budget's limit for every gateway at once; recorded in the guard change history (kind budget)",
          requestBody: json({
            type: 'object',
            required: ['limit', 'reason'],
            properties: {
              limit: { type: 'number', minimum: 0, maximum: 9_000_000_000 },
              reason: { type: 'string', minLength: 1, maxLength: 512 },
            },
          }),
          responses: { '200': ok('the budget with its new limit and the change id'), ...errors },
        },
      },
      '/tools': {
        get: {
          summary:
            "Pinned tools of a route: each tool's status (approved, quarantined, pending), approved and last seen digest and definition, re-check mark, and the drift (old and new digest, changed fields)",
          parameters: [
            {
              name: 'route',
              in: 'query',
              required: true,
              schema: { type: 'string' },
              description: 'the route path prefix (host/prefix for a route selected by host)',
            },
            {
              name: 'tool',
              in: 'query',
              schema: { type: 'string' },
              description: 'one tool (A2A: skill id)',
            },
          ],
          responses: {
            '200': ok('route, pinning mode, items and drift'),
            ...errors,
            '400': ok(
              'malformed parameter, or no route pins its tools under this name (WARRANT_TOOL_UNKNOWN)',
            ),
          },
        },
      },
      '/tools/approve': {
        post: {
          summary:
            'Approve the definition the server shows now (its digest as listed); lifts a quarantine or a pending state',
          requestBody: json({
            type: 'object',
            required: ['route', 'tool', 'digest'],
            properties: {
              route: { type: 'string' },
              tool: { type: 'string' },
              digest: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' },
              reason: { type: 'string' },
            },
          }),
          responses: {
            '200': ok('the pin'),
            ...errors,
            '400': ok(
              'malformed body; unknown route or tool (WARRANT_TOOL_UNKNOWN); a digest that is not the definition shown now (WARRANT_TOOL_DIGEST_MISMATCH)',
            ),
          },
        },
      },
      '/tools/revoke': {
        post: {
          summary: "Withdraw a tool's approval: it is hidden and its calls refused until approved again",
          requestBody: json({
            type: 'object',
            required: ['route', 'tool'],
            properties: { route: { type: 'string' }, tool: { type: 'string' }, reason: { type: 'string' } },
          }),
          responses: {
            '200': ok('the pin'),
            ...errors,
            '400': ok('malformed body; unknown route or tool (WARRANT_TOOL_UNKNOWN)'),
          },
        },
      },
      '/dev/login': {
        post: {
          summary:
            "Development only (warrant dev, or sts.devUserIssuer.enabled): a person's assertion from the dev identity provider addressed to one agent — an ID-JAG (default) or an ID token for its client id there; 404 WARRANT_NOT_FOUND where the dev provider is off",
          requestBody: json({
            type: 'object',
            required: ['person', 'agent'],
            additionalProperties: false,
            properties: {
              person: { type: 'string', minLength: 1, maxLength: 256 },
              agent: { type: 'string', description: 'a name in this trust domain or a spiffe:// ID' },
              form: { type: 'string', enum: ['id-jag', 'id-token'], default: 'id-jag' },
            },
          }),
          responses: {
            '200': ok('{person, agent, issuer, form, subject_token, subject_token_type, expires_in}'),
            ...errors,
          },
        },
      },
      '/breakers': {
        get: {
          summary:
            "Circuit breakers open or half-open now (as the guard counters of this process see them; with Redis counters, every gateway's), the breaker settings, and the recent breaker history (trips, closes, resets)",
          responses: { '200': ok('{counters, settings, open, history}'), ...errors },
        },
      },
      '/breakers/reset': {
        post: {
          summary:
            'Reset (close) a circuit breaker: its state and window counts are cleared at every gateway, and the reset is recorded with its reason',
          requestBody: json({
            type: 'object',
            required: ['key'],
            additionalProperties: false,
            properties: {
              key: {
                type: 'string',
                description: 'agent:<agent id>, txn:<txn> or destination:<agent id> <audience>',
              },
              reason: { type: 'string', maxLength: 512 },
            },
          }),
          responses: { '200': ok('{key, reset, wasOpen}'), ...errors },
        },
      },
      '/approvals': {
        get: {
          summary: 'List approvals, newest first (docs/guard.md, Human approval)',
          parameters: [
            {
              name: 'status',
              in: 'query',
              schema: { enum: ['pending', 'approved', 'denied', 'expired', 'withdrawn', 'used'] },
            },
            {
              name: 'addressed_to',
              in: 'query',
              schema: { type: 'string' },
              description: '`person:<iss> <sub>` or `group:<name>`',
            },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
          ],
          responses: { '200': ok('{approvals: [...]}'), ...errors },
        },
      },
      '/approvals/{id}': {
        get: {
          summary: 'One approval: the call, its digest, risk and factors, status and decision',
          parameters: [approvalRef],
          responses: { '200': ok('the approval'), ...approvalErrors },
        },
      },
      '/approvals/{id}/approve': {
        post: {
          summary:
            'Approve an approval addressed to a group, acting for it (a person decides their own at POST /approvals/{id}/approve on the STS with their ID token)',
          parameters: [approvalRef],
          requestBody: json(decision),
          responses: { '200': ok('the approval, approved'), ...approvalErrors },
        },
      },
      '/approvals/{id}/deny': {
        post: {
          summary: 'Deny an approval addressed to a group, acting for it',
          parameters: [approvalRef],
          requestBody: json(decision),
          responses: { '200': ok('the approval, denied'), ...approvalErrors },
        },
      },
      '/approvals/{id}/withdraw': {
        post: {
          summary: 'Withdraw an approval not yet used: it can no longer be decided or used',
          parameters: [approvalRef],
          requestBody: json({
            type: 'object',
            required: ['reason'],
            additionalProperties: false,
            properties: { reason: { type: 'string', minLength: 1, maxLength: 500 } },
          }),
          responses: { '200': ok('the approval, withdrawn'), ...approvalErrors },
        },
      },
    },
  };
}
