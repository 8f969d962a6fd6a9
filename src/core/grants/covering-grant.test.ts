import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CoveredAction, coveringGrant, grantCovers } from './covering-grant.ts';
import type { Grant } from './grant.ts';

const read: CoveredAction = { name: 'crm:read', dataClass: 'internal' };
const secret: CoveredAction = { name: 'crm:read', dataClass: 'restricted' };
const grant = (g: Partial<Grant>): Grant => ({ action: 'crm:*', resource: 'https://crm.example/*', ...g });

describe('grant coverage', () => {
  test('a grant covers an action and resource its patterns match, nothing else', () => {
    assert.equal(grantCovers(grant({}), read, 'https://crm.example/contacts'), true);
    assert.equal(grantCovers(grant({ action: 'crm:write' }), read, 'https://crm.example/contacts'), false);
    assert.equal(
      grantCovers(grant({}), { ...read, name: 'billing:read' }, 'https://crm.example/contacts'),
      false,
    );
    assert.equal(grantCovers(grant({}), read, 'https://billing.example/x'), false);
  });

  test('the data_class ceiling: an action of a higher class is not covered, of the same or a lower one is', () => {
    const upToConfidential = grant({ constraints: { data_class: 'confidential' } });
    assert.equal(grantCovers(upToConfidential, read, 'https://crm.example/a'), true);
    assert.equal(
      grantCovers(upToConfidential, { ...read, dataClass: 'confidential' }, 'https://crm.example/a'),
      true,
    );
    assert.equal(grantCovers(upToConfidential, secret, 'https://crm.example/a'), false);
    assert.equal(
      grantCovers(grant({ constraints: { data_class: 'public' } }), read, 'https://crm.example/a'),
      false,
    );
    assert.equal(grantCovers(grant({}), secret, 'https://crm.example/a'), true);
  });

  test('a ceiling that is not a data class covers nothing (fails closed)', () => {
    for (const ceiling of ['toString', 'secret', ['restricted']]) {
      const g = grant({ constraints: { data_class: ceiling } as unknown as Grant['constraints'] });
      assert.equal(
        grantCovers(g, { ...read, dataClass: 'public' }, 'https://crm.example/a'),
        false,
        String(ceiling),
      );
    }
  });

  test('with destinations, the resource must match one of them', () => {
    const g = grant({
      resource: '*',
      constraints: { destination: ['https://crm.example/eu/*', 'https://crm.example/us'] },
    });
    assert.equal(grantCovers(g, read, 'https://crm.example/eu/1'), true);
    assert.equal(grantCovers(g, read, 'https://crm.example/us'), true);
    assert.equal(grantCovers(g, read, 'https://crm.example/apac/1'), false);
  });

  test('value constraints do not decide coverage', () => {
    const g = grant({ constraints: { max_amount: 0, region: ['eu'] } });
    assert.equal(grantCovers(g, read, 'https://crm.example/a'), true);
  });

  test('coveringGrant answers the first covering grant, or undefined', () => {
    const narrow = grant({ constraints: { data_class: 'public' } });
    const wide = grant({ constraints: { data_class: 'restricted' } });
    const other = grant({ action: 'mail:*' });
    assert.equal(coveringGrant([other, narrow, wide], read, 'https://crm.example/a'), wide);
    assert.equal(coveringGrant([wide, grant({})], read, 'https://crm.example/a'), wide);
    assert.equal(coveringGrant([other, narrow], read, 'https://crm.example/a'), undefined);
    assert.equal(coveringGrant([], read, 'https://crm.example/a'), undefined);
  });
});
