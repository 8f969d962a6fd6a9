/** Short labels for long identifiers (the full value stays in the title). */
export function shortAgent(id: string | undefined): string {
  if (id === undefined) return '—';
  const m = /\/agent\/(.+)$/.exec(id);
  return m ? m[1]! : id;
}

export function time(value: string | number | undefined): string {
  if (value === undefined) return '—';
  const d = typeof value === 'number' ? new Date(value < 1e12 ? value * 1000 : value) : new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toLocaleString();
}

/** A grant as `action on resource {constraints}`, as text. */
export function grantText(grant: unknown): string {
  if (grant && typeof grant === 'object') {
    const g = grant as { action?: unknown; resource?: unknown; constraints?: unknown };
    if (typeof g.action === 'string' && typeof g.resource === 'string')
      return `${g.action} on ${g.resource}${g.constraints === undefined ? '' : ` ${JSON.stringify(g.constraints)}`}`;
  }
  return JSON.stringify(grant);
}
