/** The dashboard's refusals, with stable codes (docs/errors.md), answered as JSON like the admin API's. */
import { OAuthError } from '../sts/oauth-error.ts';

export const signInRequired = () =>
  new OAuthError('invalid_token', 'WARRANT_DASHBOARD_SIGN_IN_REQUIRED', 'sign in to the dashboard first', {
    headers: { 'www-authenticate': 'Cookie realm="warrant-dashboard"' },
  });

export const signInFailed = (description: string) =>
  new OAuthError('invalid_token', 'WARRANT_DASHBOARD_SIGN_IN_FAILED', description, {
    headers: { 'www-authenticate': 'Cookie realm="warrant-dashboard"' },
  });

export const forbidden = (description: string) =>
  new OAuthError('access_denied', 'WARRANT_DASHBOARD_FORBIDDEN', description);

export const csrfRefused = (description: string) =>
  new OAuthError('access_denied', 'WARRANT_DASHBOARD_CSRF', description);

export const notFound = (description = 'no such dashboard endpoint') =>
  new OAuthError('not_found', 'WARRANT_NOT_FOUND', description);

export const badRequest = (description: string) =>
  new OAuthError('invalid_request', 'WARRANT_REQUEST_MALFORMED', description);
