/**
 * What the demo puts behind the gateway: its routes' audiences and path prefixes, and the action
 * catalog that names every call it makes (an action the catalog does not name is refused).
 */
import type { CatalogAction } from '../guard/catalog.ts';

/** The customers database, an MCP server. */
export const DB_TOOL = 'https://tools.demo.warrant/customers-db';
export const DB_PREFIX = '/demo/db';
/** The CRM's notes, a plain HTTP API. */
export const CRM_TOOL = 'https://tools.demo.warrant/crm';
export const CRM_PREFIX = '/demo/crm';
/** The payments agent (an A2A agent): its route's audience is the agent's own SPIFFE ID. */
export const PAYMENTS_PREFIX = '/demo/payments';

const a2a = (name: string, skill: string, impact: CatalogAction['impact']): CatalogAction => ({
  name,
  match: { protocol: 'a2a', rpcMethod: 'SendMessage', skill },
  impact,
  dataClass: 'internal',
  reversibility: impact === 'high' ? 'compensable' : 'reversible',
  blastRadius: 1,
});

export const DEMO_CATALOG: readonly CatalogAction[] = [
  {
    name: 'db:customers.query',
    match: { protocol: 'mcp', tool: 'query' },
    impact: 'low',
    dataClass: 'confidential',
    reversibility: 'reversible',
    blastRadius: 1,
  },
  {
    name: 'db:customers.count',
    match: { protocol: 'mcp', tool: 'count' },
    impact: 'low',
    dataClass: 'internal',
    reversibility: 'reversible',
    blastRadius: 1,
  },
  {
    name: 'crm:notes.create',
    match: { protocol: 'http', method: 'POST', path: `${CRM_PREFIX}/notes` },
    impact: 'low',
    dataClass: 'internal',
    reversibility: 'reversible',
    blastRadius: 1,
    // What `warrant contain` sends to take the note back: the id comes from the answer to the call.
    compensation: {
      method: 'DELETE',
      path: '/notes/{id}',
      values: { id: { from: 'response', pointer: '/id' } },
    },
  },
  {
    name: 'payments:card.read',
    match: { protocol: 'a2a', rpcMethod: '$http:GET' },
    impact: 'low',
    dataClass: 'public',
    reversibility: 'reversible',
    blastRadius: 1,
  },
  a2a('payments:quote', 'quote', 'low'),
  // High impact: 45 + 5 (compensable) + 2 (internal) + 3 (one hop) = 55 points, above the bound of a new
  // agent (39 at trust level 0), so the payments agent must ask the person first.
  a2a('payments:transfer', 'transfer', 'high'),
];
