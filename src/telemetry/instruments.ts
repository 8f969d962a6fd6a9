/**
 * Counters and histograms for the request path, cheaper than prom-client's own (which hash and validate
 * a label object on every call): values are kept per label-value key in a Map and turned into
 * prom-client's metric shape only when the registry is scraped. At most two labels, given positionally
 * in the order of `labelNames`. Internal to src/telemetry.
 */
import type { Registry } from 'prom-client';

type Labels = Record<string, string>;

interface Sample {
  readonly labels: Labels;
  readonly value: number;
  readonly metricName?: string;
}

abstract class Instrument<Entry> {
  abstract readonly type: 'counter' | 'histogram';
  protected readonly entries = new Map<string, Entry>();
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly aggregator = 'sum';

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[] = []) {
    if (labelNames.length > 2) throw new TypeError(`${name}: at most two labels`);
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    // prom-client's registry reads name, help, type and get(); reset() for resetMetrics().
    registry.registerMetric(this as never);
  }

  protected entry(a: string | undefined, b: string | undefined, create: (labels: Labels) => Entry): Entry {
    const key = b === undefined ? (a ?? '') : `${a}\u0000${b}`;
    let entry = this.entries.get(key);
    if (entry === undefined) {
      const labels: Labels = {};
      if (this.labelNames[0] !== undefined) labels[this.labelNames[0]] = a ?? '';
      if (this.labelNames[1] !== undefined) labels[this.labelNames[1]] = b ?? '';
      entry = create(labels);
      this.entries.set(key, entry);
    }
    return entry;
  }

  reset(): void {
    this.entries.clear();
  }

  abstract samples(): Sample[];

  async get(): Promise<{ name: string; help: string; type: string; values: Sample[]; aggregator: string }> {
    return { name: this.name, help: this.help, type: this.type, values: this.samples(), aggregator: 'sum' };
  }
}

export class FastCounter extends Instrument<{ labels: Labels; value: number }> {
  readonly type = 'counter';

  /** Adds one to the series of these label values (in the order of `labelNames`). */
  inc(a?: string, b?: string): void {
    this.entry(a, b, (labels) => ({ labels, value: 0 })).value++;
  }

  /** Adds `n` (≥ 0) to the unlabelled series. */
  add(n: number): void {
    if (!(n >= 0)) throw new TypeError(`${this.name}: a counter only grows`);
    this.entry(undefined, undefined, (labels) => ({ labels, value: 0 })).value += n;
  }

  samples(): Sample[] {
    // An unlabelled counter shows 0 before its first increment, like prom-client's.
    if (this.labelNames.length === 0 && this.entries.size === 0) return [{ labels: {}, value: 0 }];
    return [...this.entries.values()].map((e) => ({ labels: e.labels, value: e.value }));
  }
}

interface HistogramEntry {
  readonly labels: Labels;
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

export class FastHistogram extends Instrument<HistogramEntry> {
  readonly type = 'histogram';
  readonly #buckets: readonly number[];

  constructor(
    registry: Registry,
    name: string,
    help: string,
    buckets: readonly number[],
    labelNames: readonly string[] = [],
  ) {
    super(registry, name, help, labelNames);
    for (let i = 1; i < buckets.length; i++)
      if (!(buckets[i]! > buckets[i - 1]!)) throw new TypeError(`${name}: buckets must ascend`);
    this.#buckets = buckets;
  }

  observe(value: number, a?: string, b?: string): void {
    const e = this.entry(a, b, (labels) => ({
      labels,
      counts: new Float64Array(this.#buckets.length),
      sum: 0,
      count: 0,
    }));
    const buckets = this.#buckets;
    for (let i = 0; i < buckets.length; i++) {
      if (value <= buckets[i]!) {
        e.counts[i]!++;
        break;
      }
    }
    e.sum += value;
    e.count++;
  }

  samples(): Sample[] {
    const out: Sample[] = [];
    const entries =
      this.labelNames.length === 0 && this.entries.size === 0
        ? [{ labels: {}, counts: new Float64Array(this.#buckets.length), sum: 0, count: 0 }]
        : this.entries.values();
    for (const e of entries) {
      let cumulative = 0;
      for (let i = 0; i < this.#buckets.length; i++) {
        cumulative += e.counts[i]!;
        out.push({
          labels: { ...e.labels, le: String(this.#buckets[i]) },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      }
      out.push({ labels: { ...e.labels, le: '+Inf' }, value: e.count, metricName: `${this.name}_bucket` });
      out.push({ labels: e.labels, value: e.sum, metricName: `${this.name}_sum` });
      out.push({ labels: e.labels, value: e.count, metricName: `${this.name}_count` });
    }
    return out;
  }
}
