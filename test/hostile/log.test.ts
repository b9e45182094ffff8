// Finding 8 of issue 10 (hostile names in the text log), and from findings 10 and 11: the text log
// of a noop run, and the JSON log of a very large group.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMgmt } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();

// A text log line begins with its time; a forged one would begin the same way.
const EXIT_LINE = /^\d\d:\d\d:\d\d\.\d{3} (?:[A-Z]+ )?exit \(/;
// Any control character but the newline that ends each line.
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

describe('finding 8: hostile names and messages in the text log', () => {
  it('finding 8: a name and a message with newlines and ANSI/OSC escapes cannot forge an exit line or reach the terminal raw', async () => {
    // GIVEN a local graph whose resource name and message carry a newline, a forged exit line,
    // and terminal escapes (YAML double quotes spell them \n, \r, \e, \x07, \x9b)
    const dir = await tempDir();
    const yaml = join(dir, 'hostile.yaml');
    const forged = '12:00:00.000 exit (code=0 reason=converged failed=[])';
    await writeFile(
      yaml,
      [
        'graph: hostile',
        'resources:',
        '  print:',
        `  - name: "p\\n${forged}\\e]0;owned\\x07"`,
        `    msg: "hi\\r\\n${forged}\\e[2J\\x9b31m\\x7f"`,
        '',
      ].join('\n'),
    );

    // WHEN it runs with the text log
    const result = await runMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--converged-timeout', '0']);

    // THEN the only exit line is the real one, and no control character reached stderr
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stderr.split('\n');
    expect(lines.filter((line) => EXIT_LINE.test(line))).toEqual([expect.stringMatching(/exit \(code=0 reason=converged/)]);
    expect(result.stderr).not.toMatch(CONTROL);
    // AND what they said is still there, escaped, on the resource's own line
    expect(lines).toContainEqual(expect.stringContaining(`print[p\\n${forged}\\e]0;owned\\x07]: Msg: hi\\r\\n${forged}\\e[2J\\x9b31m\\x7f`));
  });
});

describe('finding 10: a noop run in text mode', () => {
  it('finding 10: --noop reports each resource that would change at info level in text mode', async () => {
    // GIVEN a file that does not exist yet
    const dir = await tempDir();
    const yaml = join(dir, 'noop.yaml');
    const path = join(dir, 'absent');
    await writeFile(yaml, ['graph: noop', 'resources:', '  file:', '  - name: f', `    path: "${path}"`, '    content: "x\\n"', ''].join('\n'));

    // WHEN a noop run checks it
    const result = await runMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--noop', '--converged-timeout', '0']);

    // THEN the text log says it would change
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^\d\d:\d\d:\d\d\.\d{3} file\[f\]: would change \(noop\)/m);
  });

  it('finding 10: --noop reports what would change once, not again when a parent runs after it', async () => {
    // GIVEN a file after a noop anchor (examples/hello.yaml): its parent's run pokes it
    const dir = await tempDir();
    const yaml = join(dir, 'noop.yaml');
    const path = join(dir, 'absent');
    const edge = ['edges:', '- {name: e1, from: {kind: noop, name: anchor}, to: {kind: file, name: f}}'];
    await writeFile(yaml, ['graph: noop', 'resources:', '  noop:', '  - name: anchor', '  file:', '  - name: f', `    path: "${path}"`, '    content: "x\\n"', ...edge, ''].join('\n'));

    // WHEN a noop run checks it
    const result = await runMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--noop', '--converged-timeout', '0']);

    // THEN one line says it would change
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr.match(/file\[f\]: would change \(noop\)/g), result.stderr).toHaveLength(1);
  });
});

describe('finding 11: the JSON log of a large group', () => {
  it('finding 11: a group of 20,000 noop members runs with --log-format json, each member event naming its group in bounded size', async () => {
    // GIVEN 20,000 noops, which autogroup into one vertex
    const dir = await tempDir();
    const yaml = join(dir, 'group.yaml');
    const count = 20_000;
    const names = Array.from({ length: count }, (_, i) => `  - name: member-${String(i).padStart(5, '0')}`);
    await writeFile(yaml, ['graph: big-group', 'resources:', '  noop:', ...names, ''].join('\n'));

    // WHEN it runs with the JSON log
    const result = await runMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json', '--converged-timeout', '0'], { timeoutMs: 90_000 });

    // THEN it converges and exits 0 (it crashed with `Invalid string length` at 2.7 GB)
    expect(result.code, result.stderr.slice(0, 2000)).toBe(0);
    const checks = result.events.filter((e) => e.event === 'check');
    expect(checks).toHaveLength(count);
    for (const check of checks) {
      expect(check).toMatchObject({ members: count, group: expect.stringMatching(/^noop\[autogroup:\(member-00000,/) });
      expect((check.group as string).length).toBeLessThan(300);
    }
  }, 120_000);
});
