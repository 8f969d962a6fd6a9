import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateSigningKey, type SigningKey } from '../../src/core/jose/jwk.ts';
import { signCompact } from '../../src/core/jose/jws.ts';
import { verifyToken } from '../../src/core/tokens/index.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import {
  agentIdOf,
  type Harness,
  PERSON_AUDIENCE,
  PERSON_ISSUER,
  startHarness,
} from '../support/sts-harness.ts';

const K8S = 'https://kubernetes.default.svc';
const SPIFFE = 'https://spire.warrant.test';
const dir = mkdtempSync(join(tmpdir(), 'warrant-workload-'));
const k8sKey: SigningKey = generateSigningKey('ES256');
const spireKey: SigningKey = generateSigningKey('ES256');
const jwks = (key: SigningKey, name: string) => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify({ keys: [{ ...key.jwk }] }));
  return path;
};
const now = () => Math.floor(Date.now() / 1000);

/** A Kubernetes projected service-account token for `agents/<name>`. */
const k8sToken = (name: string, extra: Record<string, unknown> = {}, key = k8sKey) =>
  signCompact(
    { typ: 'JWT' },
    {
      iss: K8S,
      sub: `system:serviceaccount:agents:${name}`,
      aud: ['warrant-sts'],
      iat: now(),
      exp: now() + 600,
      'kubernetes.io': { namespace: 'agents', serviceaccount: { name, uid: '0b7c' } },
      ...extra,
    },
    key,
  );

/** A SPIFFE JWT-SVID for `spiffe://warrant.test/ns/agents/sa/<name>`. */
const svid = (name: string) =>
  signCompact(
    { typ: 'JWT' },
    {
      iss: SPIFFE,
      sub: `spiffe://warrant.test/ns/agents/sa/${name}`,
      aud: 'warrant-sts',
      iat: now(),
      exp: now() + 300,
    },
    spireKey,
  );

describe('jwt-bearer with workload tokens from trusted issuers', () => {
  let h: Harness;
  let worker: AgentClient;

  before(async () => {
    h = await startHarness({
      overrides: {
        sts: {
          trustedIssuers: [
            {
              issuer: PERSON_ISSUER,
              jwksFile: jwks(generateSigningKey('ES256'), 'person.json'),
              audience: PERSON_AUDIENCE,
              kind: 'oidc',
            },
            {
              issuer: K8S,
              jwksFile: jwks(k8sKey, 'k8s.json'),
              audience: 'warrant-sts',
              kind: 'kubernetes',
              mapping: {
                claim: 'sub',
                pattern: '^system:serviceaccount:agents:(?<name>[a-z0-9-]+)$',
                agent: 'spiffe://warrant.test/agent/${name}',
              },
            },
            {
              issuer: SPIFFE,
              jwksFile: jwks(spireKey, 'spire.json'),
              audience: 'warrant-sts',
              kind: 'spiffe',
              mapping: {
                claim: 'sub',
                pattern: '^spiffe://warrant\\.test/ns/agents/sa/(?<name>[a-z0-9-]+)$',
                agent: 'spiffe://warrant.test/agent/${name}',
              },
            },
          ],
        },
      },
    });
    worker = await h.agent('worker');
  });
  after(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const bearer = (assertion: string, client: AgentClient = worker) =>
    client.post(
      '/token',
      { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion },
      { dpop: true, auth: false },
    );

  const identityOf = async (response: Response) => {
    const body = (await response.json()) as { access_token: string };
    const jwks = await (await fetch(`${h.url}/jwks`)).json();
    const { KeySet } = await import('../../src/core/jose/key-set.ts');
    return verifyToken('identity', body.access_token, { keys: KeySet.fromJwks(jwks).resolve, issuer: h.url });
  };

  test('a Kubernetes service-account token maps to the registered agent and yields its identity token bound to the DPoP key', async () => {
    const response = await bearer(k8sToken('worker'));
    assert.equal(response.status, 200);
    const identity = await identityOf(response);
    assert.equal(identity.claims.sub, agentIdOf('worker'));
    assert.equal(identity.claims.cnf.jkt, worker.key.kid);
  });

  test('a SPIFFE JWT-SVID maps to the registered agent', async () => {
    const response = await bearer(svid('worker'));
    assert.equal(response.status, 200);
    assert.equal((await identityOf(response)).claims.sub, agentIdOf('worker'));
  });

  test('a workload that maps to no registered agent gets nothing', async () => {
    const response = await bearer(k8sToken('stranger'));
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error: string; code: string };
    assert.equal(body.error, 'invalid_grant');
    assert.equal(body.code, 'WARRANT_AGENT_UNKNOWN');
  });

  test('a service account outside the mapped namespace does not match the rule', async () => {
    const response = await bearer(k8sToken('worker', { sub: 'system:serviceaccount:default:worker' }));
    assert.equal(((await response.json()) as { code: string }).code, 'WARRANT_SUBJECT_TOKEN_INVALID');
  });

  test('a workload token signed by another key, for another audience, or expired is refused', async () => {
    for (const token of [
      k8sToken('worker', {}, generateSigningKey('ES256')),
      k8sToken('worker', { aud: ['someone-else'] }),
      k8sToken('worker', { iat: now() - 7200, exp: now() - 3600 }),
    ]) {
      const response = await bearer(token);
      assert.equal(response.status, 400);
      const body = (await response.json()) as { error: string; code: string };
      assert.equal(body.error, 'invalid_grant');
      assert.equal(body.code, 'WARRANT_SUBJECT_TOKEN_INVALID');
    }
  });

  test('a workload token from an untrusted issuer is refused', async () => {
    const forged = signCompact(
      { typ: 'JWT' },
      {
        iss: 'https://evil.example',
        sub: 'system:serviceaccount:agents:worker',
        aud: 'warrant-sts',
        iat: now(),
        exp: now() + 60,
      },
      k8sKey,
    );
    const body = (await (await bearer(forged)).json()) as { code: string };
    assert.equal(body.code, 'WARRANT_ISSUER_UNTRUSTED');
  });

  test('a disabled agent gets nothing through its workload token either', async () => {
    await h.agent('paused');
    await h.admin('POST', '/agents/paused/disable');
    const body = (await (await bearer(k8sToken('paused'))).json()) as { code: string };
    assert.equal(body.code, 'WARRANT_AGENT_DISABLED');
  });
});
