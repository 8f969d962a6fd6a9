/**
 * The crash test's child: appends records to a ledger as fast as it can, 64 at a time, and prints
 * `<index> <k>` for each acknowledged append (once acknowledged, never before). The parent kills it with
 * SIGKILL mid-load.
 *   node crash-writer.ts sqlite <path>
 *   node crash-writer.ts postgres <url> <schema>
 * The checkpoint key is the private JWK in LEDGER_KEY.
 */
import { importPrivateJwk } from '../../src/core/jose/jwk.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { openPostgresLedgerStore } from '../../src/ledger/store/postgres/postgres-ledger-store.ts';
import { openSqliteLedgerStore } from '../../src/ledger/store/sqlite/sqlite-ledger-store.ts';
import { crashRecord } from './crash-record.ts';

const [kind, where, schema] = process.argv.slice(2);
const key = importPrivateJwk(JSON.parse(process.env['LEDGER_KEY']!), 'EdDSA');
const store =
  kind === 'postgres'
    ? await openPostgresLedgerStore({ url: where!, schema: schema! })
    : await openSqliteLedgerStore({ path: where! });
const ledger = await Ledger.open(
  store,
  { name: 'warrant.local/ledger', key },
  { checkpointEvery: { records: 2000, ms: 100 } },
);

let lines: string[] = [];
let scheduled = false;
function acknowledged(index: number, k: number): void {
  lines.push(`${index} ${k}\n`);
  if (scheduled) return;
  scheduled = true;
  setImmediate(() => {
    scheduled = false;
    const out = lines.join('');
    lines = [];
    process.stdout.write(out);
  });
}

process.stdout.write('ready\n');
let next = 0;
await Promise.all(
  Array.from({ length: 64 }, async () => {
    for (;;) {
      const k = next++;
      acknowledged(await ledger.append(crashRecord(k)), k);
    }
  }),
);
