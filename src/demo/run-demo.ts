/**
 * `warrant dev --demo`: the whole story on real protocols, narrated. alice asks an orchestrator agent for
 * work; it hands a research agent a narrower task, which queries a customers database over MCP and files
 * a note in the CRM; a payments agent over A2A needs alice's approval for a large transfer and gets it; a
 * compromised agent is refused at the STS and at the gateway; a tool changes its definition and is
 * quarantined; a runaway loop trips a breaker; the operator contains the transaction and the note is
 * rolled back. Every decision is in the ledger, and the story ends with the commands that show it.
 */
import type { RunningGateway } from '../gateway/start-gateway.ts';
import type { ControlPlane } from '../runtime/control-plane.ts';
import { compromise, delegate, loop, payWithApproval, quarantine, research, rollBack } from './acts.ts';
import { ALICE, buildWorld, type DemoWorld } from './demo-world.ts';
import { Narrator } from './narrator.ts';

export interface DemoOptions {
  readonly plane: ControlPlane;
  readonly gateway: RunningGateway;
  readonly trustDomain: string;
  /** The admin credential: the demo is also the operator (pins tools, contains the transaction). */
  readonly adminToken: string;
  /** The data directory, for the closing commands (`--data` is shown when it is not the default). */
  readonly dataDir: string;
  /** Told each line as it is narrated. */
  readonly onLine?: (line: string) => void;
}

export interface DemoResult {
  readonly lines: readonly string[];
  /** The transaction the story ran in. */
  readonly txn: string;
  /** The demo's world (its agents, upstreams and person), kept running until `close` (tests drive it on). */
  readonly world: DemoWorld;
  close(): Promise<void>;
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const n = new Narrator(options.onLine);
  const world = await buildWorld(options.plane, options.gateway, options.trustDomain);
  try {
    const { orchestrator, research: researcher, payments } = world.agents;
    const admin = adminApi(options.plane.url, options.adminToken);
    n.say('Warrant demo: one person, three agents, three tools, every call decided at the gateway.');
    n.say(`   person        ${ALICE} (signed in through a dev identity provider)`);
    n.say(`   orchestrator  ${orchestrator.agentId}`);
    n.say(`   research      ${researcher.agentId}`);
    n.say(`   payments      ${payments.agentId} (an A2A agent)`);
    n.say(`   gateway       ${world.gatewayUrl}   STS ${options.plane.url}`);

    const story = await delegate(n, world);
    await research(n, world, story, admin);
    await payWithApproval(n, world, story, options.plane.url);
    await compromise(n, world, story);
    await quarantine(n, world, story, admin);
    await loop(n, world);
    await rollBack(n, world, story, admin);

    const data =
      options.dataDir === './.warrant' || options.dataDir === '.warrant' ? '' : ` --data ${options.dataDir}`;
    n.say('');
    n.say(`Every decision above is signed into the ledger. The transaction: ${story.txn}`);
    n.say(`   npx warrant audit trace --txn ${story.txn}${data}                  # the calls, hop by hop`);
    n.say(
      `   npx warrant audit report disclosure --txn ${story.txn}${data} --out disclosure.html   # for alice: what was done on her behalf`,
    );
    n.say(
      `   npx warrant audit export${data} --out ledger.jsonl && npx warrant audit verify ledger.jsonl --key "$(npx warrant audit key${data})"`,
    );
    return { lines: n.lines, txn: story.txn, world, close: () => world.close() };
  } catch (error) {
    await world.close();
    throw error;
  }
}

/** The admin API, as the operator (the demo) calls it. */
export type AdminApi = (method: string, path: string, body?: unknown) => Promise<Response>;

function adminApi(stsUrl: string, token: string): AdminApi {
  return (method, path, body) =>
    fetch(`${stsUrl}/admin${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
}
