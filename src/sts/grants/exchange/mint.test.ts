import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { agentRecord, contextWith, NOW, verifiedParent } from '../../../../test/support/exchange-context.ts';
import type { WarrantClaims } from '../../../core/tokens/index.ts';
import type { Person } from '../../person-assertion.ts';
import { TOKEN_TYPE } from '../types.ts';
import { mintHop, mintRoot } from './mint.ts';

/** A minter that records what it was asked to sign. */
function minter() {
  const minted: { claims: Omit<WarrantClaims, 'iss' | 'jti' | 'status'>; parentHash: string | null }[] = [];
  const services = {
    config: { sts: { warrantLifetime: 900, hopLifetime: 300, maxDepth: 3 } },
    newTxn: () => 'txn-new',
    async mintWarrant(claims: Omit<WarrantClaims, 'iss' | 'jti' | 'status'>, parentHash: string | null) {
      minted.push({ claims, parentHash });
      return { token: 'signed.warrant.token', claims: { ...claims } as WarrantClaims, record: {} as never };
    },
  };
  return { services: services as never, minted };
}

const grants = [{ action: 'crm:read', resource: 'crm/*' }];
const common = { proof: { jkt: 'jkt-caller' } as never, grants, mayDelegate: false as const };

describe('mintRoot', () => {
  test("the person's warrant for the caller: depth 0, a new txn, the smaller depth budget", async () => {
    const { services, minted } = minter();
    const person = { sub: 'alice', issuer: 'https://idp' } as Person;
    const caller = agentRecord('planner', { maxDepth: 2 });
    const ctx = contextWith({
      ...common,
      services,
      person,
      caller,
      audience: 'https://tool.example/api',
      task: undefined,
      now: NOW,
      iat: NOW,
      exp: NOW + 900,
    });
    await mintRoot(ctx);
    assert.deepEqual(minted, [
      {
        claims: {
          sub: 'alice',
          sub_iss: 'https://idp',
          act: { sub: caller.id },
          aud: 'https://tool.example/api',
          scope: 'crm:read',
          grants,
          txn: 'txn-new',
          depth: 0,
          max_depth: 2,
          may_delegate: false,
          cnf: { jkt: 'jkt-caller' },
          iat: NOW,
          exp: NOW + 900,
        },
        parentHash: null,
      },
    ]);
    assert.deepEqual(ctx.response, {
      access_token: 'signed.warrant.token',
      token_type: 'DPoP',
      expires_in: 900,
      issued_token_type: TOKEN_TYPE.warrant,
      scope: 'crm:read',
    });
  });
});

describe('mintHop', () => {
  test('the child: one actor more, hash-linked to its parent, in its transaction and depth budget', async () => {
    const { services, minted } = minter();
    const parent = verifiedParent({ depth: 1, root: 'hash-root', task: 'report' });
    const caller = agentRecord('executor');
    const ctx = contextWith({
      ...common,
      services,
      parent,
      caller,
      audience: 'https://tool.example/api',
      task: 'report',
      now: NOW,
      iat: NOW,
      exp: NOW + 120,
    });
    await mintHop(ctx);
    const [{ claims, parentHash }] = minted as [(typeof minted)[number]];
    assert.equal(parentHash, 'hash-parent');
    assert.deepEqual(claims.act, { sub: caller.id, act: parent.claims.act });
    assert.deepEqual(
      [claims.prev, claims.root, claims.depth, claims.max_depth, claims.txn, claims.task, claims.sub],
      ['hash-parent', 'hash-root', 2, parent.claims.max_depth, 'txn-1', 'report', 'alice@example.org'],
    );
    assert.equal(ctx.response.expires_in, 120);
  });

  test('the child of a root names the root by its hash', async () => {
    const { services, minted } = minter();
    await mintHop(
      contextWith({
        ...common,
        services,
        parent: verifiedParent(),
        caller: agentRecord('executor'),
        audience: 'x',
        task: undefined,
        now: NOW,
        iat: NOW,
        exp: NOW + 1,
      }),
    );
    assert.equal(minted[0]!.claims.root, 'hash-parent');
    assert.equal('task' in minted[0]!.claims, false);
  });
});
