/**
 * Autonomy statements as a process serves and records them (DESIGN §6). Any process answers "what may this
 * agent do" (`statement`): the control plane from the configured catalog and action policy, a gateway from
 * the ones it is running (`useSources`). A gateway also keeps the ledger's copy current
 * (`recordTo`): whenever an agent's statement changes — its trust level moved, it was first seen, the
 * catalog or policy was reloaded, or at start-up when it differs from the last one recorded — the new
 * version goes into the ledger as a record of kind `autonomy` (the statement and its digest), signed with
 * the rest of the log by its checkpoints. The guard store remembers the digest last written per agent,
 * so of several replicas only one writes each version.
 */
import { randomUUID } from 'node:crypto';
import type { DecisionLog, DecisionRecord } from '../../ledger/decision-log.ts';
import {
  DEFAULT_POLICY_FILES,
  DEFAULT_SCHEMA_FILE,
  loadPolicyFiles,
  type PolicySet,
} from '../../policy/index.ts';
import { ActionCatalog } from '../catalog.ts';
import type { TrustLevels } from '../trust/trust-levels.ts';
import { type AutonomyStatement, autonomyStatement, statementDigest } from './statement.ts';

export interface AutonomySources {
  readonly catalog: ActionCatalog;
  readonly policy: PolicySet;
}

/** The parts of the configuration statements are made from. */
export interface AutonomyConfig {
  readonly guard?: { readonly catalog?: string | undefined };
  readonly policy?: { readonly action?: string; readonly schema?: string };
}

export class Autonomy {
  readonly #trust: TrustLevels;
  readonly #config: AutonomyConfig;
  readonly #now: () => number;
  #sources: (() => AutonomySources) | undefined;
  #loaded: AutonomySources | undefined;
  #ledger:
    | { readonly log: DecisionLog; readonly gateway: string; readonly onError: (e: unknown) => void }
    | undefined;

  constructor(trust: TrustLevels, config: AutonomyConfig, now: () => number) {
    this.#trust = trust;
    this.#config = config;
    this.#now = now;
  }

  /** The catalog and policy statements are made from (a gateway gives its running ones). */
  useSources(sources: () => AutonomySources): void {
    this.#sources = sources;
  }

  /** The agent's statement now. Throws when the configured catalog or policy cannot be loaded. */
  statement(agent: string): AutonomyStatement {
    const { catalog, policy } = this.#current();
    return autonomyStatement({
      agent,
      trustLevel: this.#trust.level(agent),
      maxTrustLevel: this.#trust.maxLevel,
      pinned: this.#trust.pinned(agent),
      catalog,
      policy,
      guard: this.#config.guard,
    });
  }

  /**
   * Keeps the ledger's copy of every statement current through `log` (the gateway's decision sink): on
   * every trust change this process learns of, and now for every agent the guard knows.
   */
  async recordTo(log: DecisionLog, gateway: string, onError: (error: unknown) => void): Promise<void> {
    this.#ledger = { log, gateway, onError };
    this.#trust.onChange((event) => {
      this.record(event.agent).catch(onError);
    });
    await this.recordAll();
  }

  /** Records the statement of every agent the guard knows whose statement differs from its last copy. */
  async recordAll(): Promise<void> {
    for (const standing of await this.#trust.store.list()) await this.record(standing.agent);
  }

  /**
   * Writes the agent's statement to the ledger when it differs from the last one written (by any
   * process); resolves whether it wrote it. Without a ledger (the control plane), does nothing.
   */
  async record(agent: string): Promise<boolean> {
    const ledger = this.#ledger;
    if (ledger === undefined) return false;
    const statement = this.statement(agent);
    const digest = statementDigest(statement);
    if (!(await this.#trust.store.claimAutonomy(agent, digest, this.#now()))) return false;
    const record: DecisionRecord = {
      id: randomUUID(),
      kind: 'autonomy',
      time: new Date(this.#now() * 1000).toISOString(),
      gateway: ledger.gateway,
      caller: agent,
      trustLevel: statement.trustLevel,
      policyVersion: statement.policyVersion,
      autonomy: { digest, statement },
    };
    try {
      await ledger.log.append(record);
    } catch (error) {
      // Not in the ledger: give the claim back so the next change or start-up writes it.
      await this.#trust.store.releaseAutonomy(agent, digest).catch(() => {});
      throw error;
    }
    return true;
  }

  #current(): AutonomySources {
    if (this.#sources !== undefined) return this.#sources();
    this.#loaded ??= loadSources(this.#config);
    return this.#loaded;
  }
}

/** The configured action catalog and action policy (as `warrant gateway` loads them). */
function loadSources(config: AutonomyConfig): AutonomySources {
  const file = config.guard?.catalog;
  const catalog = file === undefined ? new ActionCatalog([]) : ActionCatalog.fromFile(file);
  const files = config.policy?.action ? [config.policy.action] : [...DEFAULT_POLICY_FILES];
  const policy = loadPolicyFiles(files, config.policy?.schema ?? DEFAULT_SCHEMA_FILE, { name: 'action' });
  return { catalog, policy };
}
