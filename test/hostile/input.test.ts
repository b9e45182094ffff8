// Issue 10, findings 7, 10 and 11 (input): whatever `mgmt run` would fail on, misread or run as
// root by mistake, `mgmt check` refuses first, and `mgmt run` refuses it before anything applies.
// Every graph also holds a plain sentinel file: if any resource had been applied, it would exist.
// Every path is in a temp dir; account names are refused before any tool could see them.

import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveCredentials } from '../../src/resources/exec-credentials.js';
import { resolveId } from '../../src/resources/file-ids.js';
import { defaultRegistry } from '../../src/resources/index.js';
import { withCollected, type CollectProblem } from '../../src/world/collect.js';
import type { ExportedResource } from '../../src/world/types.js';
import { parseGraph } from '../../src/yamlgraph/parse.js';
import { runMgmt, type MgmtResult } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();
const never = new AbortController().signal;
const RUN_ONCE = ['--converged-timeout=0', '--tmp-prefix', '--no-watch'];

/** Refusal is one diagnostic a graph must get: the resource, a marker on its line, and what the message says. */
interface Refusal {
  readonly id: string | RegExp;
  /** Text on the line the diagnostic must point at. */
  readonly at: string;
  readonly says: RegExp;
}

/** Graph is a graph file in a temp dir with a sentinel file resource at its end. */
interface Graph {
  readonly dir: string;
  readonly file: string;
  readonly sentinel: string;
}

/**
 * writeGraph writes `resources` (YAML lines under `resources:`, `DIR` standing for the temp dir)
 * with a sentinel file resource added to them.
 */
async function writeGraph(resources: string): Promise<Graph> {
  const dir = await tempDir();
  const sentinel = join(dir, 'sentinel');
  const file = join(dir, 'graph.yaml');
  const item = `  - name: ${sentinel}\n    content: "applied\\n"\n`;
  const body = resources.replaceAll('DIR', dir);
  // A second `file:` key would be a YAML error of its own: the sentinel joins the file list when there is one.
  const withSentinel = /^ {2}file:$/m.test(body) ? body.replace(/^ {2}file:\n/m, `  file:\n${item}`) : `${body}  file:\n${item}`;
  await writeFile(file, `graph: hostile\nresources:\n${withSentinel}`);
  return { dir, file, sentinel };
}

/** lineOf returns the 1-based line of the graph file holding `marker` (`DIR` standing for the temp dir). */
async function lineOf(graph: Graph, marker: string): Promise<number> {
  const lines = (await readFile(graph.file, 'utf8')).split('\n');
  const at = lines.findIndex((line) => line.includes(marker.replaceAll('DIR', graph.dir)));
  if (at < 0) throw new Error(`no line holds ${marker}`);
  return at + 1;
}

/** expectRefused asserts that `result` is exit 2 with one line per refusal, at its line, naming its resource. */
async function expectRefused(graph: Graph, result: MgmtResult, refusals: readonly Refusal[]): Promise<void> {
  expect(result.code, result.stderr).toBe(2);
  const lines = result.stderr.trim().split('\n');
  // One line per problem: a newline in a hostile value must not start a line of its own.
  for (const text of lines) expect(text.startsWith(`${graph.file}:`), `a line that is not a diagnostic: ${JSON.stringify(text)}`).toBe(true);
  for (const refusal of refusals) {
    const line = await lineOf(graph, refusal.at);
    const found = lines.find((text) => {
      const prefix = `${graph.file}:${line}:`;
      if (!text.startsWith(prefix)) return false;
      const rest = text.slice(prefix.length).replace(/^\d+: /, '');
      const idOk = typeof refusal.id === 'string' ? rest.startsWith(`${refusal.id}: `) : refusal.id.test(rest);
      return idOk && refusal.says.test(rest);
    });
    expect(found, `a line ${graph.file}:${line}:COL: ${String(refusal.id)}: ${String(refusal.says)} in\n${result.stderr}`).toBeDefined();
  }
}

/** refusedByCheckAndRun runs `mgmt check` and then `mgmt run` on the graph: both must refuse it, and nothing may be applied. */
async function refusedByCheckAndRun(resources: string, refusals: readonly Refusal[], untouched: readonly string[] = []): Promise<void> {
  const graph = await writeGraph(resources);
  await expectRefused(graph, await runMgmt(['check', '--yaml', graph.file]), refusals);
  await expectRefused(graph, await runMgmt(['run', '--yaml', graph.file, ...RUN_ONCE]), refusals);
  for (const path of [graph.sentinel, ...untouched.map((p) => p.replaceAll('DIR', graph.dir))]) {
    expect(existsSync(path), `${path} was created: something was applied`).toBe(false);
  }
}

describe('hostile input: finding 7, what check called valid failed at run time', () => {
  it('finding 7: a NUL byte in a path, a command, an env value or an owner is refused by check and run, nothing applied', async () => {
    await refusedByCheckAndRun(
      [
        '  file:',
        '  - name: nul-path',
        '    path: "DIR/a\\0b"',
        '    content: "x"',
        '  - name: nul-owner',
        '    path: DIR/owned',
        '    owner: "root\\0x"',
        '  exec:',
        '  - name: nul-cmd',
        '    cmd: "/bin/touch DIR/ran\\0x"',
        '  - name: nul-env',
        '    cmd: /bin/true',
        '    env: {A: "x\\0y"}',
        '',
      ].join('\n'),
      [
        { id: 'file[nul-path]', at: 'DIR/a\\0b', says: /`path`: ".*" contains a NUL byte/ },
        { id: 'file[nul-owner]', at: 'root\\0x', says: /`owner`: "root\\u0000x" contains a NUL byte/ },
        { id: 'exec[nul-cmd]', at: 'ran\\0x', says: /`cmd`: ".*" contains a NUL byte/ },
        { id: 'exec[nul-env]', at: 'x\\0y', says: /`env`: the value of "A": "x\\u0000y" contains a NUL byte/ },
      ],
      ['DIR/owned', 'DIR/ran'],
    );
  });

  it('finding 7: a NUL byte in a resource name is refused, at the name', async () => {
    await refusedByCheckAndRun('  file:\n  - name: "DIR/named\\0x"\n    content: "x"\n', [
      { id: /^file\[.*named/, at: 'named\\0x', says: /`name`: the name ".*" contains a NUL byte/ },
    ]);
  });

  it('finding 7: owners 99999999999999999999, -1 and 4294967295 ((uid_t)-1, "no change") are refused; no file is created', async () => {
    await refusedByCheckAndRun(
      [
        '  file:',
        '  - name: DIR/huge',
        '    content: "x"',
        '    owner: "99999999999999999999"',
        '  - name: DIR/minus',
        '    content: "x"',
        '    owner: "-1"',
        '  - name: DIR/nochange',
        '    content: "x"',
        '    owner: "4294967295"',
        '  - name: DIR/badgroup',
        '    content: "x"',
        '    group: "4294967295"',
        '',
      ].join('\n'),
      [
        { id: /^file\[.*\/huge\]: /, at: '"99999999999999999999"', says: /`owner`: owner "99999999999999999999" is out of range/ },
        { id: /^file\[.*\/minus\]: /, at: '"-1"', says: /`owner`: owner "-1" is not a valid name/ },
        { id: /^file\[.*\/nochange\]: /, at: 'owner: "4294967295"', says: /`owner`: owner "4294967295" is out of range: an id is a whole number from 0 to 4294967294/ },
        { id: /^file\[.*\/badgroup\]: /, at: 'group: "4294967295"', says: /`group`: group "4294967295" is out of range/ },
      ],
      ['DIR/huge', 'DIR/minus', 'DIR/nochange', 'DIR/badgroup'],
    );
  });

  it('finding 7: a 300-byte path component (NAME_MAX 255) and a path over PATH_MAX 4096 are refused', async () => {
    const long = 'c'.repeat(300);
    const deep = Array.from({ length: 20 }, () => 'd'.repeat(250)).join('/');
    await refusedByCheckAndRun(
      ['  file:', `  - name: DIR/${long}`, '    content: "x"', `  - name: DIR/${deep}/f`, '    content: "x"', '  - name: long-source', '    path: DIR/copy', `    source: /tmp/${long}`, ''].join('\n'),
      [
        { id: /^file\[.*c{300}\]: /, at: long, says: /`path`: path ".*" has a component of 300 bytes, "c+\.\.\.": at most 255 \(NAME_MAX\)/ },
        { id: /^file\[.*d{250}\/f\]: /, at: 'dddd/f', says: /`path`: path ".*" is \d+ bytes long: a path must be shorter than 4096 bytes \(PATH_MAX\)/ },
        { id: 'file[long-source]', at: 'source:', says: /`source`: source ".*" has a component of 300 bytes/ },
      ],
      ['DIR/copy'],
    );
  });

  it('finding 7: what the kernel would refuse to start (a 300-byte program name, a 128 KiB argument or env value) is refused', async () => {
    const huge = 'v'.repeat(140_000);
    await refusedByCheckAndRun(
      [
        '  exec:',
        '  - name: long-program',
        `    cmd: /tmp/${'p'.repeat(300)} DIR/ran-program`,
        '  - name: long-env',
        '    cmd: /bin/touch DIR/ran-env',
        `    env: {BIG: ${huge}}`,
        '  - name: long-shell-cmd',
        `    cmd: "echo ${huge} > DIR/ran-shell"`,
        '    shell: /bin/sh',
        '',
      ].join('\n'),
      [
        { id: 'exec[long-program]', at: 'pppp', says: /`cmd`: ".*" has a component of 300 bytes/ },
        { id: 'exec[long-env]', at: 'BIG:', says: /`env`: "BIG=v+\.\.\." is 140004 bytes: one argument of a command must be shorter than 131072 \(MAX_ARG_STRLEN\)/ },
        { id: 'exec[long-shell-cmd]', at: 'echo vvv', says: /`cmd`: "echo v+\.\.\." is \d+ bytes: one argument/ },
      ],
      ['DIR/ran-program', 'DIR/ran-env', 'DIR/ran-shell'],
    );
  });

  it('finding 7: a package named -oAPT::Get::Show-Versions=1 is refused by check, not only when it initialises', async () => {
    await refusedByCheckAndRun('  pkg:\n  - name: "-oAPT::Get::Show-Versions=1"\n    state: installed\n', [
      { id: 'pkg[-oAPT::Get::Show-Versions=1]', at: '-oAPT', says: /`name`: "-oAPT::Get::Show-Versions=1" is not a valid package name/ },
    ]);
  });

  it('finding 7: a collected resource goes through the same validation: a hostile export is refused with a collect problem naming the field', () => {
    // The collect path is the collect helper's: this pins that it calls the shared validation. The
    // entries allow exec and accounts (the collect branch's opt-ins): allowed, they are still validated.
    const spec = parseGraph('graph: c\ncollect:\n- {kind: pkg}\n- {kind: user, allow: [accounts]}\n- {kind: exec, allow: [exec]}\n', 'c.yaml', defaultRegistry);
    const exports: ExportedResource[] = [
      { host: 'evil', kind: 'pkg', name: '-oAPT::Get::Show-Versions=1', params: { state: 'installed' } },
      { host: 'evil', kind: 'user', name: 'a:b', params: { state: 'absent' } },
      { host: 'evil', kind: 'exec', name: 'nul', params: { cmd: '/bin/true', env: { A: 'x\0y' } } },
      { host: 'evil', kind: 'exec', name: 'as-root', params: { cmd: '/bin/true', user: '--service=files' } },
    ];
    const problems: CollectProblem[] = [];
    const result = withCollected(spec, exports, defaultRegistry, (problem) => problems.push(problem));
    expect(result.resources).toEqual([]);
    expect(problems.map((p) => p.from)).toEqual(['evil:pkg[-oAPT::Get::Show-Versions=1]', 'evil:user[a:b]', 'evil:exec[nul]', 'evil:exec[as-root]']);
    expect(problems[0]!.reason).toMatch(/`name`: "-oAPT::Get::Show-Versions=1" is not a valid package name/);
    expect(problems[1]!.reason).toMatch(/`name`: the user name "a:b" is not a valid name/);
    expect(problems[2]!.reason).toMatch(/`env`: .*contains a NUL byte/);
    expect(problems[3]!.reason).toMatch(/`user`: "--service=files" is not a valid name/);
  });
});

describe('hostile input: finding 11, names that programs read as options', () => {
  it('finding 11: exec user or group "--service=files" is refused by check and run; the command never runs (it ran as root)', async () => {
    await refusedByCheckAndRun(
      [
        '  exec:',
        '  - name: as-user',
        '    cmd: "id -u > DIR/ran-user"',
        '    shell: /bin/sh',
        '    user: "--service=files"',
        '  - name: as-group',
        '    cmd: "id -g > DIR/ran-group"',
        '    shell: /bin/sh',
        '    group: "-x"',
        '  - name: as-huge',
        '    cmd: "id -u > DIR/ran-huge"',
        '    shell: /bin/sh',
        '    user: "4294967296"',
        '',
      ].join('\n'),
      [
        { id: 'exec[as-user]', at: '--service=files', says: /`user`: "--service=files" is not a valid name .*not starting with "-"/ },
        { id: 'exec[as-group]', at: '"-x"', says: /`group`: "-x" is not a valid name/ },
        { id: 'exec[as-huge]', at: '"4294967296"', says: /`user`: "4294967296" is out of range/ },
      ],
      ['DIR/ran-user', 'DIR/ran-group', 'DIR/ran-huge'],
    );
  });

  it('finding 11: getent gets a name after `--`, so "--service=files" is an unknown user, never root', async () => {
    await expect(resolveCredentials('--service=files', '', process.env.PATH ?? '/usr/bin:/bin', never)).rejects.toThrow(/user "--service=files" does not exist/);
    await expect(resolveCredentials('', '--service=files', process.env.PATH ?? '/usr/bin:/bin', never)).rejects.toThrow(/group "--service=files" does not exist/);
    await expect(resolveId('user', '--service=files')).rejects.toThrow(/does not exist/);
    await expect(resolveId('user', '4294967295')).rejects.toThrow(/out of range/);
  });

  it('finding 11: user and group names with ":", "," or a newline, and homedirs with control characters, are refused by check and run', async () => {
    // state absent: had the graph been accepted, nothing would have been created either.
    await refusedByCheckAndRun(
      [
        '  user:',
        '  - name: "mgmt-t-in:put"',
        '    state: absent',
        '  - name: "mgmt-t-in,put"',
        '    state: absent',
        '  - name: "mgmt-t-in\\nput"',
        '    state: absent',
        '  - name: mgmt-t-input',
        '    state: absent',
        '    homedir: "/tmp/\\e[31mred/"',
        '  group:',
        '  - name: "-mgmt-t-input"',
        '    state: absent',
        '',
      ].join('\n'),
      [
        { id: 'user[mgmt-t-in:put]', at: 'in:put', says: /`name`: the user name "mgmt-t-in:put" is not a valid name/ },
        { id: 'user[mgmt-t-in,put]', at: 'in,put', says: /`name`: the user name "mgmt-t-in,put" is not a valid name/ },
        { id: 'user[mgmt-t-in\\nput]', at: 'in\\nput', says: /`name`: the user name "mgmt-t-in\\nput" is not a valid name/ },
        { id: 'user[mgmt-t-input]', at: 'homedir:', says: /`homedir`: "\/tmp\/\\u001b\[31mred\/" contains a control character/ },
        { id: 'group[-mgmt-t-input]', at: '-mgmt-t-input', says: /`name`: the group name "-mgmt-t-input" is not a valid name/ },
      ],
    );
  });
});

describe('hostile input: finding 10, semaphores', () => {
  it('finding 10: a sema ":3" is accepted, as upstream (the pool --sema 3 gives every resource)', async () => {
    const graph = await writeGraph('  noop:\n  - name: n\n    meta: {sema: [":3", "lock:2"]}\n');
    const result = await runMgmt(['check', '--yaml', graph.file]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('finding 10: every bad sema entry of a resource is reported, not only the first', async () => {
    await refusedByCheckAndRun('  noop:\n  - name: n\n    meta: {sema: ["", ok, "42", "lock:0"]}\n', [
      { id: 'noop[n]', at: 'sema:', says: /meta `sema`: entry "" is empty/ },
      { id: 'noop[n]', at: 'sema:', says: /meta `sema`: entry "42": the id must not be a bare integer/ },
      { id: 'noop[n]', at: 'sema:', says: /meta `sema`: entry "lock:0": the count after the last ':' must be a whole number above 0/ },
    ]);
  });
});
