import type { Sts } from '../sts.ts';

export interface TokenRequest {
  readonly params: Map<string, string>;
  /** The DPoP header, if any. */
  readonly dpop: string | undefined;
  /** The `Warrant-Chain` header, if any: a peer's chain whose leaf is the `subject_token` (DESIGN §11). */
  readonly warrantChain?: string | undefined;
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

export { TOKEN_TYPE } from '../../core/tokens/token-types.ts';
