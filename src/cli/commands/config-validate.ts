import type { WarrantConfig } from '../../config/types.ts';
import { ConfigError } from '../../core/errors.ts';
import { CliError, type Command, EXIT, UsageError } from '../command.ts';
import { loadCliConfig } from '../config-file.ts';

export const configValidate: Command = {
  name: 'config validate',
  summary: 'check a configuration file (and its action catalog) against the schemas',
  description:
    'Reads a YAML or JSON configuration file, validates it against the schema (`warrant config schema`)\n' +
    'and reports the first failing option by its JSON pointer. The action catalog it names\n' +
    '(guard.catalog) is validated too, against its own schema (`warrant config schema --catalog`), and\n' +
    'a failure names the catalog file and the JSON pointer inside it. With --json, prints the effective\n' +
    'configuration with every default filled in. Without a file, validates the defaults.',
  options: {
    config: {
      type: 'string',
      short: 'c',
      value: 'file',
      description: 'the configuration file (or give it as the argument)',
    },
    json: {
      type: 'boolean',
      description: 'print {valid, file, config} (or {valid, file, path, message}) as JSON',
    },
  },
  positional: { name: '<file>', description: 'the configuration file', required: false },
  examples: ['warrant config validate warrant.yaml', 'warrant config validate --config warrant.yaml --json'],
  async run({ values, positionals }, io) {
    const flag = values['config'] as string | undefined;
    if (flag !== undefined && positionals[0] !== undefined) {
      throw new UsageError('give the file either as --config or as the argument, not both');
    }
    const file = flag ?? positionals[0];
    let config: WarrantConfig;
    try {
      config = await loadCliConfig(file);
    } catch (error) {
      if (values['json'] === true && error instanceof CliError && error.cause instanceof ConfigError) {
        const { path, message } = error.cause;
        io.out(`${JSON.stringify({ valid: false, file: file ?? null, path, message }, null, 2)}\n`);
      }
      throw error;
    }
    const catalog = config.guard.catalog;
    let actions: number | undefined;
    if (catalog !== undefined) {
      const { ActionCatalog, CatalogError } = await import('../../guard/catalog.ts');
      try {
        actions = ActionCatalog.fromFile(catalog).actions.length;
      } catch (error) {
        if (!(error instanceof CatalogError)) throw error;
        if (values['json'] === true) {
          const out = { valid: false, file: catalog, path: error.path, message: error.reason };
          io.out(`${JSON.stringify(out, null, 2)}\n`);
        }
        throw new CliError(
          `invalid action catalog ${catalog}${error.path === '' ? '' : ` at ${error.path}`}: ${error.reason}`,
          'Fix that entry (see docs/catalog.md or `warrant config schema --catalog`), then run again.',
          { cause: error },
        );
      }
    }
    if (values['json'] === true) {
      io.out(`${JSON.stringify({ valid: true, file: file ?? null, config }, null, 2)}\n`);
    } else {
      const also = catalog === undefined ? '' : ` (action catalog ${catalog}: ${actions} actions, valid)`;
      io.out(file === undefined ? 'no file given: the defaults are valid\n' : `${file} is valid${also}\n`);
    }
    return EXIT.ok;
  },
};
