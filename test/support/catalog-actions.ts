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
