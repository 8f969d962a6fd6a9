/**
 * The demo's payments agent: an A2A agent built from the official `@a2a-js/sdk` server (its
 * `DefaultRequestHandler` behind the express JSON-RPC and agent-card integrations). Two skills: `quote`
 * (what a transfer would cost) and `transfer` (moves money). The card's interface points at the gateway,
 * so clients never reach the agent directly.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AGENT_CARD_PATH, AgentCard, Message } from '@a2a-js/sdk';
import {
  AgentEvent,
  type AgentExecutor,
  DefaultRequestHandler,
  type ExecutionEventBus,
  InMemoryTaskStore,
  type RequestContext,
} from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';
import express from 'express';

export interface PaymentsAgent {
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** Transfers the agent carried out (`<amount> EUR to <to>`). */
  readonly transfers: string[];
}

class PaymentsExecutor implements AgentExecutor {
  readonly transfers: string[] = [];

  async execute(ctx: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const meta = ctx.userMessage.metadata ?? {};
    const amount = Number(meta['amount']);
    const to = String(meta['to'] ?? 'unknown');
    let said: string;
    if (meta['skill'] === 'transfer') {
      this.transfers.push(`${amount} EUR to ${to}`);
      said = `transferred ${amount} EUR to ${to}`;
    } else {
      said = `a transfer of ${amount} EUR to ${to} costs 0.50 EUR`;
    }
    bus.publish(
      AgentEvent.message(
        Message.fromJSON({
          messageId: crypto.randomUUID(),
          contextId: ctx.contextId,
          role: 'ROLE_AGENT',
          parts: [{ text: said }],
        }),
      ),
    );
    bus.finished();
  }

  async cancelTask(): Promise<void> {}
}

/** The agent's express app, to be served on a local port; its card advertises `publicUrl` (the gateway). */
export function paymentsAgent(publicUrl: string): PaymentsAgent {
  const card = AgentCard.fromJSON({
    name: 'Payments',
    description: 'Quotes and makes transfers for the finance team.',
    version: '1.0.0',
    supportedInterfaces: [{ url: publicUrl, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
    capabilities: { streaming: false, pushNotifications: false },
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [
      { id: 'quote', name: 'Quote', description: 'What a transfer would cost', tags: ['payments'] },
      { id: 'transfer', name: 'Transfer', description: 'Moves money to an account', tags: ['payments'] },
    ],
  });
  const executor = new PaymentsExecutor();
  const requestHandler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor);
  const app = express();
  app.use(`/${AGENT_CARD_PATH}`, agentCardHandler({ agentCardProvider: async () => card }));
  app.use('/', jsonRpcHandler({ requestHandler, userBuilder: UserBuilder.noAuthentication }));
  return { handler: app as unknown as PaymentsAgent['handler'], transfers: executor.transfers };
}
