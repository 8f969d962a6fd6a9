import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DashboardContext } from '../context.ts';
import type { Session } from '../sessions.ts';

/** One dashboard API request: the path segments after `/ui/api/`, the session it was made in. */
export interface ApiRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly parts: readonly string[];
  readonly session: Session;
  readonly ctx: DashboardContext;
}

/** Answers and resolves `true` when the path is its own. */
export type ApiOperation = (r: ApiRequest) => Promise<boolean>;
