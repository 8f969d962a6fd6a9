/**
 * The agent SDK (`warrant/sdk`, DESIGN §10): keys, identity, `exchange()`, the token pool, the DPoP
 * `fetch` that plugs into the MCP SDK, the A2A SDK and the `openai` client, and approvals. See docs/sdk.md.
 */
export { type AgentOptions, createAgent, WarrantAgent } from './agent.ts';
export {
  AgentClient,
  type AgentClientOptions,
  type ExchangeRequest,
  StsRequestError,
  TOKEN_TYPES,
  type TokenResult,
} from './agent-client.ts';
export { exchange, type HopRequest, type Subject } from './exchange.ts';
export { AgentIdentity, type IdentityOptions, type IdentityToken } from './identity.ts';
export {
  AGENT_KEY_ENV,
  AgentKeyError,
  type Alg,
  exportAgentKey,
  generateAgentKey,
  type KeySource,
  loadAgentKey,
  type PrivateJwk,
  type PublicJwk,
  type SigningKey,
} from './keys.ts';
export { type AgentRevocation, openRevocationStatus } from './revocation.ts';
export { type HeldWarrant, holdWarrant, type WarrantClaims } from './token-claims.ts';
export {
  type Grant,
  poolKey,
  type SubjectSource,
  TokenPool,
  TokenPoolError,
  type TokenPoolOptions,
} from './token-pool.ts';
export { type ApprovalOutcome, type WaitOptions, waitForApproval } from './wait-for-approval.ts';
export {
  type ApprovalRequired,
  createWarrantFetch,
  type WarrantFetchOptions,
} from './warrant-fetch.ts';
