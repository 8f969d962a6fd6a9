import { type Command, EXIT } from '../command.ts';

export const configSchemaCommand: Command = {
  name: 'config schema',
  summary: 'print the JSON Schema of the configuration file (or of the action catalog)',
  description:
    'Prints the JSON Schema (draft 2020-12) that every configuration file is validated against, or with\n' +
    '--catalog the one every action catalog file (guard.catalog) is validated against.\n' +
    'Point an editor at it with a top-level `$schema` entry for completion and checks.',
  options: {
    catalog: { type: 'boolean', description: 'print the schema of the action catalog file instead' },
  },
  examples: [
    'warrant config schema > warrant.schema.json',
    'warrant config schema --catalog > catalog.schema.json',
  ],
  async run({ values }, io) {
    const schema =
      values['catalog'] === true
        ? (await import('../../guard/catalog.ts')).catalogSchema
        : (await import('../../config/validate-config.ts')).configSchema;
    io.out(`${JSON.stringify(schema, null, 2)}\n`);
    return EXIT.ok;
  },
};
