import { required } from '../../http/form.ts';
import { OAuthError } from '../../oauth-error.ts';
import { TOKEN_TYPE } from '../types.ts';
import type { ExchangeContext } from './context.ts';

/** The subject token types an exchange takes: a person's ID token or ID-JAG (root), or a warrant (hop). */
const SUBJECT_TYPES: ReadonlySet<string> = new Set([
  TOKEN_TYPE.idToken,
  TOKEN_TYPE.idJag,
  TOKEN_TYPE.warrant,
]);

/**
 * The RFC 8693 parameters every exchange needs: `subject_token` and its type, `audience` (one recipient,
 * never `resource`), and a `requested_token_type`, if any, of warrant.
 */
export function parseRequest(
  ctx: Pick<ExchangeContext, 'params' | 'subjectType' | 'subjectToken' | 'audience'>,
): void {
  const { params } = ctx;
  ctx.subjectType = required(params, 'subject_token_type');
  ctx.subjectToken = required(params, 'subject_token');
  const requestedType = params.get('requested_token_type');
  if (requestedType !== undefined && requestedType !== TOKEN_TYPE.warrant) {
    throw new OAuthError(
      'invalid_request',
      'WARRANT_TOKEN_TYPE_UNSUPPORTED',
      'only warrants can be requested',
    );
  }
  ctx.audience = required(params, 'audience');
  if (params.has('resource'))
    throw new OAuthError('invalid_target', 'WARRANT_AUDIENCE_NOT_ALLOWED', 'use audience, not resource');
}

/** The subject token is one the exchange knows (checked once the audience is known good). */
export function checkSubjectType(ctx: Pick<ExchangeContext, 'subjectType'>): void {
  if (!SUBJECT_TYPES.has(ctx.subjectType))
    throw new OAuthError(
      'invalid_request',
      'WARRANT_TOKEN_TYPE_UNSUPPORTED',
      'subject_token_type must be an ID token, an ID-JAG or a warrant',
    );
}
