// A running agent's metrics, read with a real HTTP client (fetch) as Prometheus would.

import { startMgmt, type MgmtProcess, type StartOptions } from './cli.js';

/** Sample is one line of the Prometheus text format. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** parseMetrics reads Prometheus's text format (comments skipped; label values without escapes, as ours are). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** valueOf is the value of the one sample of `name` with exactly `labels`; undefined if there is none. */
export function valueOf(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  const wanted = Object.entries(labels);
  const found = samples.filter(
    (sample) => sample.name === name && Object.keys(sample.labels).length === wanted.length && wanted.every(([key, value]) => sample.labels[key] === value),
  );
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** scrape fetches a /metrics URL and parses it. */
export async function scrape(url: string): Promise<Sample[]> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`GET ${url}: ${response.status}`);
  return parseMetrics(await response.text());
}

/** waitForMetrics scrapes until `holds` is true of the samples, failing with `what` (and the last scrape) after `timeoutMs`. */
export async function waitForMetrics(url: string, holds: (samples: readonly Sample[]) => boolean, what: string, timeoutMs = 20_000): Promise<Sample[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const samples = await scrape(url);
    if (holds(samples)) return samples;
    if (Date.now() > deadline) {
      const ours = samples.filter((sample) => sample.name.startsWith('mgmt_') && sample.value !== 0);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; non-zero mgmt_ samples: ${JSON.stringify(ours)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** MetricsRun is an agent started with --prometheus on a free port, and where it serves. */
export interface MetricsRun {
  readonly proc: MgmtProcess;
  /** Its /metrics URL. */
  readonly url: string;
  /** Its base URL (for /health). */
  readonly base: string;
}

/** startWithMetrics runs `mgmt run` with `args`, --prometheus on port 0 and JSON events, and waits until it serves. */
export async function startWithMetrics(args: readonly string[], options: StartOptions = {}): Promise<MetricsRun> {
  const proc = startMgmt([...args, '--prometheus', '--prometheus-listen', '127.0.0.1:0', '--log-format', 'json'], options);
  const event = await proc.waitForEvent((e) => e.event === 'metrics', 'the metrics event');
  const url = event.url as string;
  return { proc, url, base: url.replace(/\/metrics$/, '') };
}
