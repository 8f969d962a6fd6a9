import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deflateSync, inflateSync } from 'node:zlib';
import { applyBits, decodeStatusList, encodeStatusList, sizedBits, statusBit } from './status-list.ts';

// draft-ietf-oauth-status-list §4.1 example: statuses 1,0,0,1,1,1,0,1, 1,1,0,0,0,1,0,1 → 0xB9 0xA3.
const DRAFT_STATUSES = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1];
const DRAFT_LST = 'eNrbuRgAAhcBXQ';

describe('status list codec (draft-ietf-oauth-status-list)', () => {
  test("decodes the draft's example list, index i at bit i & 7 of byte i >> 3", async () => {
    const bits = await decodeStatusList({ bits: 1, lst: DRAFT_LST });
    assert.deepEqual([...bits], [0xb9, 0xa3]);
    assert.deepEqual(
      DRAFT_STATUSES.map((_, i) => statusBit(bits, i)),
      DRAFT_STATUSES,
    );
  });

  test('encodes 1-bit lists as ZLIB (RFC 1950) any inflater reads, byte for byte what node:zlib writes', async () => {
    const bits = new Uint8Array(4096);
    bits[0] = 0xb9;
    bits[4095] = 0x80;
    const encoded = await encodeStatusList(bits);
    assert.equal(encoded.bits, 1);
    assert.match(encoded.lst, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(new Uint8Array(inflateSync(Buffer.from(encoded.lst, 'base64url'))), bits);
    assert.equal(encoded.lst, deflateSync(bits).toString('base64url'));
  });

  test('decode reverses encode', async () => {
    const bits = new Uint8Array([0, 1, 2, 255, 128, 0, 0, 7]);
    assert.deepEqual(await decodeStatusList(await encodeStatusList(bits)), bits);
    assert.deepEqual(await decodeStatusList(await encodeStatusList(new Uint8Array(1))), new Uint8Array(1));
  });

  test('a list of wider statuses is refused, not misread bit by bit', async () => {
    await assert.rejects(decodeStatusList({ bits: 2, lst: DRAFT_LST }), { code: 'WARRANT_CLAIM_INVALID' });
  });

  test('an lst that is not canonical base64url is refused', async () => {
    await assert.rejects(decodeStatusList({ bits: 1, lst: `${DRAFT_LST}=` }), {
      code: 'WARRANT_JWS_MALFORMED',
    });
  });

  test('bytes that are not ZLIB data do not decode', async () => {
    await assert.rejects(
      decodeStatusList({ bits: 1, lst: Buffer.from('not zlib at all').toString('base64url') }),
    );
  });

  test('an index past the end of the list reads 0', () => {
    assert.equal(statusBit(new Uint8Array([0xff]), 8), 0);
    assert.equal(statusBit(new Uint8Array(0), 0), 0);
  });

  test('applyBits sets and clears bits in a grown copy and says whether one moved', () => {
    const original = new Uint8Array([0b0000_0001]);
    const set = applyBits(original, 1, [3, 9], 1);
    assert.deepEqual([...set.bits], [0b0000_1001, 0b0000_0010]);
    assert.equal(set.size, 10);
    assert.equal(set.changed, true);
    assert.deepEqual([...original], [0b0000_0001]);
    const again = applyBits(set.bits, set.size, [3], 1);
    assert.equal(again.changed, false);
    const cleared = applyBits(set.bits, set.size, [0, 9], 0);
    assert.deepEqual([...cleared.bits], [0b0000_1000, 0]);
    assert.equal(cleared.size, 10);
    assert.equal(cleared.changed, true);
  });

  test('sizedBits holds exactly ceil(size / 8) bytes', () => {
    assert.deepEqual([...sizedBits(new Uint8Array([1, 2, 3]), 9)], [1, 2]);
    assert.deepEqual([...sizedBits(new Uint8Array([1]), 17)], [1, 0, 0]);
    assert.equal(sizedBits(new Uint8Array([1]), 0).length, 0);
  });
});
