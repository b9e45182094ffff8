import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileGraph } from '../../src/graph/compile.js';
import { defaultRegistry } from '../../src/resources/index.js';
import { loadGraphFile } from '../../src/yamlgraph/parse.js';
import { aptHistoryMark, aptHistorySince, createAptRepo, testPackage, type AptRepo } from '../helpers/apt-repo.js';
import { REPO_ROOT, runMgmt } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/tmp.js';

const EXAMPLE = join(REPO_ROOT, 'examples', 'pkg-autogroup.yaml');
const SEED_PACKAGES = ['powertop', 'sl', 'cowsay'];
const tempDir = useTempDirs();

describe('examples/pkg-autogroup.yaml', () => {
  it('GIVEN the example WHEN compiled THEN its three packages are one vertex', async () => {
    const spec = await loadGraphFile(EXAMPLE, defaultRegistry, { strict: true });
    const graph = compileGraph(spec, defaultRegistry, { strict: true });
    expect([...graph.vertices.keys()]).toEqual(['pkg[autogroup:(cowsay,powertop,sl)]']);
    expect(graph.vertices.get('pkg[autogroup:(cowsay,powertop,sl)]')!.members.map((m) => m.name)).toEqual(['cowsay', 'powertop', 'sl']);
  });

  // The same graph on test packages from a local repository: offline, and the host keeps its packages.
  describe.skipIf(process.getuid?.() !== 0)('run against a local repository', () => {
    let repo: AptRepo;
    const rename = (name: string): string => testPackage(`ex-${name}`);
    beforeAll(async () => {
      repo = await createAptRepo(SEED_PACKAGES.map((name) => ({ name: rename(name) })));
    });
    afterAll(async () => {
      await repo?.close();
    });

    it('GIVEN the example WHEN run THEN one apt-get call installs the three and it converges with exit 0', async () => {
      let text = await readFile(EXAMPLE, 'utf8');
      for (const name of SEED_PACKAGES) text = text.replace(`- name: ${name}\n`, `- name: ${rename(name)}\n`);
      const yaml = join(await tempDir(), 'pkg-autogroup.yaml');
      await writeFile(yaml, text);
      const mark = await aptHistoryMark();
      const result = await runMgmt(['run', '--yaml', yaml, '--pkg-backend', 'apt', '--converged-timeout=0', '--tmp-prefix', '--no-watch', '--log-format', 'json'], {
        env: repo.env,
      });
      expect(result.code, result.stderr).toBe(0);
      expect(await aptHistorySince(mark, SEED_PACKAGES.map(rename))).toHaveLength(1);
      for (const name of SEED_PACKAGES) expect(await repo.installedVersion(rename(name))).toBe('1.0');
    });
  });
});
