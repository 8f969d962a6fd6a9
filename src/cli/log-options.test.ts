import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { afterEach, describe, test } from 'node:test';
import { configureLogs, logSettings } from '../telemetry/settings.ts';
import { EXIT, type Io } from './command.ts';
import { applyLogOptions } from './log-options.ts';
import { runCli } from './run-cli.ts';

function io(env: Record<string, string> = {}): Io & { stdout: string; stderr: string } {
  const result = {
    stdin: Readable.from([]),
    stdout: '',
    stderr: '',
    env,
    out(text: string) {
      result.stdout += text;
    },
    err(text: string) {
      result.stderr += text;
    },
  };
  return result;
}

afterEach(() => configureLogs({}));

describe('--log-level and LOG_LEVEL on the server commands', () => {
  for (const command of ['dev', 'serve', 'gateway']) {
    test(`warrant ${command} --help lists --log-level with the allowed levels`, async () => {
      const out = io();
      assert.equal(await runCli([command, '--help'], out), EXIT.ok);
      assert.match(
        out.stdout,
        /--log-level <level> +log level: fatal, error, warn, info, debug, trace, silent/,
      );
    });

    test(`warrant ${command} --log-level loud is a usage error naming the levels; nothing starts`, async () => {
      const out = io();
      assert.equal(
        await runCli([command, '--log-level', 'loud', '--config', 'missing.yaml'], out),
        EXIT.usage,
      );
      assert.match(out.stderr, /--log-level must be one of fatal, error, warn, info, debug, trace, silent/);
      assert.doesNotMatch(out.stderr, /missing\.yaml/);
      assert.deepEqual(logSettings(), {});
    });

    test(`warrant ${command} with a bad $LOG_LEVEL is a usage error naming LOG_LEVEL`, async () => {
      const out = io({ LOG_LEVEL: 'verbose' });
      assert.equal(await runCli([command, '--config', 'missing.yaml'], out), EXIT.usage);
      assert.match(out.stderr, /LOG_LEVEL must be one of fatal, error/);
    });
  }

  test('the level chosen reaches the settings the servers read before anything else is checked', async () => {
    // serve without --config stops with a usage error after the log options are applied.
    assert.equal(await runCli(['serve', '--log-level', 'debug'], io({ LOG_LEVEL: 'warn' })), EXIT.usage);
    assert.equal(logSettings().level, 'debug');
    assert.equal(await runCli(['gateway'], io({ LOG_LEVEL: 'warn' })), EXIT.usage);
    assert.equal(logSettings().level, 'warn');
    assert.equal(await runCli(['gateway'], io()), EXIT.usage);
    assert.equal(logSettings().level, undefined);
  });
});

describe('applyLogOptions', () => {
  test('flag over environment; pretty as asked (warrant dev on a terminal)', () => {
    applyLogOptions({ 'log-level': 'trace' }, { LOG_LEVEL: 'error' }, true);
    assert.deepEqual(logSettings(), { level: 'trace', pretty: true });
    applyLogOptions({}, { LOG_LEVEL: 'error' }, false);
    assert.deepEqual(logSettings(), { level: 'error', pretty: false });
    applyLogOptions({}, { LOG_LEVEL: '' }, false);
    assert.deepEqual(logSettings(), { pretty: false });
  });
});
