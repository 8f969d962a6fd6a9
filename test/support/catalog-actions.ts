/** Catalog actions the gateway tests and benchmarks share. */
import type { CatalogAction } from '../../src/guard/catalog.ts';

/** Reading CRM contacts over HTTP: a low-impact read, allowed by the shipped policy (risk < 40). */
export const CRM_CONTACTS_READ: CatalogAction = {
  name: 'crm:contacts.read',
  match: { protocol: 'http', method: 'GET', path: '/crm/contacts*' },
  impact: 'low',
  dataClass: 'internal',
  reversibility: 'reversible',
  blastRadius: 1,
};

/** Any read under `/crm/` over HTTP: the one action of the operations and fault tests. */
export const CRM_READ: CatalogAction = {
  name: 'tools:crm.read',
  match: { protocol: 'http', method: 'GET', path: '/crm/*' },
  impact: 'low',
  dataClass: 'internal',
  reversibility: 'reversible',
  blastRadius: 1,
};

/** A payment over HTTP whose `amount` (a JSON number in the body) budgets count. */
export const PAYMENTS_PAY: CatalogAction = {
  name: 'payments:pay',
  match: { protocol: 'http', method: 'POST', path: '/pay/payments' },
  impact: 'medium',
  dataClass: 'internal',
  reversibility: 'compensable',
  blastRadius: 1,
  parameters: { amount: { in: 'body', pointer: '/amount' } },
};
