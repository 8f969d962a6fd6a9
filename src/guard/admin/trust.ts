/**
 * Progressive trust for operators (src/guard/trust/): `GET /admin/agents/{id}/trust` answers the agent's
 * level, pin, record since its last change and recent history; `POST /admin/agents/{id}/trust`
 * `{level?, pin?, reason}` sets the level (pinned unless `pin: false`) and/or pins or unpins it, recorded
 * with the reason and `admin` as the actor. Gateways learn of it through the change history.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AdminExtension, bad, jsonBody, str } from '../../sts/admin-input.ts';
import { sendJson } from '../../sts/http/respond.ts';
import type { GuardRuntime } from '../runtime.ts';
import { agentIdOf } from './agent-ref.ts';

export function trustAdmin(guard: GuardRuntime): AdminExtension {
  return async (req, res, _url, parts) => {
    const [collection, ref, what, extra] = parts;
    if (collection !== 'agents' || ref === undefined || what !== 'trust' || extra !== undefined) return false;
    const agent = agentIdOf(ref, guard.trustDomain);
    if (req.method === 'GET') {
      sendJson(res, 200, await guard.trust.view(agent));
      return true;
    }
    if (req.method === 'POST') {
      await setTrust(guard, agent, req, res);
      return true;
    }
    return false;
  };
}

async function setTrust(
  guard: GuardRuntime,
  agent: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const body = await jsonBody(req);
  for (const key of Object.keys(body))
    if (key !== 'level' && key !== 'pin' && key !== 'reason') throw bad(`unknown member ${key}`);
  const reason = str(body, 'reason');
  const level = body['level'];
  const max = guard.trust.maxLevel;
  if (
    level !== undefined &&
    (typeof level !== 'number' || !Number.isSafeInteger(level) || level < 0 || level > max)
  )
    throw bad(`level must be an integer in 0..${max}`);
  const pin = body['pin'];
  if (pin !== undefined && typeof pin !== 'boolean') throw bad('pin must be true or false');
  if (level === undefined && pin === undefined) throw bad('give level, pin, or both');
  // Setting a level pins it unless the operator says otherwise: an operator's level is meant to stay.
  const pinned = pin ?? true;
  const change = await guard.trust.set(
    agent,
    { ...(level === undefined ? {} : { level: level as number }), pinned },
    reason,
    'admin',
  );
  sendJson(res, 200, { changed: change !== undefined, trust: await guard.trust.view(agent) });
}
