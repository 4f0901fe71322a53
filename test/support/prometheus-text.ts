// parse-prometheus-text-format ships no types: this is the part of its output the tests read.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/** One sample family: counters and gauges carry `value`; histograms `buckets`, `count` and `sum`. */
export interface MetricFamily {
  name: string;
  help: string;
  type: string;
  metrics: Array<{
    value?: string;
    labels?: Record<string, string>;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }>;
}

/** Parses Prometheus text exposition (what /metrics answers) into families; throws on malformed text. */
export function parseMetrics(text: string): MetricFamily[] {
  return (parsePrometheusTextFormat as unknown as (t: string) => MetricFamily[])(text);
}

/** Sum of the samples of `name` whose labels include `labels`: a counter's or gauge's value. */
export function sampleValue(families: MetricFamily[], name: string, labels: Record<string, string> = {}): number {
  const family = families.find((f) => f.name === name);
  if (!family) return 0;
  let sum = 0;
  for (const m of family.metrics) {
    if (Object.entries(labels).every(([k, v]) => m.labels?.[k] === v)) sum += Number(m.value ?? 0);
  }
  return sum;
}

/** Every label value of every sample (to check none holds an id, a key or user text). */
export function allLabelValues(families: MetricFamily[]): string[] {
  return families.flatMap((f) => f.metrics.flatMap((m) => Object.values(m.labels ?? {})));
}

/**
 * Observations of a histogram across its label sets, read from its `_count` lines in the text itself: the parser
 * merges the samples of a histogram that has labels besides `le`.
 */
export function histogramCount(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}_count{`) || line.startsWith(`${name}_count `)) sum += Number(line.split(' ').pop());
  }
  return sum;
}
