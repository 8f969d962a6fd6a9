import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildChain } from '../../test/support/chains.ts';
import { createDpopProof } from '../core/dpop/index.ts';
import { WarrantReceiver } from './receiver.ts';
import { refusalAnswer } from './refusal.ts';

const VALID = { has: () => true, ensure: async () => {}, check: () => 'valid' as const };

async function receiverFor(publicUrl?: string) {
  const f = buildChain(2);
  const receiver = await WarrantReceiver.start({
    issuer: 'https://sts.warrant.test',
    audience: f.agents[2]!.id,
    keys: () => f.keys.resolve,
    revocation: VALID,
    now: () => f.now,
    ...(publicUrl ? { publicUrl } : {}),
  });
  const token = f.tokens[1]!;
  const request = (htu: string, proofHtu: string) => ({
    method: 'GET',
    htu,
    headers: {
      authorization: [`DPoP ${token}`],
      dpop: [
        createDpopProof({ key: f.agents[1]!.key, htm: 'GET', htu: proofHtu, accessToken: token, now: f.now }),
      ],
    },
  });
  return { receiver, request };
}

const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: { code?: string }) => e.code,
  );

describe('WarrantReceiver', () => {
  test('behind a proxy, publicUrl is the origin the DPoP proof must name', async () => {
    const { receiver, request } = await receiverFor('https://research.example.com');
    const ok = await receiver.verify(
      request('http://10.0.0.7:8080/reports/1?x=1', 'https://research.example.com/reports/1'),
    );
    assert.equal(ok.person.sub, 'alice@example.org');
    assert.deepEqual(ok.actorChain, ['spiffe://warrant.test/agent/a0', 'spiffe://warrant.test/agent/a1']);
    // A proof made for the internal address is not one for this service.
    assert.equal(
      await codeOf(
        receiver.verify(request('http://10.0.0.7:8080/reports/1', 'http://10.0.0.7:8080/reports/1')),
      ),
      'WARRANT_DPOP_HTU_MISMATCH',
    );
    await receiver.close();
  });

  test('without publicUrl the request URL is used; a request without a Host is refused 400', async () => {
    const { receiver, request } = await receiverFor();
    assert.equal(await codeOf(receiver.verify(request('http://svc.test/a', 'http://svc.test/a'))), 'ok');
    const code = await codeOf(receiver.verify(request('/a', 'http://svc.test/a')));
    assert.equal(code, 'WARRANT_HOST_INVALID');
    const answer = refusalAnswer(await receiver.verify(request('/a', 'http://svc.test/a')).catch((e) => e));
    assert.equal(answer.status, 400);
    await receiver.close();
  });

  test('an unexpected failure fails closed: 503 without detail', () => {
    const answer = refusalAnswer(new Error('redis exploded at 10.0.0.9'));
    assert.equal(answer.status, 503);
    assert.equal(answer.code, 'WARRANT_HOT_STATE_UNAVAILABLE');
    assert.ok(!answer.body.includes('10.0.0.9'));
    assert.equal(answer.headers['www-authenticate'], undefined);
  });
});
