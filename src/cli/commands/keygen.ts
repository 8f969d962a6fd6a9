import { resolve } from 'node:path';
import { type Alg, isAlg } from '../../core/jose/algorithms.ts';
import { generateSigningKey } from '../../core/jose/jwk.ts';
import { CliError, type Command, EXIT, UsageError } from '../command.ts';
import { KeyFileError, writePrivateKeyFile } from '../key-file.ts';

export const keygen: Command = {
  name: 'keygen',
  summary: 'an agent key pair (private file 0600, public printed)',
  description:
    'Generates an agent key pair. The private JWK is written to --out with mode 0600 (never overwritten\n' +
    'unless --force); the public JWK, with kid = its RFC 7638 thumbprint, is printed to standard output.\n' +
    'Register the public key with the STS; keep the private file on the agent only.',
  options: {
    out: {
      type: 'string',
      short: 'o',
      value: 'file',
      description: 'where to write the private JWK (required)',
    },
    alg: {
      type: 'string',
      value: 'EdDSA|ES256',
      description: 'key algorithm: EdDSA (Ed25519, default) or ES256 (P-256)',
    },
    force: { type: 'boolean', description: 'replace an existing file' },
    json: { type: 'boolean', description: 'print {kid, publicJwk, path} as JSON' },
  },
  examples: ['warrant keygen --out agent.jwk', 'warrant keygen --out agent.jwk --alg ES256 --json'],
  async run({ values }, io) {
    const out = values['out'];
    if (typeof out !== 'string' || out === '') throw new UsageError('--out <file> is required');
    const alg = values['alg'] ?? 'EdDSA';
    if (!isAlg(alg)) throw new UsageError('--alg expects EdDSA or ES256');
    const key = generateSigningKey(alg as Alg);
    const path = resolve(out);
    try {
      writePrivateKeyFile(path, key, { overwrite: values['force'] === true });
    } catch (error) {
      if (error instanceof KeyFileError) throw new CliError(error.message, error.hint, { cause: error });
      throw error;
    }
    if (values['json'] === true) {
      io.out(`${JSON.stringify({ kid: key.kid, publicJwk: key.jwk, path }, null, 2)}\n`);
    } else {
      io.out(`${JSON.stringify(key.jwk, null, 2)}\n`);
      io.err(`wrote the private key to ${path} (mode 0600); kid ${key.kid}\n`);
    }
    return EXIT.ok;
  },
};
