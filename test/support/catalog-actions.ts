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
