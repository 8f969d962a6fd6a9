/** `GET /ui/api/me`: who is signed in, their role, and the CSRF token their page sends on state changes. */
import { sendJson } from '../../sts/http/respond.ts';
import type { ApiOperation } from './types.ts';

export const me: ApiOperation = async ({ req, res, parts, session }) => {
  if (parts[0] !== 'me' || parts.length !== 1 || req.method !== 'GET') return false;
  sendJson(res, 200, {
    role: session.role,
    ...(session.person ? { person: session.person } : {}),
    csrf: session.csrf,
    expires: session.expires,
  });
  return true;
};
