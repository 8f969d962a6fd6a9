import { CliError, type Command } from '../command.ts';

/**
 * A command of DESIGN §10 that is listed in `warrant --help` but not built yet. Running it says so and
 * exits 1, rather than pretending.
 */
function coming(name: string, summary: string, description: string, examples: readonly string[]): Command {
  return {
    name,
    summary,
    description,
    options: {},
    examples,
    coming: true,
    async run() {
      throw new CliError('not implemented yet (coming)', 'See README.md (Status) for what exists today.');
    },
  };
}

export const comingCommands: readonly Command[] = [
  coming(
    'serve',
    'STS + ledger + dashboard (control plane)',
    'Runs the control plane (STS, ledger, dashboard) from a configuration file, against PostgreSQL or SQLite.',
    ['warrant serve --config warrant.yaml'],
  ),
  coming(
    'gateway',
    'gateway (data plane), any number of replicas',
    'Runs the verifying gateway in front of agents, MCP servers, A2A agents, tools and LLM APIs.',
    ['warrant gateway --config warrant.yaml'],
  ),
  coming(
    'agent',
    'the registry: add|list|show|disable|rotate-key',
    'Manages registered agents: their public keys, owners, trust tiers and allowed audiences.',
    ['warrant agent add planner --public-key planner.pub.jwk --owner alice@example.org'],
  ),
  coming(
    'token verify',
    'verify a warrant or a whole chain offline',
    'Verifies a warrant (or a Warrant-Chain with --chain) against the STS JWKS: signatures, times, links, grants.',
    ['warrant token verify --chain "$WARRANT_CHAIN" --jwks http://127.0.0.1:8080/.well-known/jwks.json'],
  ),
  coming(
    'revoke',
    'revoke a token and its descendants, or by --txn/--agent/--person',
    'Revokes a warrant (by token hash or jti) and every descendant, or everything of a transaction, agent or person.',
    ['warrant revoke --txn 7f3c9a'],
  ),
  coming(
    'contain',
    'revoke the cascade, trip breakers, roll back',
    'Contains a transaction or an agent: revokes the subtree, trips breakers and runs compensations in reverse order.',
    ['warrant contain --txn 7f3c9a --dry-run'],
  ),
  coming(
    'approvals',
    'human approvals: list|approve|deny',
    'Lists pending approvals and approves or denies them.',
    ['warrant approvals list'],
  ),
  coming(
    'audit',
    'the ledger: trace|query|verify|export|report',
    'Queries and verifies the audit ledger: lineage of a transaction, proofs, exports and reports.',
    ['warrant audit trace --txn 7f3c9a'],
  ),
  coming(
    'policy',
    'Cedar policies: validate|test',
    'Validates policy sets against their schema and runs policy tests.',
    ['warrant policy validate --config warrant.yaml'],
  ),
];
