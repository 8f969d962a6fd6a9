import packageJson from '../../package.json' with { type: 'json' };
import { isWarrantError } from '../core/errors.ts';
import {
  CliError,
  type Command,
  commandHelp,
  EXIT,
  type Io,
  parseCommandArgs,
  UsageError,
  wantsHelp,
} from './command.ts';
import { COMMANDS } from './commands/index.ts';

/** Runs one command line (without `node` and the script) and returns the exit code. Never throws. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.err(globalHelp());
    return EXIT.usage;
  }
  if (first === '--help' || first === '-h') {
    io.out(globalHelp());
    return EXIT.ok;
  }
  if (first === '--version') {
    io.out(`${packageJson.version}\n`);
    return EXIT.ok;
  }
  if (first === 'help') return help(rest, io);
  if (first.startsWith('-')) return usage(io, 'warrant', `unknown option ${first}`);

  const found = findCommand(argv);
  if (!found) {
    const sub = subcommandsOf(first);
    if (sub.length === 0) return usage(io, 'warrant', `unknown command ${JSON.stringify(first)}`);
    const [second] = rest;
    if (second === '--help' || second === '-h') {
      io.out(groupHelp(first, sub));
      return EXIT.ok;
    }
    if (second === undefined) {
      io.err(groupHelp(first, sub));
      return EXIT.usage;
    }
    return usage(io, `warrant ${first}`, `unknown command ${JSON.stringify(second)}`);
  }

  const { command, args } = found;
  if (wantsHelp(args)) {
    io.out(commandHelp(command));
    return EXIT.ok;
  }
  try {
    // A command that is not built yet says so, whatever its arguments.
    const parsed = command.coming ? { values: {}, positionals: [] } : parseCommandArgs(command, args);
    return await command.run(parsed, io);
  } catch (error) {
    return report(error, command, io);
  }
}

function findCommand(argv: readonly string[]): { command: Command; args: readonly string[] } | undefined {
  const two = COMMANDS.find((c) => c.name === `${argv[0]} ${argv[1]}`);
  if (two) return { command: two, args: argv.slice(2) };
  const one = COMMANDS.find((c) => c.name === argv[0]);
  if (one) return { command: one, args: argv.slice(1) };
  return undefined;
}

function subcommandsOf(group: string): Command[] {
  return COMMANDS.filter((c) => c.name.startsWith(`${group} `));
}

function help(topic: readonly string[], io: Io): number {
  if (topic.length === 0) {
    io.out(globalHelp());
    return EXIT.ok;
  }
  const found = findCommand(topic);
  if (found && found.args.length === 0) {
    io.out(commandHelp(found.command));
    return EXIT.ok;
  }
  const sub = subcommandsOf(topic[0]!);
  if (sub.length > 0 && topic.length === 1) {
    io.out(groupHelp(topic[0]!, sub));
    return EXIT.ok;
  }
  return usage(io, 'warrant help', `unknown command ${JSON.stringify(topic.join(' '))}`);
}

function usage(io: Io, prefix: string, message: string): number {
  io.err(
    `${prefix}: ${message}\nRun \`${prefix === 'warrant help' ? 'warrant' : prefix} --help\` for usage.\n`,
  );
  return EXIT.usage;
}

function report(error: unknown, command: Command, io: Io): number {
  const prefix = `warrant ${command.name}`;
  if (error instanceof UsageError) return usage(io, prefix, error.message);
  const debug = io.env['WARRANT_DEBUG'] === '1';
  if (error instanceof CliError) {
    io.err(`${prefix}: ${error.message}\n${error.hint}\n`);
  } else if (isWarrantError(error)) {
    io.err(`${prefix}: ${error.message} (${error.code})\nRun again with WARRANT_DEBUG=1 for details.\n`);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    io.err(
      `${prefix}: unexpected error: ${message}\n` +
        'This is likely a bug: run again with WARRANT_DEBUG=1 and report the output.\n',
    );
  }
  if (debug) io.err(`${stackOf(error)}\n`);
  return EXIT.failure;
}

function stackOf(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    parts.push(current instanceof Error ? (current.stack ?? current.message) : String(current));
    current = current instanceof Error ? current.cause : undefined;
    if (current !== undefined) parts.push('caused by:');
  }
  return parts.join('\n');
}

function globalHelp(): string {
  const rows = COMMANDS.map((c) => ({ left: c.name, right: c.coming ? `${c.summary} (coming)` : c.summary }));
  const width = Math.max(...rows.map((r) => r.left.length)) + 3;
  return [
    `warrant ${packageJson.version}: identity, delegation chains, gateway and audit ledger for AI agents`,
    '',
    'Usage: warrant <command> [options]',
    '',
    'Commands:',
    ...rows.map((r) => `  ${r.left.padEnd(width)}${r.right}`),
    '',
    'Options:',
    '  -h, --help     show help (also after any command: warrant keygen --help)',
    '      --version  print the version',
    '',
    'Commands marked (coming) are not implemented yet.',
    'Exit codes: 0 ok, 1 failure, 2 usage error. WARRANT_DEBUG=1 prints stack traces on failure.',
    '',
  ].join('\n');
}

function groupHelp(group: string, commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 3;
  return [
    `Usage: warrant ${group} <command> [options]`,
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.coming ? `${c.summary} (coming)` : c.summary}`),
    '',
    `Run \`warrant ${group} <command> --help\` for its options and an example.`,
    '',
  ].join('\n');
}
