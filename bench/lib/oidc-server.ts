/**
 * Child process for bench/sts.bench.ts: `oidc-provider` issuing client-credentials JWT access tokens to a
 * `private_key_jwt` client (test/support/oidc-provider-cc.ts). argv[2] is the JSON options; the child
 * answers `{ type: 'ready', url, tokenEndpoint }` over IPC, then the commands of child.ts.
 */
import {
  type ClientCredentialsProviderOptions,
  startClientCredentialsProvider,
} from '../../test/support/oidc-provider-cc.ts';
import { childSpec, serveCommands } from './child.ts';

const options = childSpec<ClientCredentialsProviderOptions>();
const provider = await startClientCredentialsProvider(options);
serveCommands(
  { url: provider.issuer, tokenEndpoint: provider.tokenEndpoint },
  { stop: () => provider.close() },
);
