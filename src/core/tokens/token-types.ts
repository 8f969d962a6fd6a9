/**
 * Every name a token or grant goes by on the wire, defined once: the JOSE `typ` header values (RFC 8725
 * §3.11), the RFC 8693 token type identifiers (`subject_token_type`, `actor_token_type`,
 * `requested_token_type`, `issued_token_type`) and the OAuth grant and client assertion types.
 */

/** The `typ` of each token kind Warrant signs; a token of one kind never verifies as another. */
export const TYP = Object.freeze({
  identity: 'wi+jwt',
  warrant: 'warrant+jwt',
  statusList: 'statuslist+jwt',
} as const);

/** A kind of token Warrant signs and verifies. */
export type TokenKind = keyof typeof TYP;

/** The `typ` of a DPoP proof (RFC 9449 §4.2). */
export const DPOP_TYP = 'dpop+jwt';

/** The `typ` of an ID-JAG (draft-ietf-oauth-identity-assertion-authz-grant §3). */
export const ID_JAG_TYP = 'oauth-id-jag+jwt';

/** The explicit `typ` of a client assertion (draft-ietf-oauth-rfc7523bis); plain `JWT` is accepted too. */
export const CLIENT_ASSERTION_TYP = 'client-authentication+jwt';

/** RFC 8693 token type identifiers: what the STS accepts as subject and actor tokens, and issues. */
export const TOKEN_TYPE = Object.freeze({
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
  /** An Identity Assertion JWT Authorization Grant (draft-ietf-oauth-identity-assertion-authz-grant). */
  idJag: 'urn:ietf:params:oauth:token-type:id-jag',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
  warrant: 'urn:warrant:params:oauth:token-type:warrant',
  identity: 'urn:warrant:params:oauth:token-type:identity',
} as const);

/** The `grant_type` values of the STS token endpoint. */
export const GRANT_TYPE = Object.freeze({
  clientCredentials: 'client_credentials',
  /** RFC 7523 §2.1, with an ID-JAG as the assertion. */
  jwtBearer: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
  /** RFC 8693 §2.1. */
  tokenExchange: 'urn:ietf:params:oauth:grant-type:token-exchange',
} as const);

/** The `client_assertion_type` of `private_key_jwt` client authentication (RFC 7523 §2.2). */
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
