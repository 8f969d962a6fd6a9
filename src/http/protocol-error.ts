import { type ErrorCode, WarrantError } from '../core/errors.ts';

/** The JSON body of every refusal: the public `error` and `error_description`, and the stable `code`. */
export interface ProtocolErrorBody<Name extends string = string> {
  readonly error: Name;
  readonly error_description: string;
  readonly code: ErrorCode;
}

/**
 * A refusal answered over HTTP (the STS's `OAuthError`, the gateway's `GatewayError`): a status, the
 * public `error` name and description, headers to send, and the stable Warrant `code`. The description
 * names what is wrong and never echoes a token, key or assertion; `cause` keeps the internal detail.
 */
export class ProtocolError<Name extends string = string> extends WarrantError {
  readonly status: number;
  readonly error: Name;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    error: Name,
    code: ErrorCode,
    description: string,
    options: { readonly cause?: unknown; readonly headers?: Readonly<Record<string, string>> } = {},
  ) {
    super(code, description, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.error = error;
    this.headers = options.headers ?? {};
  }

  body(): ProtocolErrorBody<Name> {
    return { error: this.error, error_description: this.message, code: this.code };
  }
}
