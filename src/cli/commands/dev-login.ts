import { ADMIN_OPTIONS, adminClient, JSON_OPTION, printJson } from '../admin-client.ts';
import { type Command, EXIT, UsageError } from '../command.ts';

interface DevLogin {
  readonly person: string;
  readonly agent: string;
  readonly issuer: string;
  readonly form: 'id-jag' | 'id-token';
  readonly subject_token: string;
  readonly subject_token_type: string;
  readonly expires_in: number;
}

export const devLogin: Command = {
  name: 'dev login',
  summary: "print a person's assertion for an agent (warrant dev only)",
  description:
    'Asks the running `warrant dev` for an assertion of <person> from its dev identity provider, addressed\n' +
    'to one agent, and prints it: the subject_token of that agent’s root exchange (docs/sdk.md). By default\n' +
    'an ID-JAG (aud: the STS, client_id: the agent; single use, 5 minutes); --id-token prints an OpenID\n' +
    'Connect ID token addressed to the agent’s client id at the dev provider instead. Development only:\n' +
    'the dev provider lets anyone say who they are, so `warrant serve` does not run it unless\n' +
    'sts.devUserIssuer.enabled is set; elsewhere this command is refused. Uses the admin credential.',
  options: {
    agent: { type: 'string', value: 'name|id', description: 'the agent the assertion is for (required)' },
    'id-token': {
      type: 'boolean',
      description: 'an ID token for the agent’s client id instead of an ID-JAG',
    },
    ...ADMIN_OPTIONS,
    json: { ...JSON_OPTION, description: 'print the assertion with its type, issuer and lifetime as JSON' },
  },
  positional: { name: '<person>', description: 'who signs in (e.g. alice@example.org)', required: true },
  examples: [
    'warrant dev login alice@example.org --agent planner',
    'JAG=$(warrant dev login alice@example.org --agent planner)',
    'warrant dev login alice@example.org --agent planner --id-token --json',
  ],
  async run(args, io) {
    const person = args.positionals[0];
    const agent = args.values['agent'];
    if (person === undefined || person === '')
      throw new UsageError('say who signs in: warrant dev login <person>');
    if (typeof agent !== 'string' || agent === '')
      throw new UsageError('say which agent the assertion is for: --agent <name|id>');
    const form = args.values['id-token'] === true ? 'id-token' : 'id-jag';
    const answer = await adminClient(args, io).request<DevLogin>('POST', '/dev/login', {
      person,
      agent,
      form,
    });
    if (args.values['json'] === true) printJson(io, answer);
    else io.out(`${answer.subject_token}\n`);
    return EXIT.ok;
  },
};
