/**
 * The demo's CRM: a plain HTTP tool where an agent files notes (`POST /notes` → 201 `{id}`) that can be
 * taken back (`DELETE /notes/{id}`, the catalog's compensation). A delete honours `Idempotency-Key`: a key
 * seen before is answered again without deleting twice, as `warrant contain` expects of an upstream.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface CrmNotes {
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** Notes on file, by id. */
  readonly notes: Map<string, string>;
  /** Ids deleted by a compensation, in order. */
  readonly rolledBack: string[];
}

export function crmNotes(): CrmNotes {
  const notes = new Map<string, string>();
  const rolledBack: string[] = [];
  const seenKeys = new Set<string>();
  let next = 1;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const json = (status: number, value: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      };
      if (req.method === 'POST' && path === '/notes') {
        let text = '';
        try {
          text = String((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text?: unknown }).text);
        } catch {
          return json(400, { error: 'expected JSON {text}' });
        }
        const id = `note-${next++}`;
        notes.set(id, text);
        return json(201, { id });
      }
      const del = /^\/notes\/([^/]+)$/.exec(path);
      if (req.method === 'DELETE' && del) {
        const id = decodeURIComponent(del[1]!);
        const key = String(req.headers['idempotency-key'] ?? '');
        if (key !== '' && seenKeys.has(key)) return json(200, { id, deleted: true, replayed: true });
        if (key !== '') seenKeys.add(key);
        if (notes.delete(id)) rolledBack.push(id);
        return json(200, { id, deleted: true });
      }
      json(404, { error: 'no such path' });
    });
  };
  return { handler, notes, rolledBack };
}
