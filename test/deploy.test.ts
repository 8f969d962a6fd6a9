/**
 * The deployment recipes (docs/deployment.md) — checked here for what can be checked without Docker or a
 * Kubernetes cluster (neither exists on the development machine): the manifests parse, the configuration
 * in the ConfigMap is valid and is a scaled-out one (the same checks as `warrant cluster up`), both
 * Deployments probe /healthz and /readyz and run as non-root with a read-only root file system, and the
 * image recipe is multi-stage, Node 24, non-root.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { checkClusterConfig } from '../src/cluster/launcher.ts';
import { loadConfig } from '../src/config/load-config.ts';

const root = new URL('../', import.meta.url);
const manifests = (file: string): unknown[] =>
  parseAllDocuments(readFileSync(new URL(`deploy/k8s/${file}`, root), 'utf8')).map((d) => d.toJS());
/** The value at `path` inside a parsed manifest (undefined when absent). */
const at = (value: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((v, k) => (v as Record<string | number, unknown> | undefined)?.[k], value);

test('the ConfigMap holds a valid scaled-out configuration; the Secret names what replicas share', () => {
  const [configMap, secret] = manifests('config.yaml');
  assert.equal(at(configMap, 'kind'), 'ConfigMap');
  const dir = mkdtempSync(join(tmpdir(), 'warrant-deploy-'));
  try {
    const file = join(dir, 'warrant.yaml');
    writeFileSync(file, String(at(configMap, 'data', 'warrant.yaml')));
    const config = loadConfig(file);
    checkClusterConfig(config);
    assert.equal(config.sts.listen.host, '0.0.0.0');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(at(secret, 'kind'), 'Secret');
  for (const name of [
    'WARRANT_ADMIN_TOKEN',
    'WARRANT_DPOP_NONCE_SECRET',
    'ledger-key.jwk',
    'txn-token-key.jwk',
  ])
    assert.equal(typeof at(secret, 'stringData', name), 'string', name);
});

test('control plane and gateway: Deployments with /healthz and /readyz probes, non-root, and a Service each', () => {
  for (const [file, command, port] of [
    ['control-plane.yaml', 'serve', 8080],
    ['gateway.yaml', 'gateway', 8081],
  ] as const) {
    const [deployment, service] = manifests(file);
    assert.equal(at(deployment, 'kind'), 'Deployment');
    assert.equal(at(service, 'kind'), 'Service');
    assert.equal(at(service, 'spec', 'ports', 0, 'port'), port);
    const pod = at(deployment, 'spec', 'template', 'spec');
    const container = at(pod, 'containers', 0);
    assert.equal(at(container, 'args', 0), command);
    assert.equal(at(container, 'livenessProbe', 'httpGet', 'path'), '/healthz');
    assert.equal(at(container, 'readinessProbe', 'httpGet', 'path'), '/readyz');
    assert.equal(at(pod, 'securityContext', 'runAsNonRoot'), true);
    assert.equal(at(container, 'securityContext', 'readOnlyRootFilesystem'), true);
    assert.equal(at(container, 'securityContext', 'allowPrivilegeEscalation'), false);
    assert.ok(Number(at(deployment, 'spec', 'replicas')) >= 2);
  }
});

test('the image recipe: multi-stage, Node 24, runs as the unprivileged node user', () => {
  const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8');
  assert.equal([...dockerfile.matchAll(/^FROM /gm)].length, 2);
  assert.match(dockerfile, /ARG NODE_IMAGE=node:24-/);
  assert.match(dockerfile, /^USER node$/m);
  assert.match(dockerfile, /npm ci --omit=dev/);
});
