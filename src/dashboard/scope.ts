/**
 * What a session may see (DESIGN §10): an operator sees every record; a person sees the records made on
 * their behalf — those whose `person` is them (`sub` and `iss`) — and nothing else.
 */
import type { DecisionRecord } from '../ledger/decision-log.ts';
import { forbidden } from './answers.ts';
import type { Session } from './sessions.ts';

export function maySee(session: Session, record: DecisionRecord): boolean {
  if (session.role === 'operator') return true;
  const p = record.person;
  return (
    p !== undefined &&
    session.person !== undefined &&
    p.sub === session.person.sub &&
    p.iss === session.person.iss
  );
}

export function operatorOnly(session: Session): void {
  if (session.role !== 'operator') throw forbidden('operators only');
}
