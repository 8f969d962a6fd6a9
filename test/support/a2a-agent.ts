/**
 * A real A2A agent for gateway tests, built from the official `@a2a-js/sdk` server (its
 * `DefaultRequestHandler` behind the express JSON-RPC and agent-card integrations), plus client-side
 * helpers that make the SDK client present a DPoP-bound warrant through the gateway.
 *
 * The executor echoes a message back; a message whose metadata says `mode: 'stream'` runs as a task
 * that publishes several status and artifact events `STREAM_GAP_MS` apart, noting when each was
 * published so tests can prove the gateway passes them on as they come.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import {
  AGENT_CARD_PATH,
  AgentCard,
  Message,
  Task,
  TaskArtifactUpdateEvent,
  TaskStatusUpdateEvent,
} from '@a2a-js/sdk';
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
import type { AgentClient } from '../../src/sdk/agent-client.ts';

/** Delay between the streamed events of one task. */
export const STREAM_GAP_MS = 300;
/** Chunks of the streamed artifact. */
export const STREAM_CHUNKS = ['alpha ', 'beta ', 'gamma'];

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

export interface PublishedEvent {
  readonly label: string;
  /** `performance.now()` when the executor published it. */
  readonly at: number;
}

export interface A2aAgent {
  /** The upstream handler (an express app) for the gateway harness. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** Every request that reached the agent, as it arrived. */
  readonly seen: SeenRequest[];
  /** Events the executor published, per task id, in order. */
  readonly published: Map<string, PublishedEvent[]>;
  /** Task ids the executor was asked to cancel. */
  readonly cancelled: string[];
  /** Points the card's interfaces at `url` (the gateway), so clients never reach the agent directly. */
  setPublicUrl(url: string): void;
  /** Replaces the card's skills (a changed skill: what pinned tools quarantine). */
  setSkills(skills: readonly Record<string, unknown>[]): void;
  card(): AgentCard;
}

const text = (value: string) => ({ text: value });

function userText(message: Message): string {
  return message.parts
    .map((p) => (p.content?.$case === 'text' ? p.content.value : ''))
    .join('')
    .trim();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class EchoStreamingExecutor implements AgentExecutor {
  readonly published = new Map<string, PublishedEvent[]>();
  readonly cancelled: string[] = [];

  async execute(ctx: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const input = ctx.userMessage;
    const said = userText(input);
    if (input.metadata?.['mode'] !== 'stream') {
      bus.publish(
        AgentEvent.message(
          Message.fromJSON({
            messageId: crypto.randomUUID(),
            contextId: ctx.contextId,
            role: 'ROLE_AGENT',
            parts: [text(`echo: ${said}`)],
          }),
        ),
      );
      bus.finished();
      return;
    }
    const log: PublishedEvent[] = [];
    this.published.set(ctx.taskId, log);
    const publish = (label: string, event: Parameters<ExecutionEventBus['publish']>[0]) => {
      log.push({ label, at: performance.now() });
      bus.publish(event);
    };
    const ids = { taskId: ctx.taskId, contextId: ctx.contextId };
    const status = (state: string, note?: string) =>
      TaskStatusUpdateEvent.fromJSON({
        ...ids,
        status: {
          state,
          ...(note
            ? {
                message: {
                  messageId: crypto.randomUUID(),
                  ...ids,
                  role: 'ROLE_AGENT',
                  parts: [text(note)],
                },
              }
            : {}),
        },
      });
    publish(
      'task',
      AgentEvent.task(
        Task.fromJSON({
          id: ctx.taskId,
          contextId: ctx.contextId,
          status: { state: 'TASK_STATE_SUBMITTED' },
        }),
      ),
    );
    await sleep(STREAM_GAP_MS);
    publish('working', AgentEvent.statusUpdate(status('TASK_STATE_WORKING', `working on: ${said}`)));
    for (const [i, chunk] of STREAM_CHUNKS.entries()) {
      await sleep(STREAM_GAP_MS);
      publish(
        `chunk-${i}`,
        AgentEvent.artifactUpdate(
          TaskArtifactUpdateEvent.fromJSON({
            ...ids,
            artifact: { artifactId: 'answer', name: 'answer', parts: [text(chunk)] },
            append: i > 0,
            lastChunk: i === STREAM_CHUNKS.length - 1,
          }),
        ),
      );
    }
    await sleep(STREAM_GAP_MS);
    publish('completed', AgentEvent.statusUpdate(status('TASK_STATE_COMPLETED')));
    bus.finished();
  }

  async cancelTask(taskId: string, bus: ExecutionEventBus): Promise<void> {
    this.cancelled.push(taskId);
    bus.publish(
      AgentEvent.statusUpdate(
        TaskStatusUpdateEvent.fromJSON({ taskId, contextId: '', status: { state: 'TASK_STATE_CANCELED' } }),
      ),
    );
    bus.finished();
  }
}

/** Starts nothing: returns the agent's handler, to be served by the gateway harness as an upstream. */
export function createA2aAgent(): A2aAgent {
  let card = AgentCard.fromJSON({
    name: 'Researcher',
    description: 'Echoes messages and streams a three-part answer.',
    version: '1.0.0',
    supportedInterfaces: [
      { url: 'http://unset.invalid', protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
    ],
    capabilities: { streaming: true, pushNotifications: false },
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [{ id: 'research', name: 'Research', description: 'Looks things up', tags: ['research'] }],
  });
  const executor = new EchoStreamingExecutor();
  const requestHandler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor);
  // The handler reads its card for version checks; keep it in step with the published one.
  requestHandler.getAgentCard = async () => card;
  const seen: SeenRequest[] = [];
  const app = express();
  app.use((req, _res, next) => {
    seen.push({ method: req.method, path: req.originalUrl, headers: { ...req.headers } });
    next();
  });
  app.use(`/${AGENT_CARD_PATH}`, agentCardHandler({ agentCardProvider: async () => card }));
  app.use(
    '/',
    jsonRpcHandler({
      requestHandler,
      userBuilder: UserBuilder.noAuthentication,
      legacyCompat: { enabled: true },
    }),
  );
  return {
    handler: app as unknown as A2aAgent['handler'],
    seen,
    published: executor.published,
    cancelled: executor.cancelled,
    setPublicUrl(url) {
      card = AgentCard.fromJSON({
        ...(AgentCard.toJSON(card) as object),
        supportedInterfaces: [
          { url, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
          { url, protocolBinding: 'JSONRPC', protocolVersion: '0.3' },
        ],
      });
    },
    setSkills(skills) {
      card = AgentCard.fromJSON({ ...(AgentCard.toJSON(card) as object), skills });
    },
    card: () => card,
  };
}

/**
 * A `fetch` for the SDK client that presents `warrant` as `Authorization: DPoP <warrant>` with a fresh
 * DPoP proof for each request's method and URL, as the agent `client` (the warrant's key holder).
 */
export function dpopFetch(client: AgentClient, warrant: () => string): typeof fetch {
  return (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    const token = warrant();
    headers.set('authorization', `DPoP ${token}`);
    headers.set('dpop', client.dpopProof(method, url.split('?')[0]!, token));
    return fetch(input, { ...init, headers });
  };
}

/** A user message for the SDK client's `sendMessage` / `sendMessageStream`. */
export function userMessage(said: string, metadata?: Record<string, unknown>): Message {
  return Message.fromJSON({
    messageId: crypto.randomUUID(),
    role: 'ROLE_USER',
    parts: [text(said)],
    ...(metadata ? { metadata } : {}),
  });
}
