import type { ConfigOverrides, WarrantConfig } from '../config/types.ts';
import { ConfigError } from '../core/errors.ts';
import { CliError } from './command.ts';

/**
 * Loads the configuration for a command; a schema failure becomes a message naming the file and the option.
 * The loader (YAML, Ajv) is imported on first use, so commands that need no configuration start faster.
 */
export async function loadCliConfig(
  path: string | undefined,
  overrides?: ConfigOverrides,
): Promise<WarrantConfig> {
  const { loadConfig } = await import('../config/load-config.ts');
  try {
    return loadConfig(path, overrides);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const source = path ?? 'the command-line options';
    const reason = error.message.slice(error.message.indexOf(': ') + 2);
    if (error.path === '' && reason.startsWith('cannot read')) {
      throw new CliError(reason, 'Check the path given with --config (without a file, the defaults apply).', {
        cause: error,
      });
    }
    throw new CliError(
      error.path === ''
        ? `invalid configuration in ${source}: ${reason}`
        : `invalid configuration in ${source} at ${error.path}: ${reason}`,
      error.path === ''
        ? 'Fix the file (YAML or JSON, one mapping of options), then run again.'
        : 'Fix that option (see docs/configuration.md or `warrant config schema`), then run again.',
      { cause: error },
    );
  }
}

/** The `--config` option of the server commands that cannot run without a configuration file. */
export const REQUIRED_CONFIG_OPTION = Object.freeze({
  config: {
    type: 'string',
    short: 'c',
    value: 'file',
    description: 'configuration file (YAML or JSON), required',
  },
} as const);
