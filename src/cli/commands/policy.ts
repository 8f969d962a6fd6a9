import { statSync } from 'node:fs';
import { isWarrantError } from '../../core/errors.ts';
import type { PolicyDiagnostic } from '../../policy/policy-error.ts';
import { ADMIN_OPTIONS, adminClient, printJson } from '../admin-client.ts';
import { CliError, type Command, EXIT, UsageError } from '../command.ts';

export const policyValidate: Command = {
  name: 'policy validate',
  summary: 'check Cedar policies against their schema (offline)',
  description:
    'Parses Cedar policy files and validates them, in strict mode, against the schema: the same check the\n' +
    'STS runs when it starts or reloads its policy. Several --policies files form one policy set, joined in\n' +
    'the order given. Without --policies, the shipped policies/ (delegation.cedar, action.cedar) are\n' +
    'checked; without --schema, policies/schema.cedarschema is used. Prints the policy set version (the\n' +
    'hash written into every decision) and the policy ids; on failure, every problem with its file, line\n' +
    'and policy id, and exits 1. Nothing is sent anywhere.',
  options: {
    policies: { type: 'string', value: 'file', multiple: true, description: 'a Cedar policy file (.cedar)' },
    schema: { type: 'string', value: 'file', description: 'the Cedar schema (.cedarschema)' },
    json: {
      type: 'boolean',
      description: 'print {valid, name, version, policyIds, warnings} (or {valid, diagnostics}) as JSON',
    },
  },
  examples: [
    'warrant policy validate',
    'warrant policy validate --policies policies/delegation.cedar --policies my-rules.cedar --schema policies/schema.cedarschema',
  ],
  async run(args, io) {
    const files = args.values['policies'] as readonly string[] | undefined;
    const schemaFlag = args.values['schema'] as string | undefined;
    if (files?.some((f) => f === '') || schemaFlag === '')
      throw new UsageError('--policies and --schema expect a file');
    // Unreadable files fail before Cedar (WebAssembly, slow to start) is loaded, which happens for this command only.
    for (const path of [...(files ?? []), ...(schemaFlag === undefined ? [] : [schemaFlag])]) readable(path);
    const { DEFAULT_POLICY_FILES, DEFAULT_SCHEMA_FILE, loadPolicyFiles, PolicyError, formatDiagnostic } =
      await import('../../policy/index.ts');
    const paths = files ?? DEFAULT_POLICY_FILES;
    const schema = schemaFlag ?? DEFAULT_SCHEMA_FILE;
    const json = args.values['json'] === true;
    try {
      const set = loadPolicyFiles(paths, schema, files === undefined ? { name: 'default' } : {});
      if (json) {
        printJson(io, {
          valid: true,
          name: set.name,
          version: set.version,
          policyIds: set.policyIds,
          warnings: set.warnings,
          files: paths,
          schema,
        });
      } else {
        io.out(
          `valid: ${set.policyIds.length} ${set.policyIds.length === 1 ? 'policy' : 'policies'} (${set.name})\n` +
            `version   ${set.version}\n` +
            `policies  ${set.policyIds.join(', ')}\n`,
        );
        for (const warning of set.warnings) io.err(`warning: ${warning}\n`);
      }
      return EXIT.ok;
    } catch (error) {
      if (typeof (error as NodeJS.ErrnoException).code === 'string' && !isWarrantError(error)) {
        throw unreadable((error as NodeJS.ErrnoException).path ?? 'a policy file', error);
      }
      if (!(error instanceof PolicyError)) throw error;
      const diagnostics: readonly PolicyDiagnostic[] = error.diagnostics;
      if (json) printJson(io, { valid: false, code: error.code, diagnostics });
      throw new CliError(
        `invalid policy set (${error.code}), ${diagnostics.length} problem(s):\n` +
          diagnostics.map((d) => `  ${formatDiagnostic(d)}`).join('\n'),
        'Fix the policies (or the schema) at the places shown, then run again.',
      );
    }
  },
};

function readable(path: string): void {
  try {
    if (!statSync(path).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
  } catch (error) {
    throw unreadable(path, error);
  }
}

function unreadable(path: string, error: unknown): CliError {
  const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
  return new CliError(`cannot read ${path} (${code})`, 'Check the paths given with --policies and --schema.');
}

export const policyReload: Command = {
  name: 'policy reload',
  summary: 'make the running STS reload its delegation policy',
  description:
    'Asks the STS to read and validate its delegation policy files again. If they are invalid the STS\n' +
    'keeps the current policy and this command exits 1 with the problems. If the policy changed, live\n' +
    'warrants the new policy no longer permits are revoked; the answer says how many. Check the files\n' +
    'first with `warrant policy validate`.',
  options: {
    ...ADMIN_OPTIONS,
    json: { type: 'boolean', description: 'print {version, previous, revoked} as JSON' },
  },
  examples: ['warrant policy validate --policies policies/delegation.cedar && warrant policy reload'],
  async run(args, io) {
    const client = adminClient(args, io);
    const result = await client.request<{ version: string; previous: string; revoked: number }>(
      'POST',
      '/policy/reload',
    );
    if (args.values['json'] === true) printJson(io, result);
    else if (result.version === result.previous) io.out(`policy unchanged (${result.version})\n`);
    else {
      io.out(
        `policy reloaded: ${result.previous} -> ${result.version}\n` +
          `revoked ${result.revoked} live warrant(s) the new policy no longer permits\n`,
      );
    }
    return EXIT.ok;
  },
};

export const keysRotate: Command = {
  name: 'keys rotate',
  summary: 'rotate the STS signing key',
  description:
    'Makes the STS sign with a new key. The old key stays in the JWKS for the configured overlap\n' +
    '(sts.keyRotation.overlapSeconds), so tokens it signed keep verifying until they expire. Prints the\n' +
    'new key id; with --json also the JWKS now published.',
  options: { ...ADMIN_OPTIONS, json: { type: 'boolean', description: 'print {kid, jwks} as JSON' } },
  examples: ['warrant keys rotate', 'warrant keys rotate --url https://sts.example.org --json'],
  async run(args, io) {
    const client = adminClient(args, io);
    const result = await client.request<{ kid: string; activeFrom?: number; jwks: { keys: unknown[] } }>(
      'POST',
      '/keys/rotate',
    );
    if (args.values['json'] === true) printJson(io, result);
    else {
      io.out(`new signing key ${result.kid}\n`);
      io.err(`the JWKS at ${client.url}/jwks now publishes ${result.jwks.keys.length} key(s)\n`);
      if (result.activeFrom !== undefined && result.activeFrom * 1000 > Date.now())
        io.err(`it signs from ${new Date(result.activeFrom * 1000).toISOString()} (published first)\n`);
    }
    return EXIT.ok;
  },
};
