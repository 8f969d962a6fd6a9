/**
 * Child process for bench/sts.bench.ts: `oidc-provider` issuing client-credentials JWT access tokens to a
 * `private_key_jwt` client (test/support/oidc-provider-cc.ts). argv[2] is the JSON options; the child
 * answers `{ type: 'ready', url, tokenEndpoint }` over IPC and exits on `{ type: 'stop' }`.
 */
import {
  type ClientCredentialsProviderOptions,
  startClientCredentialsProvider,
} from '../../test/support/oidc-provider-cc.ts';

const options = JSON.parse(process.argv[2] ?? '{}') as ClientCredentialsProviderOptions;
const provider = await startClientCredentialsProvider(options);
process.on('message', async (message: { type: string }) => {
  if (message.type !== 'stop') return;
  await provider.close();
  process.send!({ type: 'stopped' }, () => process.exit(0));
});
process.send!({ type: 'ready', url: provider.issuer, tokenEndpoint: provider.tokenEndpoint });
