import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runMgmt } from '../helpers/cli.js';

const EXAMPLES = fileURLToPath(new URL('../../../shared/compat/mgmt-examples/', import.meta.url));
const present = existsSync(EXAMPLES);

// The upstream examples that touch only /tmp with noop, exec, timer, file, msg and print and have
// no long sleeps: each must run to convergence and exit 0. Left out on purpose: noop2.yaml (its
// exec is `rm -rf /` under meta noop — loaded by the conformance test, never run), file2-4 (they
// depend on each other's leftovers and on /var/lib/mgmt/files), exec1*/graph9/graph10 (10 s sleeps).
// graph4 and graph5 collect files with an empty pattern, which would let any host's export write
// anywhere as root: `mgmt run` refuses them (issue 10, finding 4), as the last test asserts.
const RUNNABLE = [
  'autoedges1.yaml',
  'deep-dirs.yaml',
  'etcd1a.yaml',
  'exec1c.yaml',
  'file0.yaml',
  'file1.yaml',
  'graph0.yaml',
  'graph1a.yaml',
  'graph1b.yaml',
  'graph3a.yaml',
  'graph6.yaml',
  'graph7.yaml',
  'limit1.yaml',
  'msg1.yaml',
  'noop0.yaml',
  'noop1.yaml',
  'poll1.yaml',
  'retry1.yaml',
  'timer1.yaml',
];

(present ? describe : describe.skip)(`upstream YAML examples run${present ? '' : ' (skipped: ../shared/compat is not there)'}`, () => {
  it.each(RUNNABLE)('GIVEN upstream %s WHEN run with --converged-timeout=0 THEN it converges and exits 0', async (file) => {
    const result = await runMgmt(['run', '--yaml', join(EXAMPLES, file), '--converged-timeout=0', '--tmp-prefix', '--no-watch', '--log-format', 'json'], {
      timeoutMs: 30_000,
    });
    expect(result.code, result.stderr + result.events.filter((e) => e.level === 'error').map((e) => JSON.stringify(e)).join('\n')).toBe(0);
    expect(result.events.at(-1)).toMatchObject({ event: 'exit', reason: 'converged' });
  });

  it.each(['graph4.yaml', 'graph5.yaml'])('GIVEN upstream %s (a file collect with an empty pattern) WHEN run THEN it is refused, exit 2, naming the allowance', async (file) => {
    const result = await runMgmt(['run', '--yaml', join(EXAMPLES, file), '--converged-timeout=0', '--tmp-prefix', '--no-watch'], { timeoutMs: 30_000 });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/collect #1: a `file` collect needs a `pattern`.*allow: \[anypath\]/);
  });
});
