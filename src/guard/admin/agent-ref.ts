/**
 * An agent named in a guard admin path (`/admin/agents/{id}/…`): its SPIFFE ID, or its name in this trust
 * domain — as the STS's own agent endpoints accept it.
 */
import { bad } from '../../sts/admin-input.ts';

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const SPIFFE = /^spiffe:\/\/[a-z0-9.-]{1,253}\/[!-~]{1,2000}$/;

export function agentIdOf(ref: string, trustDomain: string): string {
  if (SPIFFE.test(ref)) return ref;
  if (NAME.test(ref)) return `spiffe://${trustDomain}/agent/${ref}`;
  throw bad('the agent must be a name (lowercase letters, digits, dashes) or a spiffe:// ID');
}
