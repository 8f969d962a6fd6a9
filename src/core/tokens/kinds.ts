import type { TokenKind } from './token-types.ts';

/** Longest lifetime (exp - iat, seconds) each kind may claim. */
export const MAX_LIFETIME: Readonly<Record<TokenKind, number>> = Object.freeze({
  identity: 15 * 60,
  warrant: 24 * 60 * 60,
  statusList: 24 * 60 * 60,
});

/** Claims that belong to exactly one kind; their presence in a token of another kind is an error. */
export const EXCLUSIVE_CLAIMS: Readonly<Record<TokenKind, readonly string[]>> = Object.freeze({
  identity: ['tier'],
  warrant: [
    'act',
    'grants',
    'txn',
    'task',
    'prev',
    'root',
    'depth',
    'max_depth',
    'may_delegate',
    'sub_iss',
    'apv',
  ],
  statusList: ['status_list', 'ttl'],
});
