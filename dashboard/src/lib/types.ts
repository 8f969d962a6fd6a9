/**
 * What the pages read. The dashboard API's own answers are typed from the server's code (type-only imports:
 * nothing of the server is bundled); the admin API's (agents, trust, breakers, budgets, tools) follow its
 * OpenAPI document (GET /admin/openapi.json, src/sts/openapi.ts).
 */
export type { DecisionView } from '../../../src/dashboard/api/views.ts';

import type { WarrantConfig } from '../../../src/config/types.ts';

/** The dashboard section of the configuration (src/config/schema.json). */
export type DashboardConfig = WarrantConfig['dashboard'];

export interface Me {
  readonly role: 'operator' | 'person';
  readonly person?: { sub: string; iss: string; email?: string };
  readonly csrf: string;
  readonly expires: number;
}

export interface Approval {
  readonly id: string;
  readonly status: string;
  readonly person: { sub: string; iss: string } | null;
  readonly caller: string;
  readonly chain: readonly string[];
  readonly txn: string;
  readonly action: string;
  readonly resource: string;
  readonly parameters: Record<string, unknown>;
  readonly risk: number;
  readonly bound: number;
  readonly factors: readonly { name: string; points: number }[];
  readonly addressed_to: string;
  readonly created_at: number;
  readonly expires_at: number;
  readonly decided_by?: string;
  readonly reason?: string;
}

/** admin OpenAPI `Agent`. */
export interface Agent {
  readonly id: string;
  readonly name: string;
  readonly owner: string;
  readonly tier: string;
  readonly trustLevel: number;
  readonly status: 'active' | 'disabled';
  readonly allowedAudiences: readonly string[];
}

export interface TrustAnswer {
  readonly level: number;
  readonly pinned: boolean;
  readonly history?: readonly { at?: number; level?: number; reason?: string; actor?: string }[];
  readonly [k: string]: unknown;
}

export interface Breaker {
  readonly key: string;
  readonly state: string;
  readonly trigger?: string;
  readonly until?: number;
}

export interface Pin {
  readonly tool: string;
  readonly status: string;
  /** The approved definition's digest. */
  readonly digest?: string;
  readonly seenDigest?: string;
  readonly seenDefinition?: { readonly description?: unknown; readonly [k: string]: unknown };
  readonly [k: string]: unknown;
}

export interface Drift {
  readonly tool: string;
  readonly changed: readonly string[];
  readonly [k: string]: unknown;
}

export interface LineageNode {
  readonly id: string;
  readonly kind: 'person' | 'agent' | 'tool';
}

export interface LineageEdge {
  readonly from: string;
  readonly to: string;
  readonly decisions: readonly { index: number; action?: string; decision?: string; code?: string }[];
  readonly grants: readonly unknown[];
}
