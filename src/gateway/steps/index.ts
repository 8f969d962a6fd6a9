/**
 * The gateway's request path as an ordered list of named steps (DESIGN §7), each in its own file. Each
 * step reads what the steps before it set on the shared `GatewayCall` and adds its own facts; a step
 * that refuses throws (the gateway answers the refusal), one that answers by itself sets `answered`.
 */
import type { GatewayObserver, GatewayStep } from '../context.ts';
import { authenticate } from './authenticate.ts';
import { bound } from './bound.ts';
import { checkBreakers } from './check-breakers.ts';
import { checkHead } from './check-head.ts';
import { checkPins } from './check-pins.ts';
import { countTrust } from './count-trust.ts';
import { decide } from './decide.ts';
import { forward } from './forward.ts';
import { guard } from './guard.ts';
import { limitBody } from './limit-body.ts';
import { observeBreakers } from './observe-breakers.ts';
import { readCall } from './read-call.ts';
import { record } from './record.ts';
import { reserveBudget } from './reserve-budget.ts';
import { sandbox } from './sandbox.ts';
import { settleBudget } from './settle-budget.ts';
import { throttle } from './throttle.ts';
import { verifySignature } from './verify-signature.ts';

export const GATEWAY_STEPS: readonly GatewayStep[] = Object.freeze([
  checkHead,
  authenticate,
  limitBody,
  verifySignature,
  readCall,
  guard,
  checkPins,
  checkBreakers,
  decide,
  bound,
  throttle,
  sandbox,
  reserveBudget,
  record,
  forward,
]);

/** What runs after the answer, in order (see `GatewayObserver`): the guard's parts add theirs here. */
export const GATEWAY_OBSERVERS: readonly GatewayObserver[] = Object.freeze([
  settleBudget,
  countTrust,
  observeBreakers,
]);
