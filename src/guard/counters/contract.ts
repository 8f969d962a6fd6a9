/**
 * One set of counter cases run on both adapters: memory, and a real Redis (a key prefix of the test's own,
 * deleted afterwards). Every part counting in the guard's counters relies on exactly this behaviour.
 */
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { REDIS_URL, requireRedis } from '../../../test/support/services.ts';
import type { Counters } from './counters.ts';
import { MemoryCounters } from './memory-counters.ts';
import { RedisCounters } from './redis-counters.ts';

export type CountersCase = (counters: Counters) => Promise<void>;

export function countersContract(name: string, cases: Readonly<Record<string, CountersCase>>): void {
  describe(`${name} in memory`, () => {
    for (const [title, run] of Object.entries(cases)) {
      it(title, async () => {
        const counters = new MemoryCounters();
        try {
          await run(counters);
        } finally {
          await counters.close();
        }
      });
    }
  });
  describe(`${name} in Redis`, () => {
    for (const [title, run] of Object.entries(cases)) {
      it(title, async () => {
        const url = await requireRedis(REDIS_URL);
        const client = new Redis(url, { maxRetriesPerRequest: 1 });
        const prefix = `warrant:test:${randomBytes(6).toString('hex')}:`;
        const counters = new RedisCounters(client, { prefix });
        try {
          await run(counters);
        } finally {
          const keys = await client.keys(`${prefix}*`);
          if (keys.length > 0) await client.del(...keys);
          await client.quit();
        }
      });
    }
  });
}
