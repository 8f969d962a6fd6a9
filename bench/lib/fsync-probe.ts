/**
 * The durability floor of a disk: `n` sequential 1 KiB appends to a fresh file in `dir`, each followed by
 * fdatasync (ms each, sorted). What any durable write on that disk pays at least, once per commit.
 */
import { mkdirSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';

export async function fsyncProbe(dir: string, n: number): Promise<number[]> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `fsync-probe-${process.pid}.jsonl`);
  const file = await open(path, 'a', 0o600);
  const line = `${JSON.stringify({ pad: 'x'.repeat(1013) })}\n`;
  const times: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await file.write(line);
      await file.datasync();
      times.push(performance.now() - t0);
    }
  } finally {
    await file.close();
    await rm(path, { force: true });
  }
  return times.sort((a, b) => a - b);
}
