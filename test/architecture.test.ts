import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The floors of docs/architecture.md, as dependency-cruiser rules (.dependency-cruiser.cjs): no
// import cycle, no upward import, no package a floor promised not to use. CI runs this test.
const REPO = join(import.meta.dirname, '..');
const CONFIG = join(REPO, '.dependency-cruiser.cjs');
const config = createRequire(import.meta.url)(CONFIG) as { forbidden: { name: string }[] };

/** floorsOfTree names each directory under src/ (src/x.ts counts as src/x), plus streams and graphviz. */
function floorsOfTree(): string[] {
  const src = readdirSync(join(REPO, 'src'), { withFileTypes: true }).map((entry) => `src/${entry.name.replace(/\.ts$/, '')}`);
  return [...new Set([...src, 'streams', 'graphviz'])].sort();
}

describe('the floors of docs/architecture.md', () => {
  it('GIVEN the rules THEN they name every floor of the tree, and every floor they name exists', () => {
    const ruled = config.forbidden.map((rule) => /^upward-from-(.+)$/.exec(rule.name)?.[1]).filter((floor) => floor !== undefined);
    expect(ruled.sort()).toEqual(floorsOfTree());
  });

  it('GIVEN src, streams and graphviz WHEN dependency-cruiser checks them THEN no import cycle, upward import or forbidden package is found', { timeout: 120_000 }, async () => {
    const depcruise = join(REPO, 'node_modules/.bin/depcruise');
    const result = await promisify(execFile)(depcruise, ['src', 'streams', 'graphviz', '--config', CONFIG, '--output-type', 'err'], { cwd: REPO }).catch(
      (err: { stdout?: string; stderr?: string }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? 'depcruise failed' }),
    );
    expect(result.stdout + result.stderr).toMatch(/no dependency violations found/);
  });
});
