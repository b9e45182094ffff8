// --prometheus on a real run: the agent's metrics read with fetch, as Prometheus scrapes them,
// against upstream mgmt's own expectations (its test/shell/prometheus-*.sh) and ours.

import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultRegistry } from '../../src/resources/index.js';
import { scrape, startWithMetrics, valueOf, waitForMetrics, type Sample } from '../helpers/metrics.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();
const KINDS = [...defaultRegistry.keys()];

const checks = (kind: string, apply: boolean, eventful: boolean, errorful: boolean) => ({ apply: String(apply), errorful: String(errorful), eventful: String(eventful), kind });
const converged = (samples: readonly Sample[]): boolean => valueOf(samples, 'mgmt_converged') === 1;

async function graphFile(dir: string, yaml: string): Promise<string> {
  const file = join(dir, 'graph.yaml');
  await writeFile(file, yaml);
  return file;
}

/** fourFiles is upstream's prometheus-3.yaml under `out`: three files, and a fourth in noop. */
function fourFiles(out: string): string {
  const file = (n: number, meta = '') => `  - name: file${n}\n    path: "${out}/f${n}"\n    content: |\n      i am f${n}\n    state: exists\n${meta}`;
  return `graph: mygraph\nresources:\n  file:\n${file(1)}${file(2)}${file(3)}${file(4, '    meta:\n      noop: true\n')}`;
}

describe('mgmt run --prometheus', () => {
  it('GIVEN three new files and a fourth in noop WHEN converged THEN the checkApply counts are upstream\'s (3 applied, 1 in noop), and every label set of every kind is there', async () => {
    const dir = await tempDir();
    const out = join(dir, 'out');
    // Made beforehand: the directory our agent would make for the files is an event for the noop
    // file's watch too, which checks it again (and reports "would change" a second time).
    await mkdir(out);
    const started = Date.now() / 1000;
    const { proc, url } = await startWithMetrics(['run', '--yaml', await graphFile(dir, fourFiles(out)), '--tmp-prefix']);
    const samples = await waitForMetrics(url, converged, 'convergence');

    const text = await (await fetch(url)).text();
    // Upstream's greps, verbatim: its label order too.
    expect(text).toMatch(/^mgmt_checkapply_total\{apply="true",errorful="false",eventful="true",kind="file"\} 3$/m);
    expect(text).toMatch(/^mgmt_checkapply_total\{apply="false",errorful="false",eventful="true",kind="file"\} 1$/m);
    expect(text).toMatch(/^mgmt_resources\{kind="file"\} 4$/m);
    expect(valueOf(samples, 'mgmt_graph_start_time_seconds')).toBeGreaterThanOrEqual(Math.floor(started));
    expect(valueOf(samples, 'mgmt_graph_swaps_total')).toBe(1);
    for (const kind of KINDS) {
      expect(samples.filter((s) => s.name === 'mgmt_checkapply_total' && s.labels.kind === kind), kind).toHaveLength(8);
      for (const failure of ['soft', 'hard']) {
        expect(valueOf(samples, 'mgmt_failures_total', { failure, kind }), `${kind} ${failure}`).toBe(0);
        expect(valueOf(samples, 'mgmt_failures', { failure, kind }), `${kind} ${failure}`).toBe(0);
      }
      expect(valueOf(samples, 'mgmt_resources', { kind }), kind).toBe(kind === 'file' ? 4 : 0);
      expect(valueOf(samples, 'mgmt_repairs_total', { kind }), kind).toBe(0);
    }
    expect(valueOf(samples, 'mgmt_checkapply_total', checks('exec', true, true, true))).toBe(0);
    // Without etcd (the tests' --no-server): no role but none, no members.
    expect(valueOf(samples, 'mgmt_etcd_role', { role: 'none' })).toBe(1);
    expect(valueOf(samples, 'mgmt_etcd_role', { role: 'server' })).toBe(0);
    expect(valueOf(samples, 'mgmt_etcd_members')).toBe(0);
    // prom-client's process and Node defaults; its CPU counters count from the process's start,
    // not from the first scrape that set them up (node's start and loading the agent take more).
    expect(valueOf(samples, 'process_cpu_seconds_total')).toBeGreaterThan(0.05);
    expect(valueOf(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(valueOf(samples, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);

    proc.child.kill('SIGINT');
    const result = await proc.exited;
    expect(result.code, result.stderr).toBe(0);
    // The server closed with the agent.
    await expect(fetch(url)).rejects.toThrow();
  });

  it('GIVEN a file already in its state WHEN checked THEN it is counted as a check that found nothing to do (the engine\'s synchronous OK check included)', async () => {
    const dir = await tempDir();
    const out = join(dir, 'out');
    await mkdir(out);
    await writeFile(join(out, 'f1'), 'i am f1\n');
    const yaml = `graph: g\nresources:\n  file:\n  - name: file1\n    path: "${out}/f1"\n    content: |\n      i am f1\n    state: exists\n`;
    const { proc, url } = await startWithMetrics(['run', '--yaml', await graphFile(dir, yaml), '--tmp-prefix']);
    const samples = await waitForMetrics(url, converged, 'convergence');
    expect(valueOf(samples, 'mgmt_checkapply_total', checks('file', true, false, false))).toBe(1);
    // A touch is a watch event: the re-check (now the synchronous one) finds nothing to do either.
    await utimes(join(out, 'f1'), new Date(), new Date());
    const again = await waitForMetrics(url, (now) => valueOf(now, 'mgmt_checkapply_total', checks('file', true, false, false)) === 2, 'the re-check');
    expect(valueOf(again, 'mgmt_checkapply_total', checks('file', true, true, false))).toBe(0);
    proc.child.kill('SIGINT');
    expect((await proc.exited).code).toBe(0);
  });

  it('GIVEN a converged run WHEN a managed file is deleted THEN its repair is counted, with the time from the watch event to the repair, scraped or not meanwhile', async () => {
    const dir = await tempDir();
    const out = join(dir, 'out');
    await mkdir(out);
    const { proc, url } = await startWithMetrics(['run', '--yaml', await graphFile(dir, fourFiles(out)), '--tmp-prefix']);
    const applies = (resource: string) => proc.events.filter((e) => e.event === 'apply' && e.resource === resource).length;
    await proc.waitForEvent(() => applies('file[file1]') === 1, 'the first apply');
    // Not scraped before: prom-client starts with the first scrape, and the repair is kept for it.
    await rm(join(out, 'f1'));
    await proc.waitForEvent(() => applies('file[file1]') === 2, 'the repair');
    const samples = await waitForMetrics(url, converged, 'convergence after the repair');
    expect(valueOf(samples, 'mgmt_repairs_total', { kind: 'file' })).toBe(1);
    expect(await readFile(join(out, 'f1'), 'utf8')).toBe('i am f1\n');
    expect(valueOf(samples, 'mgmt_repair_seconds_count', { kind: 'file' })).toBe(1);
    expect(valueOf(samples, 'mgmt_repair_seconds_sum', { kind: 'file' })).toBeGreaterThan(0);
    expect(valueOf(samples, 'mgmt_repair_seconds_bucket', { kind: 'file', le: '+Inf' })).toBe(1);
    expect(valueOf(samples, 'mgmt_checkapply_total', checks('file', true, true, false))).toBe(4);
    // The noop file is no repair: nothing was changed.
    expect(existsSync(join(out, 'f4'))).toBe(false);
    // A second repair, after the registry exists.
    await rm(join(out, 'f2'));
    const again = await waitForMetrics(url, (s) => valueOf(s, 'mgmt_repairs_total', { kind: 'file' }) === 2, 'the second repair');
    expect(valueOf(again, 'mgmt_repair_seconds_count', { kind: 'file' })).toBe(2);
    proc.child.kill('SIGINT');
    expect((await proc.exited).code).toBe(0);
  });

  it('GIVEN a command that fails with retries and a file that cannot be made with retry -1 THEN soft failures are counted while retrying, a hard one when retries run out, and the gauge clears on recovery', async () => {
    const dir = await tempDir();
    // A regular file where the managed file's parent directory should be: ENOTDIR until it goes.
    const blocker = join(dir, 'blocker');
    await writeFile(blocker, 'not a directory\n');
    const yaml = await graphFile(
      dir,
      `graph: failures
resources:
  exec:
  - name: fails
    cmd: /bin/false
    meta:
      retry: 2
      delay: 50
  file:
  - name: file1
    path: "${blocker}/f1"
    content: "i am f1\\n"
    meta:
      retry: -1
      delay: 100
`,
    );
    const { proc, url } = await startWithMetrics(['run', '--yaml', yaml, '--tmp-prefix']);
    const failing = await waitForMetrics(
      url,
      (s) => valueOf(s, 'mgmt_failures', { failure: 'hard', kind: 'exec' }) === 1 && (valueOf(s, 'mgmt_failures_total', { failure: 'soft', kind: 'file' }) ?? 0) >= 2,
      'the exec to fail for good and the file to fail twice',
    );
    // The exec: two retries (soft), then none left (hard); each attempt a checkApply with an error.
    expect(valueOf(failing, 'mgmt_failures_total', { failure: 'soft', kind: 'exec' })).toBe(2);
    expect(valueOf(failing, 'mgmt_failures_total', { failure: 'hard', kind: 'exec' })).toBe(1);
    expect(valueOf(failing, 'mgmt_failures', { failure: 'soft', kind: 'exec' })).toBe(0);
    expect(valueOf(failing, 'mgmt_checkapply_total', checks('exec', true, true, true))).toBe(3);
    // The file retries forever: one failing now, soft, never hard.
    expect(valueOf(failing, 'mgmt_failures', { failure: 'soft', kind: 'file' })).toBe(1);
    expect(valueOf(failing, 'mgmt_failures_total', { failure: 'hard', kind: 'file' })).toBe(0);
    expect(valueOf(failing, 'mgmt_converged')).toBe(0);

    // The operator removes the obstacle: a retry makes the file, and it fails no more.
    await rm(blocker);
    const recovered = await waitForMetrics(url, (s) => valueOf(s, 'mgmt_failures', { failure: 'soft', kind: 'file' }) === 0, 'the file to recover');
    expect(await readFile(join(blocker, 'f1'), 'utf8')).toBe('i am f1\n');
    expect(valueOf(recovered, 'mgmt_checkapply_total', checks('file', true, true, false))).toBe(1);
    expect(valueOf(recovered, 'mgmt_failures', { failure: 'hard', kind: 'exec' })).toBe(1);
    proc.child.kill('SIGINT');
    expect((await proc.exited).code).toBe(1); // the exec failed
  });

  it('GIVEN a command that waits for a go-ahead THEN /health and mgmt_converged say not converged until it ran, then converged, for longer and longer', async () => {
    const dir = await tempDir();
    const go = join(dir, 'go');
    const yaml = await graphFile(
      dir,
      `graph: wait
resources:
  exec:
  - name: waits
    shell: /bin/sh
    cmd: "while [ ! -e ${go} ]; do sleep 0.05; done"
`,
    );
    const { proc, url, base } = await startWithMetrics(['run', '--yaml', yaml, '--tmp-prefix']);
    await proc.waitForEvent((e) => e.event === 'graph', 'the graph');
    const before = await fetch(`${base}/health`);
    expect(before.status).toBe(200);
    expect(await before.json()).toEqual({ status: 'running', converged: false });
    const busy = await scrape(url);
    expect(valueOf(busy, 'mgmt_converged')).toBe(0);
    expect(valueOf(busy, 'mgmt_converged_seconds')).toBe(0);

    await writeFile(go, '');
    const first = await waitForMetrics(url, converged, 'convergence');
    const after = await fetch(`${base}/health`);
    expect(after.status).toBe(200);
    expect(await after.json()).toEqual({ status: 'running', converged: true });
    const later = await waitForMetrics(url, (s) => valueOf(s, 'mgmt_converged_seconds')! > valueOf(first, 'mgmt_converged_seconds')!, 'converged seconds to grow');
    expect(valueOf(later, 'mgmt_converged')).toBe(1);

    // Nothing else is served.
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metricsx`)).status).toBe(404);
    expect((await fetch(url, { method: 'POST' })).status).toBe(405);
    proc.child.kill('SIGINT');
    expect((await proc.exited).code).toBe(0);
  });

  it('GIVEN a resource that failed for good WHEN a reload removes it THEN it fails no more and is no longer managed, while its failures stay counted', async () => {
    const dir = await tempDir();
    const yaml = await graphFile(dir, 'graph: g\nresources:\n  exec:\n  - {name: fails, cmd: /bin/false}\n  noop:\n  - {name: n}\n');
    const { proc, url } = await startWithMetrics(['run', '--yaml', yaml, '--tmp-prefix', '--no-watch']);
    const failed = await waitForMetrics(url, (s) => valueOf(s, 'mgmt_failures', { failure: 'hard', kind: 'exec' }) === 1 && converged(s), 'the exec to fail');
    expect(valueOf(failed, 'mgmt_resources', { kind: 'exec' })).toBe(1);

    await writeFile(yaml, 'graph: g\nresources:\n  noop:\n  - {name: n}\n');
    proc.child.kill('SIGHUP');
    const removed = await waitForMetrics(url, (s) => valueOf(s, 'mgmt_graph_swaps_total') === 2, 'the reload');
    expect(valueOf(removed, 'mgmt_failures', { failure: 'hard', kind: 'exec' })).toBe(0);
    expect(valueOf(removed, 'mgmt_resources', { kind: 'exec' })).toBe(0);
    expect(valueOf(removed, 'mgmt_resources', { kind: 'noop' })).toBe(1);
    expect(valueOf(removed, 'mgmt_failures_total', { failure: 'hard', kind: 'exec' })).toBe(1);
    proc.child.kill('SIGINT');
    expect((await proc.exited).code).toBe(0);
  });

  it('GIVEN a running graph WHEN SIGHUP reloads it THEN the swap is counted and the graph start time moves on', async () => {
    const dir = await tempDir();
    const out = join(dir, 'out');
    await mkdir(out);
    const { proc, url } = await startWithMetrics(['run', '--yaml', await graphFile(dir, fourFiles(out)), '--tmp-prefix', '--no-watch']);
    const first = await waitForMetrics(url, converged, 'convergence');
    expect(valueOf(first, 'mgmt_graph_swaps_total')).toBe(1);
    proc.child.kill('SIGHUP');
    const reloaded = await waitForMetrics(url, (s) => valueOf(s, 'mgmt_graph_swaps_total') === 2, 'the second swap');
    expect(valueOf(reloaded, 'mgmt_graph_start_time_seconds')).toBeGreaterThan(valueOf(first, 'mgmt_graph_start_time_seconds')!);
    // The same graph: every vertex kept, nothing checked again.
    expect(valueOf(reloaded, 'mgmt_resources', { kind: 'file' })).toBe(4);
    expect(valueOf(reloaded, 'mgmt_checkapply_total', checks('file', true, true, false))).toBe(3);
    proc.child.kill('SIGINT');
    expect((await proc.exited).code).toBe(0);
  });
});
