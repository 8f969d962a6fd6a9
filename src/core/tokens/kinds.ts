/** Each token kind has its own explicit `typ` (RFC 8725 §3.11); a token of one kind never verifies as another. */
export const TOKEN_TYPES = Object.freeze({
  identity: 'wi+jwt',
  warrant: 'warrant+jwt',
  statusList: 'statuslist+jwt',
} as const);

export type TokenKind = keyof typeof TOKEN_TYPES;

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
