/**
 * µs per policy decision, side by side in one run (DESIGN §5, §9):
 *   cold      — cedar-wasm `isAuthorized` with the policy and schema text on every call (parse each time);
 *   prepared  — `PolicySet.authorize`: policies and schema pre-parsed once (`statefulIsAuthorized`);
 *   cached    — `PolicySet.authorize` with a `DecisionCache`, repeated identical request (digest + lookup).
 *
 *   node src/policy/decision.bench.ts [iterations]
 */
import { readFileSync } from 'node:fs';
import { type AuthorizationCall, isAuthorized } from '@cedar-policy/cedar-wasm/nodejs';
import { DecisionCache } from './decision-cache.ts';
import { DEFAULT_POLICY_FILES, DEFAULT_SCHEMA_FILE, loadPolicySet } from './policy-set.ts';
import type { AuthorizationRequest, Decision } from './types.ts';

const iterations = Number(process.argv[2] ?? 5000);
const policies = DEFAULT_POLICY_FILES.map((f) => readFileSync(f, 'utf8')).join('\n');
const schema = readFileSync(DEFAULT_SCHEMA_FILE, 'utf8');

const request: AuthorizationRequest = {
  principal: { type: 'Warrant::Agent', id: 'spiffe://example.org/agent/planner' },
  action: { type: 'Warrant::Action', id: 'delegate' },
  resource: { type: 'Warrant::Agent', id: 'spiffe://example.org/agent/executor' },
  context: {
    grantAction: 'crm:read',
    grantResource: 'crm/*',
    dataClass: 'confidential',
    dataClassRank: 2,
    destinations: ['eu-west'],
    task: 'quarterly report',
    depth: 1,
    person: 'alice',
    maxAmount: -1,
  },
  entities: [
    {
      uid: { type: 'Warrant::Agent', id: 'spiffe://example.org/agent/planner' },
      attrs: { tier: 'planner', trustLevel: 2, owner: 'alice' },
      parents: [],
    },
    {
      uid: { type: 'Warrant::Agent', id: 'spiffe://example.org/agent/executor' },
      attrs: { tier: 'executor', trustLevel: 1, owner: 'alice' },
      parents: [],
    },
  ],
};

function measure(name: string, n: number, fn: () => unknown): number {
  for (let i = 0; i < Math.min(500, n); i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  const us = Number(process.hrtime.bigint() - start) / n / 1000;
  console.log(`${name.padEnd(44)} ${us.toFixed(1).padStart(8)} µs/decision`);
  return us;
}

const coldCall = () =>
  isAuthorized({
    ...(request as unknown as Omit<AuthorizationCall, 'policies'>),
    policies: { staticPolicies: policies },
    schema,
    validateRequest: true,
  });
const validated = loadPolicySet({ policies, schema, name: 'bench' });
const unvalidated = loadPolicySet({ policies, schema, name: 'bench', validateRequests: false });
const cache = new DecisionCache();
const expect = (d: Decision) => {
  if (d.decision !== 'allow') throw new Error(`unexpected decision ${JSON.stringify(d)}`);
};
expect(validated.authorize(request));

const cold = measure('cold: isAuthorized(policy text + schema)', Math.ceil(iterations / 5), coldCall);
const prepared = measure('prepared: authorize (request validated)', iterations, () =>
  validated.authorize(request),
);
measure('prepared: authorize (validateRequests: false)', iterations, () => unvalidated.authorize(request));
const cached = measure('cached: authorize + DecisionCache hit', iterations * 10, () =>
  validated.authorize(request, cache),
);
console.log(
  `cold / prepared = ${(cold / prepared).toFixed(1)}×, prepared / cached = ${(prepared / cached).toFixed(1)}×`,
);
