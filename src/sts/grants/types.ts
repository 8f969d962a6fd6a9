import type { Sts } from '../sts.ts';

export interface TokenRequest {
  readonly params: Map<string, string>;
  /** The DPoP header, if any. */
  readonly dpop: string | undefined;
}

export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'DPoP';
  readonly expires_in: number;
  readonly issued_token_type?: string;
  readonly scope?: string;
}

/** One module per grant type, registered by its `grant_type` value. */
export interface GrantHandler {
  readonly grantType: string;
  handle(sts: Sts, request: TokenRequest): Promise<TokenResponse>;
}

export const TOKEN_TYPE = Object.freeze({
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
  /** An Identity Assertion JWT Authorization Grant (draft-ietf-oauth-identity-assertion-authz-grant). */
  idJag: 'urn:ietf:params:oauth:token-type:id-jag',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
  warrant: 'urn:warrant:params:oauth:token-type:warrant',
  identity: 'urn:warrant:params:oauth:token-type:identity',
});
