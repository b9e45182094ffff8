// The README's Metrics section: its table lists exactly the metrics the agent registers, and its
// Prometheus configuration and alert rules parse and name only those metrics.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { AgentState } from '../../src/metrics/agent-state.js';
import { MetricsObserver } from '../../src/metrics/engine-observer.js';
import { DEFAULT_PROMETHEUS_LISTEN } from '../../src/metrics/listen-address.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { codeBlock } from './code-blocks.js';

const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
const { registry } = createMetrics(new MetricsObserver(['file'], () => {}), new AgentState());
const ours = registry.getMetricsAsArray().filter((metric) => metric.name.startsWith('mgmt_'));

interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
}

describe('README: Metrics', () => {
  it('GIVEN its metrics table THEN it lists every mgmt_ metric the agent registers, with its type and labels, and no other', () => {
    const section = readme.slice(readme.indexOf('\n## Metrics\n'));
    const rows = [...section.matchAll(/^\| `(mgmt_[a-z_]+)` \| (\w+) \|([^|]*)\|/gm)].map(([, name, type, labels]) => ({
      name,
      type,
      labels: [...labels!.matchAll(/`(\w+)`/g)].map((match) => match[1]),
    }));
    // prom-client's types leave out what every metric has: its type and label names.
    const registered = ours.map((metric) => {
      const { type, labelNames } = metric as unknown as { type: string; labelNames: readonly string[] };
      return { name: metric.name, type, labels: [...labelNames] };
    });
    const byName = (a: { name?: string }, b: { name?: string }) => a.name!.localeCompare(b.name!);
    expect(rows.sort(byName)).toEqual(registered.sort(byName));
  });

  it('GIVEN its scrape configuration THEN it parses and scrapes the default address', () => {
    const config = parse(codeBlock(readme, 'yaml', 'prometheus.yml')) as { scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }>; rule_files: string[] };
    expect(config.scrape_configs[0]!.static_configs[0]!.targets).toEqual([DEFAULT_PROMETHEUS_LISTEN]);
    expect(config.rule_files).toEqual(['mgmt-alerts.yml']);
  });

  it('GIVEN its alert rules THEN they parse, not converged waits 10 minutes, and each names only metrics the agent serves', () => {
    const rules = parse(codeBlock(readme, 'yaml', 'mgmt-alerts.yml')) as { groups: Array<{ rules: AlertRule[] }> };
    const [notConverged, hardFailures] = rules.groups[0]!.rules;
    expect(notConverged).toMatchObject({ alert: 'MgmtNotConverged', expr: 'mgmt_converged == 0', for: '10m' });
    expect(hardFailures).toMatchObject({ alert: 'MgmtHardFailures' });
    expect(hardFailures!.expr).toContain('mgmt_failures{failure="hard"}');
    const names = new Set(ours.map((metric) => metric.name));
    for (const rule of [notConverged!, hardFailures!]) {
      for (const [used] of rule.expr.matchAll(/\bmgmt_[a-z_]+/g)) expect(names, rule.alert).toContain(used);
    }
  });
});
