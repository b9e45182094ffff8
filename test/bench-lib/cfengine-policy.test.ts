// The peer scenarios' CFEngine policy: its text, and what a real cf-agent makes of it.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findCfAgent, makeCfWorkdir, runCfAgent } from '../bench/lib/cf-agent.js';
import { cfenginePolicy, cfString } from '../bench/lib/cfengine-policy.js';
import { emptyDir, expectConverged, makeManifest, type Manifest } from '../bench/lib/manifest.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();

describe('cfString', () => {
  it('quotes a plain value as it is, keeping newlines literal', () => {
    expect(cfString('one\ntwo\n')).toBe('"one\ntwo\n"');
  });

  it('escapes backslashes and double quotes', () => {
    expect(cfString('a"b\\c')).toBe('"a\\"b\\\\c"');
  });

  it('writes every $ as $(const.dollar), so nothing is taken for a variable', () => {
    expect(cfString('$(sys.host) ${x}')).toBe('"$(const.dollar)(sys.host) $(const.dollar){x}"');
  });
});

describe('cfenginePolicy', () => {
  it('makes one files promise per managed file, with create and content', () => {
    const manifest: Manifest = {
      dir: '/srv/x',
      files: [
        { name: 'a', path: '/srv/x/a', content: 'alpha\n' },
        { name: 'b', path: '/srv/x/b', content: 'say "$HOME"\n' },
      ],
    };
    expect(cfenginePolicy(manifest)).toMatchInlineSnapshot(`
      "body common control
      {
        bundlesequence => { "main" };
      }

      bundle agent main
      {
        files:
          "/srv/x/a"
            create => "true",
            content => "alpha
      ";
          "/srv/x/b"
            create => "true",
            content => "say \\"$(const.dollar)HOME\\"
      ";
      }
      "
    `);
  });

  // Runs only where CFEngine is installed (the peer scenarios install it; the test does not).
  it.skipIf(findCfAgent() === undefined)('makes cf-agent write every file byte for byte, hostile characters included', async () => {
    // GIVEN the bench's files plus one whose content CFEngine could misread
    const tmp = await tempDir();
    const bench = makeManifest(join(tmp, 'files'), 20);
    const hostile = { name: 'hostile', path: join(tmp, 'files', 'hostile'), content: 'a"b\\c\\\\d $(sys.host) ${x} @(y) \'q\' `t` \\n\n\ttab\n' };
    const manifest: Manifest = { dir: bench.dir, files: [...bench.files, hostile] };
    const policy = join(tmp, 'p.cf');
    await writeFile(policy, cfenginePolicy(manifest), { mode: 0o600 });
    await emptyDir(manifest);
    const cfAgent = findCfAgent()!;
    // WHEN cf-agent runs the policy with its state in the test's directory
    await runCfAgent(cfAgent, policy, await makeCfWorkdir(join(tmp, 'cfengine'), cfAgent), 'policy test', 60_000);
    // THEN every file holds exactly its content
    await expectConverged(manifest, 'cf-agent');
    expect(await readFile(hostile.path, 'utf8')).toBe(hostile.content);
  });
});
