/**
 * `POST /admin/contain` (DESIGN §6, "Contain"): `{txn | agent | person | warrant, dryRun?}`. With `dryRun`
 * the plan is answered and nothing changes; otherwise the containment runs (revoke the subtree, trip the
 * breakers, compensate newest first, list what a person must handle) and its result is answered. With
 * `Accept: application/x-ndjson` the answer streams one JSON line per step as it happens, then the
 * result (`{"event":"result",…}`), or `{"event":"error",…}` when the run stops part way (run it again: it
 * resumes). An unknown target is 404 `WARRANT_CONTAIN_TARGET_UNKNOWN` and changes nothing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WarrantError } from '../../core/errors.ts';
import { type AdminExtension, bad, jsonBody, str } from '../../sts/admin-input.ts';
import { sendJson } from '../../sts/http/respond.ts';
import { fromWarrantError, OAuthError } from '../../sts/oauth-error.ts';
import { ContainError } from '../contain/contain-error.ts';
import type { ContainContext } from '../contain/context.ts';
import { planContainment, runContainment } from '../contain/run-containment.ts';
import type { ContainSelector } from '../contain/types.ts';

const KEYS = ['txn', 'agent', 'person', 'warrant'] as const;

export function containAdmin(ctx: ContainContext): AdminExtension {
  return async (req, res, _url, parts) => {
    if (parts[0] !== 'contain' || parts.length !== 1) return false;
    if (req.method !== 'POST')
      throw new OAuthError('method_not_allowed', 'WARRANT_NOT_FOUND', 'use POST /admin/contain');
    const body = await jsonBody(req);
    const selector = selectorOf(body, ctx.sts.config.trustDomain);
    const dryRun = body['dryRun'] ?? false;
    if (typeof dryRun !== 'boolean') throw bad('dryRun must be a boolean');
    if (dryRun) {
      const plan = await planContainment(ctx, selector).catch(answer);
      sendJson(res, 200, { dryRun: true, plan });
      return true;
    }
    if (wantsStream(req)) {
      await streamRun(ctx, selector, res);
      return true;
    }
    const result = await runContainment(ctx, selector, { actor: 'admin' }).catch(answer);
    sendJson(res, 200, result);
    return true;
  };
}

/** Exactly one of txn, agent (a SPIFFE ID or a name), person, warrant (a token hash). */
function selectorOf(body: Record<string, unknown>, trustDomain: string): ContainSelector {
  const given = KEYS.filter((k) => body[k] !== undefined);
  if (given.length !== 1) throw bad('give exactly one of txn, agent, person, warrant');
  const key = given[0]!;
  const value = str(body, key);
  if (key === 'txn') return { txn: value };
  if (key === 'person') return { person: value };
  if (key === 'warrant') {
    if (!/^[A-Za-z0-9_-]{43}$/.test(value))
      throw bad('warrant must be a token hash (43 base64url characters)');
    return { warrant: value };
  }
  if (value.startsWith('spiffe://')) return { agent: value };
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(value)) throw bad('agent must be a SPIFFE ID or an agent name');
  return { agent: `spiffe://${trustDomain}/agent/${value}` };
}

function wantsStream(req: IncomingMessage): boolean {
  return String(req.headers['accept'] ?? '').includes('application/x-ndjson');
}

/** Streams each step as a JSON line, then the result; a failure part way is the last line. */
async function streamRun(ctx: ContainContext, selector: ContainSelector, res: ServerResponse): Promise<void> {
  let started = false;
  const line = (value: unknown) => {
    if (!started) {
      res.writeHead(200, {
        'content-type': 'application/x-ndjson',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      });
      started = true;
    }
    res.write(`${JSON.stringify(value)}\n`);
  };
  try {
    const result = await runContainment(ctx, selector, {
      actor: 'admin',
      onProgress: (step) => line({ event: 'step', ...step }),
    });
    line({ event: 'result', ...result });
    res.end();
  } catch (error) {
    if (!started) answer(error);
    const e = error instanceof WarrantError ? error : undefined;
    line({
      event: 'error',
      code: e?.code ?? 'WARRANT_CONTAIN_UNAVAILABLE',
      message: e?.message ?? 'the containment stopped; run it again to resume',
    });
    res.end();
  }
}

/** The answer for a containment that could not start. */
function answer(error: unknown): never {
  if (error instanceof ContainError && error.code === 'WARRANT_CONTAIN_TARGET_UNKNOWN')
    throw new OAuthError('not_found', error.code, error.message);
  if (error instanceof WarrantError) throw fromWarrantError(error, 'temporarily_unavailable');
  throw new OAuthError(
    'temporarily_unavailable',
    'WARRANT_CONTAIN_UNAVAILABLE',
    'the containment could not run; run it again to resume',
    { cause: error, headers: { 'retry-after': '1' } },
  );
}
