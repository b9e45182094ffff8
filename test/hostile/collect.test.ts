// Issue 10, finding 4 (collected resources escape) and the collect-timing bugs of findings 10 and
// 11. Another host's export is hostile input: every case writes it straight into a real loopback
// etcd (or the local World, where that is the real path) and aims at decoys in a temp dir, never
// at a real system file.

import { existsSync, lstatSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LogEvent } from '../../src/log/events.js';
import { runMgmt, type MgmtResult } from '../helpers/cli.js';
import { useCluster } from '../helpers/cluster.js';
import { etcdPut, skipEtcdReason, useEtcd } from '../helpers/etcd.js';
import { useTempDirs } from '../helpers/tmp.js';

const TEST_TIMEOUT_MS = 90_000;
const RUN_ONCE = ['--converged-timeout=0', '--no-watch', '--tmp-prefix', '--log-format', 'json'];

const tempDir = useTempDirs();
const startEtcd = useEtcd();
const { startHost } = useCluster();

/** hostileStore starts a real etcd holding `exports` (`host/kind/name` -> params) as other hosts' exports; it returns its client URL. */
async function hostileStore(exports: Readonly<Record<string, unknown>>): Promise<string> {
  const etcd = await startEtcd();
  await etcd.server.start();
  for (const [where, params] of Object.entries(exports)) {
    const [host, kind, ...name] = where.split('/');
    await etcdPut(etcd.clientUrl, `/_mgmt/exported/${host}/resources/${kind}/${name.join('/')}`, JSON.stringify(params));
  }
  return etcd.clientUrl;
}

/** collectOnce runs `yaml` once as a client of the store at `seed` (no etcd of its own). */
function collectOnce(yaml: string, seed: string): Promise<MgmtResult> {
  return runMgmt(['run', '--yaml', yaml, '--hostname', 'victim', '--insecure', '--seeds', seed, '--no-server', ...RUN_ONCE], { timeoutMs: 60_000 });
}

/** refusals are a run's `collect` warnings about refused exports. */
function refusals(result: MgmtResult): LogEvent[] {
  return result.events.filter((e) => e.event === 'collect' && e.level === 'warn' && typeof e.from === 'string');
}

/** decoy writes a file that must survive, and returns its path. */
async function decoy(dir: string, name: string, content: string, mode = 0o644): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await writeFile(path, content);
  await chmod(path, mode);
  return path;
}

describe('hostile collect', { skip: skipEtcdReason !== undefined }, () => {
  it('finding 4: a `file` collect without a pattern is refused by check and run (exit 2, file:line); the /etc/passwd decoy is untouched', async () => {
    const root = await tempDir();
    const passwd = await decoy(join(root, 'etc'), 'passwd', 'root:x:0:0:root:/root:/bin/bash\n');
    const yaml = join(root, 'g.yaml');
    await writeFile(yaml, 'graph: victim\nresources:\n  noop:\n  - {name: n}\ncollect:\n- kind: file\n');
    const seed = await hostileStore({ 'evil/file/x/dn': { path: '/x/dn', dirname: `${root}/etc/`, basename: 'passwd', content: 'dn\n' } });

    const checked = await runMgmt(['check', '--yaml', yaml]);
    expect(checked.code, checked.stderr).toBe(2);
    expect(checked.stderr).toContain(`${yaml}:6:3: collect #1: a \`file\` collect needs a \`pattern\``);
    const ran = await collectOnce(yaml, seed);
    expect(ran.code, ran.stderr).toBe(2);
    expect(ran.stderr).toContain(`${yaml}:6:3: collect #1: a \`file\` collect needs a \`pattern\``);
    expect(ran.events.filter((e) => e.event === 'apply')).toEqual([]);
    expect(readFileSync(passwd, 'utf8')).toBe('root:x:0:0:root:/root:/bin/bash\n');
  }, TEST_TIMEOUT_MS);

  it('finding 4: `dirname` and `basename` of a collected file cannot point outside its pattern: it lands in the pattern under the name they give', async () => {
    const root = await tempDir();
    const passwd = await decoy(join(root, 'etc'), 'passwd', 'untouched\n');
    const inbox = join(root, 'inbox');
    const yaml = join(root, 'g.yaml');
    await writeFile(yaml, `graph: victim\ncollect:\n- {kind: file, pattern: "${inbox}/"}\n`);
    const seed = await hostileStore({ 'evil/file/x/dn': { path: '/x/dn', dirname: `${root}/etc/`, basename: 'passwd', content: 'dn\n' } });

    const ran = await collectOnce(yaml, seed);
    expect(ran.code, ran.stderr).toBe(0);
    expect(readFileSync(passwd, 'utf8')).toBe('untouched\n');
    expect(readFileSync(join(inbox, 'passwd'), 'utf8')).toBe('dn\n');
    expect(existsSync(join(inbox, 'dn'))).toBe(false);
  }, TEST_TIMEOUT_MS);

  it("finding 4: a pattern-less collect (allow: [anypath]) still refuses a `source` copying this host's root-only file, naming the field", async () => {
    const root = await tempDir();
    const secret = await decoy(join(root, 'private'), 'shadow', 'root:$6$secret:::\n', 0o600);
    const leak = join(root, 'public', 'shadow-copy');
    await mkdir(join(root, 'public'));
    const yaml = join(root, 'g.yaml');
    await writeFile(yaml, 'graph: victim\ncollect:\n- {kind: file, allow: [anypath]}\n');
    const seed = await hostileStore({ 'evil/file/leak': { path: leak, source: secret, mode: '0644' } });

    const ran = await collectOnce(yaml, seed);
    expect(ran.code, ran.stderr).toBe(0);
    expect(existsSync(leak)).toBe(false);
    expect(refusals(ran).map((e) => [e.from, e.field, e.allow])).toEqual([['evil:file[leak]', 'source', 'source']]);
  }, TEST_TIMEOUT_MS);

  it('finding 4: a collected `mode: "6777"` with `owner: root` is refused (set-uid and owner), no file is made; `allow: [setuid, owner]` lets it through', async () => {
    const root = await tempDir();
    const inbox = join(root, 'inbox');
    const suid = { path: '/x/suid', content: '#!/bin/sh\n', mode: '6777', owner: 'root' };
    const seed = await hostileStore({ 'evil/file/suid': suid });
    const yaml = join(root, 'g.yaml');
    await writeFile(yaml, `graph: victim\ncollect:\n- {kind: file, pattern: "${inbox}/"}\n`);

    const ran = await collectOnce(yaml, seed);
    expect(ran.code, ran.stderr).toBe(0);
    expect(existsSync(join(inbox, 'suid'))).toBe(false);
    expect(refusals(ran).map((e) => [e.from, e.field, e.allow])).toEqual([
      ['evil:file[suid]', 'mode', 'setuid'],
      ['evil:file[suid]', 'owner', 'owner'],
    ]);

    // GIVEN the operator opts in THEN the same export is applied as exported.
    await writeFile(yaml, `graph: victim\ncollect:\n- {kind: file, pattern: "${inbox}/", allow: [setuid, owner]}\n`);
    const allowed = await collectOnce(yaml, seed);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(refusals(allowed)).toEqual([]);
    expect(statSync(join(inbox, 'suid')).mode & 0o7777).toBe(0o6777);
  }, TEST_TIMEOUT_MS);

  it('finding 4: a collected exec is refused unless the collect entry allows `exec`; its command never runs', async () => {
    const root = await tempDir();
    const pwned = join(root, 'pwned');
    const seed = await hostileStore({ 'evil/exec/own': { cmd: `/usr/bin/touch ${pwned}` } });
    const yaml = join(root, 'g.yaml');
    await writeFile(yaml, 'graph: victim\ncollect:\n- {kind: exec}\n');

    const ran = await collectOnce(yaml, seed);
    expect(ran.code, ran.stderr).toBe(0);
    expect(existsSync(pwned)).toBe(false);
    expect(refusals(ran).map((e) => [e.from, e.field, e.allow])).toEqual([['evil:exec[own]', 'cmd', 'exec']]);
  }, TEST_TIMEOUT_MS);

  it("finding 4: a host that sorts earlier cannot displace another host's collected file: both are kept out, the event names both hosts", async () => {
    const root = await tempDir();
    const inbox = join(root, 'inbox');
    const seed = await hostileStore({
      '0evil/file/motd': { path: '/elsewhere/motd', content: 'evil motd\n' },
      'good/file/motd': { path: '/srv/motd', content: 'good motd\n', mode: '0644' },
    });
    const yaml = join(root, 'g.yaml');
    await writeFile(yaml, `graph: victim\ncollect:\n- {kind: file, pattern: "${inbox}/"}\n`);

    const ran = await collectOnce(yaml, seed);
    expect(ran.code, ran.stderr).toBe(0);
    expect(existsSync(join(inbox, 'motd'))).toBe(false);
    const refused = refusals(ran);
    expect(refused.map((e) => e.from).sort()).toEqual(['0evil:file[motd]', 'good:file[motd]']);
    for (const event of refused) expect(String(event.message)).toMatch(/0evil:file\[motd\].*good:file\[motd\]|good:file\[motd\].*0evil:file\[motd\]/);
  }, TEST_TIMEOUT_MS);

  // Needs the links branch (finding 1: the file kind replaces a symlink at its path instead of
  // writing through it) to pass; collecting adds no path of its own that could follow the link.
  it('finding 4 (passes with the links branch, finding 1): a collected file whose name matches a symlink in the pattern directory replaces the link, its target untouched', async () => {
    const root = await tempDir();
    const target = await decoy(join(root, 'elsewhere'), 'precious', 'precious\n');
    const inbox = join(root, 'inbox');
    await mkdir(inbox);
    await symlink(target, join(inbox, 'motd'));
    const seed = await hostileStore({ 'evil/file/motd': { path: '/x/motd', content: 'through the link\n', mode: '0666' } });
    const yaml = join(root, 'g.yaml');
    await writeFile(yaml, `graph: victim\ncollect:\n- {kind: file, pattern: "${inbox}/"}\n`);

    const ran = await collectOnce(yaml, seed);
    expect(ran.code, ran.stderr).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe('precious\n');
    expect(statSync(target).mode & 0o777).toBe(0o644);
    expect(lstatSync(join(inbox, 'motd')).isSymbolicLink(), 'the link is still there').toBe(false);
    expect(readFileSync(join(inbox, 'motd'), 'utf8')).toBe('through the link\n');
  }, TEST_TIMEOUT_MS);

  it('finding 10: with --no-watch a graph that collects applies its own exports in the same pass (local World)', async () => {
    const root = await tempDir();
    const dir = join(root, 'files');
    const yaml = join(root, 'g.yaml');
    await writeFile(
      yaml,
      `graph: self
resources:
  file:
  - {name: f1, path: "${dir}/f1", content: "kept\\n"}
  - {name: "@@f3", path: "/anywhere/f3", content: "exported\\n"}
collect:
- {kind: file, pattern: "${dir}/"}
`,
    );
    const ran = await runMgmt(['run', '--yaml', yaml, '--no-server', ...RUN_ONCE]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(readFileSync(join(dir, 'f1'), 'utf8')).toBe('kept\n');
    expect(readFileSync(join(dir, 'f3'), 'utf8')).toBe('exported\n');
  }, TEST_TIMEOUT_MS);

  it('finding 11: a one-shot run that collects, on the host that starts etcd (no --seeds), applies what it collected before it exits', async () => {
    const root = await tempDir();
    const dir = join(root, 'files');
    const yaml = join(root, 'g.yaml');
    await writeFile(
      yaml,
      `graph: boot
resources:
  file:
  - {name: "@@f3", path: "/anywhere/f3", content: "exported\\n"}
collect:
- {kind: file, pattern: "${dir}/"}
`,
    );
    const host = await startHost('boot', { yaml, extraArgs: ['--converged-timeout=0'] });
    const result = await host.proc.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(join(dir, 'f3'), 'utf8')).toBe('exported\n');
  }, TEST_TIMEOUT_MS);
});
