/**
 * Child process for bench/gateway.bench.ts: the Warrant STS that issues the benchmark's delegation chain and
 * that the gateway trusts (JWKS, status lists, revocation feed). It is off the measured path: the gateway
 * fetches its keys and status lists at start and then only on its own refresh timer.
 *
 * argv[2] is a JSON `GatewayStsSpec`. Answers `{ type: 'ready', url }` over IPC, then the commands of
 * gateway-ipc.ts.
 */
import { loadConfig } from '../../src/config/load-config.ts';
import type { ConfigOverrides } from '../../src/config/types.ts';
import { startControlPlane } from '../../src/runtime/control-plane.ts';
import { openStore } from '../../src/store/open-store.ts';
import { createLogger } from '../../src/telemetry/index.ts';
import { serveCommands } from './gateway-ipc.ts';

export interface GatewayStsSpec {
  readonly trustDomain: string;
  readonly dataDir: string;
  readonly adminToken: string;
  readonly personIssuer: { readonly issuer: string; readonly jwksFile: string; readonly audience: string };
}

const spec = JSON.parse(process.argv[2] ?? '{}') as GatewayStsSpec;
const config = loadConfig(undefined, {
  trustDomain: spec.trustDomain,
  dataDir: spec.dataDir,
  sts: {
    listen: { host: '127.0.0.1', port: 0 },
    warrantLifetime: 3600,
    hopLifetime: 3600,
    trustedIssuers: [{ ...spec.personIssuer, kind: 'oidc' }],
  },
} as ConfigOverrides);
const store = await openStore({ kind: 'sqlite', path: ':memory:' });
// Off the measured path: it logs nothing.
const plane = await startControlPlane(config, {
  adminToken: spec.adminToken,
  store,
  logger: createLogger({ service: 'sts', level: 'silent' }),
});

serveCommands(
  { url: plane.url },
  {
    server: plane.server,
    async stop() {
      await plane.close();
      await store.close();
    },
  },
);
