import { type Command, EXIT } from '../command.ts';

export const configSchemaCommand: Command = {
  name: 'config schema',
  summary: 'print the JSON Schema of the configuration file',
  description:
    'Prints the JSON Schema (draft 2020-12) that every configuration file is validated against.\n' +
    'Point an editor at it with a top-level `$schema` entry for completion and checks.',
  options: {},
  examples: ['warrant config schema > warrant.schema.json'],
  async run(_args, io) {
    const { configSchema } = await import('../../config/validate-config.ts');
    io.out(`${JSON.stringify(configSchema, null, 2)}\n`);
    return EXIT.ok;
  },
};
