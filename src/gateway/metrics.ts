/**
 * Prometheus metrics of the gateway: decisions by outcome, a latency histogram, cache hit rates. Rendered
 * in the text exposition format at `/metrics`.
 */
const BUCKETS_MS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000, 5000];

export class GatewayMetrics {
  readonly #decisions = new Map<string, number>();
  readonly #buckets = new Array<number>(BUCKETS_MS.length).fill(0);
  #count = 0;
  #sumMs = 0;

  decision(outcome: string): void {
    this.#decisions.set(outcome, (this.#decisions.get(outcome) ?? 0) + 1);
  }

  observe(startedNs: bigint): void {
    const ms = Number(process.hrtime.bigint() - startedNs) / 1e6;
    this.#count++;
    this.#sumMs += ms;
    for (let i = 0; i < BUCKETS_MS.length; i++) if (ms <= BUCKETS_MS[i]!) this.#buckets[i]!++;
  }

  render(caches: Readonly<Record<string, { hits: number; misses: number }>>): string {
    const lines = [
      '# HELP warrant_gateway_decisions_total Gateway decisions by outcome.',
      '# TYPE warrant_gateway_decisions_total counter',
      ...[...this.#decisions].map(
        ([outcome, n]) => `warrant_gateway_decisions_total{outcome="${outcome}"} ${n}`,
      ),
      '# HELP warrant_gateway_request_duration_ms Time from request to response start or refusal.',
      '# TYPE warrant_gateway_request_duration_ms histogram',
      ...BUCKETS_MS.map(
        (le, i) => `warrant_gateway_request_duration_ms_bucket{le="${le}"} ${this.#buckets[i]}`,
      ),
      `warrant_gateway_request_duration_ms_bucket{le="+Inf"} ${this.#count}`,
      `warrant_gateway_request_duration_ms_sum ${this.#sumMs}`,
      `warrant_gateway_request_duration_ms_count ${this.#count}`,
      '# HELP warrant_gateway_cache_hits_total Cache hits by cache.',
      '# TYPE warrant_gateway_cache_hits_total counter',
      ...Object.entries(caches).map(
        ([name, c]) => `warrant_gateway_cache_hits_total{cache="${name}"} ${c.hits}`,
      ),
      '# HELP warrant_gateway_cache_misses_total Cache misses by cache.',
      '# TYPE warrant_gateway_cache_misses_total counter',
      ...Object.entries(caches).map(
        ([name, c]) => `warrant_gateway_cache_misses_total{cache="${name}"} ${c.misses}`,
      ),
    ];
    return `${lines.join('\n')}\n`;
  }
}
