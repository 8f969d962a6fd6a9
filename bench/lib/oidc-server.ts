/**
 * Child process for bench/sts.bench.ts: `oidc-provider` issuing client-credentials JWT access tokens to a
 * `private_key_jwt` client (test/support/oidc-provider-cc.ts). argv[2] is the JSON options; the child
 * answers `{ type: 'ready', url, tokenEndpoint }` over IPC, then the commands of child.ts.
 *
 * With `mandated`, each token request first does the work DESIGN makes the STS do on top of what
 * oidc-provider does: one more Ed25519 verification (the DPoP proof, of a proof-sized input; on libuv's pool
 * under load and inline at one request at a time, as the STS does) and one durable record of the issued token
 * (the cheapest one: a JSON-lines append, fdatasynced per batch). A provider doing DESIGN's extra work and
 * nothing else of Warrant's.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { countRequest } from '../../src/core/load.ts';
import { type DecisionRecord, FileDecisionLog } from '../../src/ledger/decision-log.ts';
import {
  type ClientCredentialsProviderOptions,
  startClientCredentialsProvider,
} from '../../test/support/oidc-provider-cc.ts';
import { childSpec, serveCommands } from './child.ts';
import { mandatedSignatures, randomHash } from './mandated-work.ts';

export interface OidcServerSpec extends ClientCredentialsProviderOptions {
  /** Do DESIGN's extra work per token request, the record at `logPath`. */
  readonly mandated?: { readonly logPath: string };
}

const options = childSpec<OidcServerSpec>();
const log = options.mandated ? new FileDecisionLog(options.mandated.logPath) : undefined;
const signatures = mandatedSignatures();

async function mandated(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST') return;
  countRequest(res);
  await signatures.verifyProof();
  // A token row's worth of facts (the STS records hash, jti, parent, txn, subject, actors, grants, times).
  await log!.append({
    id: randomUUID(),
    kind: 'token',
    time: new Date().toISOString(),
    hash: randomHash(),
    jti: randomUUID(),
    parent: randomHash(),
    txn: randomUUID(),
    sub: 'alice@example.com',
    actors: ['spiffe://bench.warrant.test/agent/planner', 'spiffe://bench.warrant.test/agent/executor'],
    audience: 'spiffe://bench.warrant.test/agent/third',
    grants: [{ action: 'crm:*', resource: 'https://tools.bench.warrant.test/*' }],
    exp: Math.floor(Date.now() / 1000) + 300,
  } as unknown as DecisionRecord);
}

const provider = await startClientCredentialsProvider(options, log ? { before: mandated } : {});
serveCommands(
  { url: provider.issuer, tokenEndpoint: provider.tokenEndpoint },
  {
    async stop() {
      await provider.close();
      await log?.close();
    },
  },
);
