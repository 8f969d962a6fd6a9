/**
 * A payments upstream for the containment tests: it takes payments (`POST /payments` → 201 `{id, amount}`),
 * sends e-mails (`POST /emails`, irreversible), and refunds (`POST /payments/{id}/refund`), counting refunds
 * by `Idempotency-Key` — a key seen before is answered again without refunding twice — so a test can tell
 * a compensation applied once from one sent twice. Refunds of chosen payments can be made to fail (500) or
 * to hang until released (to kill a containment mid-rollback).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CatalogAction } from '../../src/guard/catalog.ts';

export const PAY = 'https://tools.warrant.test/pay';

/** The catalog of the payments upstream: a reversible payment with its refund, an irreversible e-mail. */
export const PAYMENTS_CATALOG: CatalogAction[] = [
  {
    name: 'payments:create',
    match: { protocol: 'http', method: 'POST', path: '/pay/payments' },
    impact: 'low',
    dataClass: 'internal',
    reversibility: 'reversible',
    blastRadius: 1,
    compensation: {
      method: 'POST',
      path: '/payments/{payment_id}/refund',
      body: { amount: '{amount}', reason: 'contained' },
      values: {
        payment_id: { from: 'response', pointer: '/id' },
        amount: { from: 'request', pointer: '/amount' },
      },
    },
  },
  {
    name: 'emails:send',
    match: { protocol: 'http', method: 'POST', path: '/pay/emails' },
    impact: 'low',
    dataClass: 'internal',
    reversibility: 'irreversible',
    blastRadius: 1,
  },
];

export const PAYMENT_GRANTS = [
  { action: 'payments:create', resource: PAY },
  { action: 'emails:send', resource: PAY },
];

export class PaymentsUpstream {
  payments = 0;
  /** Payment ids refunded, in the order the refunds were applied (once per Idempotency-Key). */
  readonly refunds: string[] = [];
  /** Every refund request received: payment id and Idempotency-Key (replays included). */
  readonly received: { id: string; key: string; body: unknown }[] = [];
  /** Refunds applied, by Idempotency-Key. */
  readonly applied = new Map<string, string>();
  readonly failing = new Set<string>();
  /** Payment ids whose refund waits for `release()` (and is told through `onHeld`). */
  readonly holding = new Set<string>();
  onHeld: ((id: string) => void) | undefined;
  #held: (() => void)[] = [];
  /** Requests that reached the upstream, by path. */
  readonly hits: string[] = [];

  release(): void {
    for (const go of this.#held.splice(0)) go();
  }

  readonly handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      this.hits.push(`${req.method} ${path}`);
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {}
      const json = (status: number, value: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      };
      if (req.method === 'POST' && path === '/payments') {
        this.payments += 1;
        return json(201, { id: `pay-${this.payments}`, amount: body['amount'], status: 'paid' });
      }
      if (req.method === 'POST' && path === '/emails') return json(200, { sent: true });
      const refund = /^\/payments\/([^/]+)\/refund$/.exec(path);
      if (req.method === 'POST' && refund) {
        const id = decodeURIComponent(refund[1]!);
        const key = String(req.headers['idempotency-key'] ?? '');
        this.received.push({ id, key, body });
        const answer = () => {
          if (this.applied.has(key)) return json(200, { id, refunded: true, replayed: true });
          if (this.failing.has(id)) return json(500, { error: 'refund service down' });
          this.applied.set(key, id);
          this.refunds.push(id);
          return json(200, { id, refunded: true });
        };
        if (this.holding.has(id)) {
          this.#held.push(answer);
          this.onHeld?.(id);
        } else {
          answer();
        }
        return;
      }
      json(404, { error: 'no such path' });
    });
  };
}
