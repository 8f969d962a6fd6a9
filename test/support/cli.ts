/**
 * The `warrant` CLI run in this process (runCli, the same entry point as bin/warrant.js), against an STS at
 * `url` with `token` as the admin credential in the environment; what it printed and its exit code.
 */
import { Readable } from 'node:stream';
import { runCli } from '../../src/cli/run-cli.ts';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function warrantAt(url: string, args: readonly string[], token?: string): Promise<CliResult> {
  return warrantInProcess(args, {
    WARRANT_URL: url,
    ...(token === undefined ? {} : { WARRANT_ADMIN_TOKEN: token }),
  });
}

/** `warrant …` in this process with exactly `env` as its environment (empty: nothing configured). */
export async function warrantInProcess(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdin: Readable.from([]),
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
    env,
  });
  return { code, stdout, stderr };
}
