import { ADMIN_OPTIONS, adminClient, printJson } from '../../admin-client.ts';
import { type Command, EXIT } from '../../command.ts';

interface BreakerListing {
  counters: string;
  open: { key: string; state: string; trigger?: string; reason?: string; until?: number }[];
  history: { time: number; key: string; action: string; actor: string; reason: string }[];
}

export const breakerList: Command = {
  name: 'breaker list',
  summary: 'list open and half-open circuit breakers and the recent breaker history',
  description:
    'Lists the circuit breakers that are open (refusing every call until the cooldown ends) or half-open\n' +
    '(letting a few probe calls through), with why they tripped, then the recent trips, closes and resets.\n' +
    'Breakers are keyed agent:<agent id>, txn:<txn> or destination:<agent id> <audience>. With memory\n' +
    'counters (guard.counters: memory) the STS sees only its own process; the history shows every trip.',
  options: {
    ...ADMIN_OPTIONS,
    json: { type: 'boolean', description: 'print {counters, settings, open, history} as JSON' },
  },
  examples: ['warrant breaker list', 'warrant breaker list --json'],
  async run(args, io) {
    const listing = await adminClient(args, io).request<BreakerListing>('GET', '/breakers');
    if (args.values['json'] === true) {
      printJson(io, listing);
      return EXIT.ok;
    }
    if (listing.open.length === 0) io.out('no breaker is open\n');
    for (const b of listing.open) {
      const until = b.until === undefined ? '' : ` until ${new Date(b.until * 1000).toISOString()}`;
      io.out(`${b.state.toUpperCase()}  ${b.key}${until}\n  ${b.trigger ?? ''}: ${b.reason ?? ''}\n`);
    }
    if (listing.history.length > 0) {
      io.out('\nrecent changes (newest first):\n');
      for (const h of listing.history)
        io.out(
          `${new Date(h.time * 1000).toISOString()}  ${h.action.padEnd(5)}  ${h.key}  by ${h.actor}: ${h.reason}\n`,
        );
    }
    return EXIT.ok;
  },
};
