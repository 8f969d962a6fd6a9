/**
 * Part of forward (DESIGN §6, containment): for an allowed call of an action whose catalog entry declares a
 * compensation, the values that compensation names — read from the JSON request body and from a bounded
 * copy (at most 64 KiB) of a 2xx JSON answer as it streams to the caller — are stored in the guard store
 * (`compensation_inputs`) before the answer ends, so `warrant contain` can undo the call later. Nothing
 * else of the request or answer is kept. A value that cannot be read is left out (contain then lists the
 * call for a person to handle); a failure to store never changes the caller's answer.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { CatalogEntry, CompiledCompensationValue } from '../../guard/catalog.ts';
import { saveCompensationInputs } from '../../guard/contain/compensation-inputs.ts';
import { type GatewayCall, need } from '../context.ts';

/** The most of an answer copied to read compensation values from. */
export const MAX_RESPONSE_COPY = 64 * 1024;

export interface CompensationCopy {
  /** Copies a chunk of the answer (until the copy would pass {@link MAX_RESPONSE_COPY}). */
  push(chunk: Buffer): void;
  /** Stores the values found (once the whole answer was read). Never rejects. */
  save(): Promise<void>;
}

/** A copy for this call, or `undefined` when nothing is to be kept (no compensation, no guard, not 2xx). */
export function compensationCopy(
  call: GatewayCall,
  status: number,
  headers: IncomingHttpHeaders,
): CompensationCopy | undefined {
  const action = call.verdict?.action;
  const store = call.gw.guard?.store;
  if (action?.compensation === undefined || store === undefined || status < 200 || status > 299)
    return undefined;
  const wantsResponse = action.compensationValues.some((v) => v.from === 'response');
  const json = /^application\/([a-z0-9.+-]*\+)?json\b/i.test(String(headers['content-type'] ?? ''));
  const chunks: Buffer[] = [];
  let size = 0;
  let overflow = false;
  return {
    push(chunk) {
      if (!wantsResponse || !json || overflow) return;
      size += chunk.length;
      if (size > MAX_RESPONSE_COPY) {
        overflow = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    },
    async save() {
      try {
        const response = wantsResponse && json && !overflow ? parseJson(Buffer.concat(chunks)) : undefined;
        const request = call.body ? parseJson(call.body) : undefined;
        const values = valuesOf(action, request, response);
        const claims = need(call.presented, 'presented').leaf.claims;
        await saveCompensationInputs(store.sql, {
          decisionId: need(call.decisionId, 'decisionId'),
          time: call.gw.now(),
          txn: claims.txn ?? null,
          person: claims.sub,
          caller: claims.act.sub,
          route: need(call.route, 'route').audience,
          action: action.name,
          status,
          values,
        });
      } catch {
        // Not kept: `warrant contain` lists this call for a person to handle instead of compensating it.
      }
    },
  };
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The compensation's values found in the request and the answer (a scalar, array or object each). */
function valuesOf(action: CatalogEntry, request: unknown, response: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const v of action.compensationValues) {
    const found = at(v.from === 'request' ? request : response, v);
    // A value is small by nature (an id, an amount); a large one is not kept.
    if (found !== undefined && JSON.stringify(found).length <= 4096) out[v.name] = found;
  }
  return out;
}

function at(doc: unknown, value: CompiledCompensationValue): unknown {
  let node = doc;
  for (const token of value.path) {
    if (Array.isArray(node)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
      node = node[Number(token)];
    } else if (node !== null && typeof node === 'object' && Object.hasOwn(node, token)) {
      node = (node as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
  }
  return node === null ? undefined : node;
}
