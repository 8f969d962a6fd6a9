/**
 * Pinned tools (DESIGN §6), the guard runtime's `pins`: the gateway compares every tool (skill) definition
 * a server shows with its pin and asks before each call whether the tool may be called; operators list,
 * approve and revoke through the admin API. One operation per file beside this one; this object only holds
 * the store and the configured routes.
 */
import type { PinningMode, WarrantConfig } from '../../config/types.ts';
import type { GuardStore } from '../store/open-guard-store.ts';
import { approveTool, type PinOperation } from './approve-tool.ts';
import { callablePin } from './decide-pin.ts';
import { markRecheck } from './mark-recheck.ts';
import { type Observation, observeDefinitions } from './observe-definitions.ts';
import type { ToolDrift, ToolPin } from './pin.ts';
import { hasPins, readDrift, readPin, readPins } from './read-pins.ts';
import { revokeTool } from './revoke-tool.ts';
import { routeKey } from './route-key.ts';

/** A route whose tools are pinned, as configured. */
export interface PinnedRoute {
  readonly key: string;
  readonly protocol: 'mcp' | 'a2a';
  readonly mode: Exclude<PinningMode, 'off'>;
}

export class ToolPins {
  readonly #store: GuardStore;
  readonly #routes: ReadonlyMap<string, PinnedRoute>;

  constructor(store: GuardStore, routes: readonly PinnedRoute[]) {
    this.#store = store;
    this.#routes = new Map(routes.map((r) => [r.key, r]));
  }

  /** The routes of `config` that pin their tools. */
  static routesOf(config: Pick<WarrantConfig, 'gateway'>): PinnedRoute[] {
    const out: PinnedRoute[] = [];
    // A configuration without a gateway part (a control plane's unit test) pins nothing.
    for (const route of (config as Partial<typeof config>).gateway?.routes ?? []) {
      const mode = route.tools?.pinning ?? 'off';
      if (mode !== 'off' && (route.protocol === 'mcp' || route.protocol === 'a2a'))
        out.push({ key: routeKey(route), protocol: route.protocol, mode });
    }
    return out;
  }

  /** The configured pinning routes. */
  routes(): readonly PinnedRoute[] {
    return [...this.#routes.values()];
  }

  /** Whether `route` pins its tools here (configured) or has pins in the store (configured elsewhere). */
  async knows(route: string): Promise<boolean> {
    return this.#routes.has(route) || (await hasPins(this.#store.sql, route));
  }

  /** Compares what a server showed with the pins; resolves the tools that may be shown. */
  observe(o: Observation): Promise<Set<string>> {
    return observeDefinitions(this.#store, o);
  }

  /** Whether `tool` may be called on `route` under `mode` (a refusal says why). */
  async callable(route: string, mode: PinningMode, tool: string): Promise<ReturnType<typeof callablePin>> {
    if (mode === 'off') return { ok: true };
    return callablePin(mode, await readPin(this.#store.sql, route, tool));
  }

  approve(op: PinOperation & { readonly digest: string }): Promise<ToolPin> {
    return approveTool(this.#store, op);
  }

  revoke(op: PinOperation): Promise<ToolPin> {
    return revokeTool(this.#store, op);
  }

  /** The server announced a change of its tools. */
  announce(o: { readonly route: string; readonly actor: string; readonly now: number }): Promise<boolean> {
    return markRecheck(this.#store, o);
  }

  async list(route: string): Promise<ToolPin[]> {
    return [...(await readPins(this.#store.sql, route)).values()];
  }

  pin(route: string, tool: string): Promise<ToolPin | undefined> {
    return readPin(this.#store.sql, route, tool);
  }

  drift(route: string, tool?: string): Promise<ToolDrift[]> {
    return readDrift(this.#store.sql, route, tool);
  }
}
