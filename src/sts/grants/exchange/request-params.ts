import { type Grant, parseGrants } from '../../../core/grants/index.ts';
import { OAuthError } from '../../oauth-error.ts';

const AUTHORIZATION_DETAILS_TYPE = 'warrant_grant';

const malformed = (description: string) =>
  new OAuthError('invalid_request', 'WARRANT_REQUEST_MALFORMED', description);

/** Grants asked for: RFC 9396 `authorization_details` of type `warrant_grant`, else `scope`. */
export function requestedGrants(params: Map<string, string>): {
  explicit: Grant[] | undefined;
  scope: string | undefined;
} {
  const details = params.get('authorization_details');
  const scope = params.get('scope');
  if (details === undefined) return { explicit: undefined, scope };
  let parsed: unknown;
  try {
    parsed = JSON.parse(details);
  } catch {
    throw malformed('authorization_details is not JSON');
  }
  if (!Array.isArray(parsed) || parsed.length === 0)
    throw malformed('authorization_details must be a non-empty array');
  const grants = parsed.map((d: unknown) => {
    if (
      typeof d !== 'object' ||
      d === null ||
      (d as { type?: unknown }).type !== AUTHORIZATION_DETAILS_TYPE
    ) {
      throw malformed(`authorization_details entries must have type ${AUTHORIZATION_DETAILS_TYPE}`);
    }
    const { type: _t, ...grant } = d as Record<string, unknown>;
    return grant;
  });
  try {
    return { explicit: parseGrants(grants), scope };
  } catch (error) {
    throw new OAuthError('invalid_request', 'WARRANT_GRANT_INVALID', (error as Error).message, {
      cause: error,
    });
  }
}

/** `delegate_to`: space-separated audience patterns the recipient may delegate onward to. */
export function requestedDelegation(params: Map<string, string>): string[] | undefined {
  const value = params.get('delegate_to');
  if (value === undefined) return undefined;
  const patterns = value.split(' ').filter(Boolean);
  if (patterns.length === 0 || patterns.length > 32) throw malformed('delegate_to is malformed');
  return patterns;
}

/** `requested_lifetime`: whole seconds. */
export function requestedLifetime(params: Map<string, string>): number | undefined {
  const value = params.get('requested_lifetime');
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]{0,6}$/.test(value))
    throw malformed('requested_lifetime must be a positive integer of seconds');
  return Number(value);
}

/** `task`, else the one `inherited` from the parent warrant: at most 256 printable characters. */
export function requestedTask(params: Map<string, string>, inherited?: string): string | undefined {
  const value = params.get('task') ?? inherited;
  if (value !== undefined && (value.length > 256 || [...value].some((c) => c.charCodeAt(0) < 0x20)))
    throw malformed('task must be at most 256 printable characters');
  return value;
}
