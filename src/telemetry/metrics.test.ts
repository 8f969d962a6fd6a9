import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createMetrics, type Metrics } from './metrics.ts';

/** The samples of the exposition text: `name{labels}` → value; and the `# TYPE` of each family. */
async function scrape(
  metrics: Metrics,
): Promise<{ samples: Map<string, number>; types: Map<string, string> }> {
  const { contentType, body } = await metrics.render();
  assert.match(contentType, /^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of body.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const value = Number(line.slice(space + 1));
    assert.ok(Number.isFinite(value), line);
    samples.set(line.slice(0, space), value);
  }
  return { samples, types };
}

const started = (msAgo: number) => process.hrtime.bigint() - BigInt(Math.round(msAgo * 1e6));

describe('createMetrics', () => {
  test('process and Node runtime metrics, prefixed warrant_, and the build info', async () => {
    const { samples, types } = await scrape(createMetrics('sts'));
    for (const [name, type] of [
      ['warrant_process_cpu_user_seconds_total', 'counter'],
      ['warrant_process_resident_memory_bytes', 'gauge'],
      ['warrant_nodejs_eventloop_lag_seconds', 'gauge'],
      ['warrant_nodejs_eventloop_lag_p99_seconds', 'gauge'],
      ['warrant_nodejs_gc_duration_seconds', 'histogram'],
      ['warrant_nodejs_heap_size_used_bytes', 'gauge'],
      ['warrant_nodejs_version_info', 'gauge'],
    ])
      assert.equal(types.get(name!), type, name);
    assert.ok(
      [...samples.keys()].some((k) => /^warrant_build_info\{service="sts",version="[^"]+"\}$/.test(k)),
    );
  });

  test('a server shows only the groups it reads; each registry is its own', async () => {
    const sts = createMetrics('sts');
    sts.sts.exchange('client_credentials', 'issued', started(1));
    const gw = createMetrics('gateway');
    gw.gateway.decision('allow');
    const a = await scrape(sts);
    const b = await scrape(gw);
    assert.ok(a.types.has('warrant_sts_exchanges_total'));
    assert.ok(!a.types.has('warrant_gateway_decisions_total'));
    assert.ok(b.types.has('warrant_gateway_decisions_total'));
    assert.ok(!b.types.has('warrant_sts_exchanges_total'));
    assert.equal(b.samples.get('warrant_gateway_decisions_total{outcome="allow"}'), 1);
    assert.equal(
      a.samples.get('warrant_sts_exchanges_total{grant_type="client_credentials",outcome="issued"}'),
      1,
    );
  });

  test('every named instrument is in the output with its type', async () => {
    const m = createMetrics('dev');
    void [m.gateway, m.sts, m.ledger, m.hotState];
    const { types } = await scrape(m);
    for (const [name, type] of [
      ['warrant_gateway_decisions_total', 'counter'],
      ['warrant_gateway_refusals_total', 'counter'],
      ['warrant_gateway_request_duration_seconds', 'histogram'],
      ['warrant_gateway_request_duration_ms', 'histogram'],
      ['warrant_gateway_cache_hits_total', 'counter'],
      ['warrant_gateway_cache_misses_total', 'counter'],
      ['warrant_sts_exchanges_total', 'counter'],
      ['warrant_sts_refusals_total', 'counter'],
      ['warrant_sts_exchange_duration_seconds', 'histogram'],
      ['warrant_revocations_total', 'counter'],
      ['warrant_revocation_cascade_size', 'histogram'],
      ['warrant_ledger_records_appended_total', 'counter'],
      ['warrant_ledger_batch_size', 'histogram'],
      ['warrant_ledger_commit_duration_seconds', 'histogram'],
      ['warrant_ledger_checkpoints_total', 'counter'],
      ['warrant_ledger_checkpoint_size', 'gauge'],
      ['warrant_hot_state_errors_total', 'counter'],
      ['warrant_build_info', 'gauge'],
    ])
      assert.equal(types.get(name!), type, name);
  });

  test('every sample is a finite number, even in a scrape right after another (no NaN lag figures)', async () => {
    const m = createMetrics('gateway');
    await m.render();
    const { body } = await m.render();
    assert.doesNotMatch(body, / Nan$/m);
    await scrape(m);
  });

  test('a service name is required', () => {
    assert.throws(() => createMetrics(''), TypeError);
  });
});

describe('gateway metrics', () => {
  test('the names and samples of the former GatewayMetrics are kept (dashboards, test/gateway/ops-metrics)', async () => {
    const m = createMetrics('gateway');
    const g = m.gateway;
    const caches = { presented: { hits: 3, misses: 1 }, decision: { hits: 0, misses: 2 } };
    g.readCaches(() => caches);
    for (let i = 0; i < 3; i++) {
      g.decision('allow');
      g.observe(started(0.3), '/crm', 'allow');
    }
    g.decision('deny', 'WARRANT_CALL_DENIED');
    g.observe(started(30), '/crm', 'deny');
    g.decision('unauthenticated', 'WARRANT_CREDENTIALS_MISSING');
    g.observe(started(2000), '/crm', 'unauthenticated');
    const { samples } = await scrape(m);
    assert.equal(samples.get('warrant_gateway_decisions_total{outcome="allow"}'), 3);
    assert.equal(samples.get('warrant_gateway_decisions_total{outcome="deny"}'), 1);
    assert.equal(samples.get('warrant_gateway_decisions_total{outcome="unauthenticated"}'), 1);
    assert.equal(samples.get('warrant_gateway_cache_hits_total{cache="presented"}'), 3);
    assert.equal(samples.get('warrant_gateway_cache_misses_total{cache="presented"}'), 1);
    assert.equal(samples.get('warrant_gateway_cache_hits_total{cache="decision"}'), 0);
    assert.equal(samples.get('warrant_gateway_cache_misses_total{cache="decision"}'), 2);

    // The legacy histogram: unlabelled, milliseconds, cumulative, +Inf = count.
    const buckets = [...samples]
      .filter(([name]) => name.startsWith('warrant_gateway_request_duration_ms_bucket{'))
      .map(([name, value]) => ({ le: /le="([^"]+)"/.exec(name)![1]!, value }));
    assert.equal(buckets.length, 14);
    assert.equal(buckets.at(-1)!.le, '+Inf');
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value);
    assert.equal(buckets.at(-1)!.value, 5);
    assert.equal(samples.get('warrant_gateway_request_duration_ms_count'), 5);
    assert.equal(samples.get('warrant_gateway_request_duration_ms_bucket{le="0.1"}'), 0);
    // Only lower bounds of the durations are known (a loaded machine adds to each): the 30 ms call is
    // never in a bucket below 30 ms, the 2 s call never at or below 1 s.
    assert.ok(samples.get('warrant_gateway_request_duration_ms_bucket{le="25"}')! <= 3);
    assert.ok(samples.get('warrant_gateway_request_duration_ms_bucket{le="1000"}')! <= 4);
    assert.ok(samples.get('warrant_gateway_request_duration_ms_sum')! >= 2030);
  });

  test('duration in seconds by route and outcome; refusals by outcome and code', async () => {
    const m = createMetrics('gateway');
    m.gateway.decision('deny', 'WARRANT_CALL_DENIED');
    m.gateway.decision('deny', 'WARRANT_CALL_DENIED');
    m.gateway.decision('deny', 'not a code');
    m.gateway.decision('allow');
    m.gateway.observe(started(2), '/crm', 'deny');
    const { samples } = await scrape(m);
    assert.equal(samples.get('warrant_gateway_refusals_total{outcome="deny",code="WARRANT_CALL_DENIED"}'), 2);
    assert.equal(samples.get('warrant_gateway_refusals_total{outcome="deny",code="other"}'), 1);
    assert.ok(![...samples.keys()].some((k) => k.includes('refusals_total{outcome="allow"')));
    assert.equal(
      samples.get('warrant_gateway_request_duration_seconds_count{route="/crm",outcome="deny"}'),
      1,
    );
    assert.equal(
      samples.get('warrant_gateway_request_duration_seconds_bucket{route="/crm",outcome="deny",le="0.001"}'),
      0,
    );
    assert.equal(
      samples.get('warrant_gateway_request_duration_seconds_bucket{route="/crm",outcome="deny",le="+Inf"}'),
      1,
    );
    // Only the lower bound of a measured duration is known (a loaded machine adds to it).
    const sum = samples.get('warrant_gateway_request_duration_seconds_sum{route="/crm",outcome="deny"}')!;
    assert.ok(sum >= 0.002, String(sum));
  });
});

describe('STS, ledger and hot-state metrics', () => {
  test('exchanges by short grant type and outcome; unknown grant types and codes are "other"', async () => {
    const m = createMetrics('sts');
    m.sts.exchange('urn:ietf:params:oauth:grant-type:token-exchange', 'issued', started(0.5));
    m.sts.exchange(
      'urn:ietf:params:oauth:grant-type:token-exchange',
      'refused',
      started(0.5),
      'WARRANT_GRANT_NOT_HELD',
    );
    m.sts.exchange('urn:ietf:params:oauth:grant-type:jwt-bearer', 'error', started(1));
    m.sts.exchange('password', 'refused', started(0.1), 'made-up');
    const { samples } = await scrape(m);
    assert.equal(samples.get('warrant_sts_exchanges_total{grant_type="token-exchange",outcome="issued"}'), 1);
    assert.equal(
      samples.get('warrant_sts_exchanges_total{grant_type="token-exchange",outcome="refused"}'),
      1,
    );
    assert.equal(samples.get('warrant_sts_exchanges_total{grant_type="jwt-bearer",outcome="error"}'), 1);
    assert.equal(samples.get('warrant_sts_exchanges_total{grant_type="other",outcome="refused"}'), 1);
    assert.equal(
      samples.get('warrant_sts_refusals_total{grant_type="token-exchange",code="WARRANT_GRANT_NOT_HELD"}'),
      1,
    );
    assert.equal(samples.get('warrant_sts_refusals_total{grant_type="jwt-bearer",code="other"}'), 1);
    assert.equal(samples.get('warrant_sts_refusals_total{grant_type="other",code="other"}'), 1);
    assert.equal(
      samples.get(
        'warrant_sts_exchange_duration_seconds_count{grant_type="token-exchange",outcome="issued"}',
      ),
      1,
    );
    assert.ok(![...samples.keys()].some((k) => k.includes('password') || k.includes('made-up')));
  });

  test('revocations by kind and the cascade size', async () => {
    const m = createMetrics('sts');
    m.sts.revoked('txn', 1000);
    m.sts.revoked('token', 1);
    const { samples } = await scrape(m);
    assert.equal(samples.get('warrant_revocations_total{kind="txn"}'), 1);
    assert.equal(samples.get('warrant_revocation_cascade_size_bucket{kind="txn",le="500"}'), 0);
    assert.equal(samples.get('warrant_revocation_cascade_size_bucket{kind="txn",le="1000"}'), 1);
    assert.equal(samples.get('warrant_revocation_cascade_size_sum{kind="token"}'), 1);
  });

  test('ledger batches, records, commit time and checkpoints', async () => {
    const m = createMetrics('gateway');
    assert.equal((await scrape(m)).samples.has('warrant_ledger_records_appended_total'), false);
    m.ledger.committed(64, started(0.4));
    m.ledger.committed(3, started(0.2));
    m.ledger.checkpoint(67);
    const { samples } = await scrape(m);
    assert.equal(samples.get('warrant_ledger_records_appended_total'), 67);
    assert.equal(samples.get('warrant_ledger_batch_size_count'), 2);
    assert.equal(samples.get('warrant_ledger_batch_size_bucket{le="4"}'), 1);
    assert.equal(samples.get('warrant_ledger_batch_size_bucket{le="64"}'), 2);
    assert.equal(samples.get('warrant_ledger_commit_duration_seconds_count'), 2);
    assert.equal(samples.get('warrant_ledger_checkpoints_total'), 1);
    assert.equal(samples.get('warrant_ledger_checkpoint_size'), 67);
  });

  test('an unlabelled counter and histogram show zero before their first use', async () => {
    const m = createMetrics('gateway');
    void m.ledger;
    const { samples } = await scrape(m);
    assert.equal(samples.get('warrant_ledger_records_appended_total'), 0);
    assert.equal(samples.get('warrant_ledger_batch_size_count'), 0);
    assert.equal(samples.get('warrant_ledger_batch_size_bucket{le="+Inf"}'), 0);
  });

  test('hot-state errors by operation', async () => {
    const m = createMetrics('sts');
    m.hotState.error('publish');
    m.hotState.error('publish');
    const { samples } = await scrape(m);
    assert.equal(samples.get('warrant_hot_state_errors_total{operation="publish"}'), 2);
  });
});
