import type { ExchangeContext } from './context.ts';
import { requestedTask } from './request-params.ts';

/** The task the warrant is for: `task`, else (hop) the parent's. */
export function readTask(ctx: Pick<ExchangeContext, 'params' | 'parent' | 'task'>): void {
  ctx.task = requestedTask(ctx.params, ctx.parent?.claims.task);
}
