import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { inflateSync } from 'node:zlib';
import { type InProcessSts, inProcessSts } from '../../test/support/in-process-sts.ts';
import { verifyToken } from '../core/tokens/index.ts';
import { STATUS_LIST_TTL, signedStatusList } from './status-list.ts';

let h: InProcessSts;
before(async () => {
  h = await inProcessSts();
});
after(() => h.close());

/** The bits of a signed list, after verifying it with the STS keys. */
function bitsOf(token: string): Uint8Array {
  const now = h.sts.clock();
  const verified = verifyToken('statusList', token, {
    keys: h.sts.keys.keySet(now).resolve,
    issuer: h.sts.issuer,
    now,
  });
  const lst = (verified.claims as unknown as { status_list: { bits: number; lst: string } }).status_list;
  assert.equal(lst.bits, 1);
  return inflateSync(Buffer.from(lst.lst, 'base64url'));
}

describe('signedStatusList', () => {
  test('an unknown list is undefined', async () => {
    assert.equal(await signedStatusList(h.sts, 'never'), undefined);
  });

  test('a list is signed by the STS with one bit per slot, set when revoked, and a short TTL', async () => {
    const first = await h.store.statusLists.allocate('L', 10);
    const token = (await signedStatusList(h.sts, 'L'))!;
    assert.deepEqual([...bitsOf(token)], [0, 0]);
    await h.store.statusLists.set('L', [first + 1, first + 9]);
    const revoked = (await signedStatusList(h.sts, 'L'))!;
    assert.notEqual(revoked, token);
    assert.deepEqual([...bitsOf(revoked)], [0b10, 0b10]);
    const claims = JSON.parse(Buffer.from(revoked.split('.')[1]!, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    assert.equal(claims['ttl'], STATUS_LIST_TTL);
    assert.equal(claims['sub'], `${h.sts.issuer}/status/L`);
  });

  test('an unchanged list is not signed again within the second; a second later it is (a fresh iat)', async () => {
    await h.store.statusLists.allocate('C');
    // The STS at a fixed clock: under load two calls could otherwise straddle a second boundary.
    const at = (t: number) => Object.create(h.sts, { clock: { value: () => t } }) as typeof h.sts;
    const t0 = h.sts.clock();
    const once = await signedStatusList(at(t0), 'C');
    assert.equal(await signedStatusList(at(t0), 'C'), once);
    assert.notEqual(await signedStatusList(at(t0 + 1), 'C'), once);
  });
});
