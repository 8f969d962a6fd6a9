/**
 * The lease takeover test's child: a control plane's ledger integrator (`startLedgerIntegrator`) under the
 * configuration in WARRANT_CONFIG (JSON overrides) and schema argv[2]; prints `holding <size>` after every
 * round in which it holds the lease. The parent kills it with SIGKILL.
 */
import { loadConfig } from '../../src/config/load-config.ts';
import { startLedgerIntegrator } from '../../src/runtime/ledger-role.ts';

const config = loadConfig(undefined, JSON.parse(process.env['WARRANT_CONFIG']!));
const role = await startLedgerIntegrator(config, { schema: process.argv[2]!, holder: 'child' });
setInterval(() => {
  if (role.integrator.holding) process.stdout.write(`holding ${role.integrator.size}\n`);
}, 20);
