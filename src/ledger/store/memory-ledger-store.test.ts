import { ledgerStoreContract } from './contract.ts';
import { MemoryLedgerStore } from './memory-ledger-store.ts';

ledgerStoreContract('memory', {
  open: async () => new MemoryLedgerStore(),
  dispose: (store) => store.close(),
});
