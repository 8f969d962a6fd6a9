import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signRequest } from '../../src/core/http-signatures/message-signature.ts';
import { tokenHash } from '../../src/core/jose/hash.ts';
import { type AgentClient, TOKEN_TYPES } from '../../src/sdk/agent-client.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { agentIdOf } from '../support/sts-harness.ts';

const TOOL = 'https://tools.warrant.test/payments';

describe('RFC 9421 signed bodies on a high-impact route', () => {
  let h: GatewayHarness;
  let executor: AgentClient;
  let warrant: string;
  const seen: string[] = [];

  before(async () => {
    h = await startGatewayHarness({
      upstreams: {
        pay: (req, res) => {
          let body = '';
          req.on('data', (c) => {
            body += c;
          });
          req.on('end', () => {
            seen.push(body);
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end('{"ok":true}');
          });
        },
      },
      routes: (u) => [
        {
          match: { pathPrefix: '/pay' },
          upstream: u['pay']!,
          audience: TOOL,
          protocol: 'http',
          signedBodies: true,
        },
      ],
      catalog: [
        {
          name: 'payments:refund',
          match: { protocol: 'http', method: 'POST', path: '/pay/refunds' },
          impact: 'low',
          dataClass: 'internal',
          reversibility: 'compensable',
          blastRadius: 1,
        },
      ],
    });
    const planner = await h.sts.agent('planner');
    executor = await h.sts.agent('executor', { allowedAudiences: ['https://tools.warrant.test/*'] });
    const root = await planner.exchange({
      subjectToken: h.sts.idToken('alice', planner),
      subjectTokenType: TOKEN_TYPES.idToken,
      audience: agentIdOf('executor'),
      grants: [{ action: 'payments:*', resource: TOOL }],
    });
    warrant = (
      await executor.exchange({
        subjectToken: root.access_token,
        subjectTokenType: TOKEN_TYPES.warrant,
        audience: TOOL,
      })
    ).access_token;
  });
  after(() => h.close());

  const post = (body: string, signed: Record<string, string>) =>
    h.call(executor, warrant, '/pay/refunds', { method: 'POST', body, headers: signed });
  const sign = (body: string, hash = tokenHash(warrant)) =>
    signRequest({
      method: 'POST',
      url: `${h.gw.url}/pay/refunds`,
      body: Buffer.from(body),
      warrantHash: hash,
      key: executor.key,
    });

  test('a request signed by the caller key over method, target, digest and warrant hash is forwarded', async () => {
    const body = '{"amount":40,"order":"A-1"}';
    const response = await post(body, sign(body));
    assert.equal(response.status, 200);
    assert.equal(seen.at(-1), body);
  });

  test('a body changed in transit is rejected and not forwarded', async () => {
    const before = seen.length;
    const response = await post('{"amount":4000,"order":"A-1"}', sign('{"amount":40,"order":"A-1"}'));
    assert.equal(response.status, 401);
    const body = (await response.json()) as { code: string; error_description: string };
    assert.equal(body.code, 'WARRANT_SIGNATURE_INVALID');
    assert.match(body.error_description, /Content-Digest/);
    assert.equal(seen.length, before);
  });

  test('a digest recomputed for the new body without a new signature is rejected', async () => {
    const tampered = '{"amount":4000,"order":"A-1"}';
    const headers = {
      ...sign('{"amount":40,"order":"A-1"}'),
      'content-digest': sign(tampered)['content-digest']!,
    };
    const response = await post(tampered, headers);
    assert.equal(response.status, 401);
    assert.equal(((await response.json()) as { code: string }).code, 'WARRANT_SIGNATURE_INVALID');
  });

  test('an unsigned request is rejected', async () => {
    const response = await post('{"amount":1}', {});
    assert.equal(response.status, 401);
    assert.equal(((await response.json()) as { code: string }).code, 'WARRANT_SIGNATURE_INVALID');
  });

  test('a signature bound to another warrant is rejected', async () => {
    const body = '{"amount":1}';
    const response = await post(body, sign(body, 'A'.repeat(43)));
    assert.equal(response.status, 401);
    assert.match(
      ((await response.json()) as { error_description: string }).error_description,
      /Warrant-Hash/,
    );
  });
});
