// Hostile battery, links (issue 10 findings 1, 9 and 11's set-uid copies and FIFOs): a real
// unprivileged user (`nobody`, through setpriv) plants symlinks where root manages files. Every
// target the attacker aims at is a decoy in the test's temp dir, never a real system file.

import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { file, type FileParams } from '../../src/resources/file.js';
import type { LiveResource } from '../../src/core/kind.js';
import { startMgmt } from '../helpers/cli.js';
import { makeContext } from '../helpers/context.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();
const NOBODY = 65534;
const never = new AbortController().signal;

/** asNobody runs a command as the unprivileged user nobody (uid and gid 65534, no groups). */
function asNobody(args: readonly string[]): void {
  execFileSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', ...args], { stdio: 'pipe' });
}

/** arena makes a temp dir nobody can traverse, holding a root-only 0600 decoy file and a decoy directory. */
async function arena(): Promise<{ dir: string; decoy: string; decoyDir: string }> {
  const dir = await tempDir();
  chmodSync(dir, 0o755);
  const decoy = join(dir, 'decoy');
  writeFileSync(decoy, 'root only\n', { mode: 0o600 });
  const decoyDir = join(dir, 'decoy-dir');
  mkdirSync(join(decoyDir, 'tree'), { recursive: true, mode: 0o700 });
  writeFileSync(join(decoyDir, 'tree', 'keep'), 'keep me\n', { mode: 0o600 });
  return { dir, decoy, decoyDir };
}

/** nobodysDir makes a directory owned by nobody (0755) under `dir`. */
function nobodysDir(dir: string, name: string): string {
  const path = join(dir, name);
  mkdirSync(path, { mode: 0o755 });
  chownSync(path, NOBODY, NOBODY);
  return path;
}

/** expectUntouched asserts the decoy file is still root's, 0600, with its content. */
function expectUntouched(decoy: string): void {
  const stats = statSync(decoy);
  expect({ uid: stats.uid, gid: stats.gid, mode: stats.mode & 0o7777 }).toEqual({ uid: 0, gid: 0, mode: 0o600 });
  expect(readFileSync(decoy, 'utf8')).toBe('root only\n');
}

function expectTreeIntact(decoyDir: string): void {
  expect(readFileSync(join(decoyDir, 'tree', 'keep'), 'utf8')).toBe('keep me\n');
  expect(readdirSync(decoyDir)).toEqual(['tree']);
}

function make(params: Partial<FileParams> & { path: string }): LiveResource {
  const full: FileParams = { ...file.defaults(params.path), ...params };
  expect(file.validate(full)).toEqual([]);
  return file.init(full, makeContext('file', params.path));
}

const converge = (res: LiveResource): Promise<boolean> => res.checkApply(true, never);

function writeGraph(dir: string, resources: ReadonlyArray<Record<string, unknown>>): string {
  const yaml = join(dir, 'graph.yaml');
  const lines = ['graph: hostile-links', 'resources:', '  file:'];
  for (const res of resources) {
    lines.push(`    - name: ${JSON.stringify(res.name)}`);
    for (const [key, value] of Object.entries(res)) if (key !== 'name') lines.push(`      ${key}: ${JSON.stringify(value)}`);
  }
  writeFileSync(yaml, lines.join('\n') + '\n');
  return yaml;
}

describe('hostile: links at the managed path (finding 1)', () => {
  it('finding 1: nobody replaces a managed file by a symlink to a root-only file; the agent replaces the link and never chowns or chmods the decoy', async () => {
    const { dir, decoy } = await arena();
    const home = nobodysDir(dir, 'home');
    const managed = join(home, 'secret.conf');
    const yaml = writeGraph(dir, [{ name: managed, content: 'managed\n', owner: 'nobody', mode: '0640' }]);
    const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json']);
    const applies = (): number => agent.events.filter((e) => e.event === 'apply' && e.resource === `file[${managed}]`).length;
    await agent.waitForEvent(() => applies() >= 1, 'the first apply');
    expect(statSync(managed).uid).toBe(NOBODY);

    // nobody owns the directory, so it may replace the file by a link to root's secret.
    asNobody(['ln', '-sf', decoy, managed]);
    await agent.waitForEvent(() => applies() >= 2 && lstatSync(managed).isFile(), 'the repair', 30_000);

    expectUntouched(decoy);
    const stats = lstatSync(managed);
    expect(stats.isFile()).toBe(true);
    expect({ uid: stats.uid, mode: stats.mode & 0o7777 }).toEqual({ uid: NOBODY, mode: 0o640 });
    expect(readFileSync(managed, 'utf8')).toBe('managed\n');
    expect(agent.events.filter((e) => e.event === 'error')).toEqual([]);
    agent.child.kill('SIGTERM');
    await agent.exited;
  });

  it('finding 1: a symlink at a managed file with only a mode is replaced; the link target keeps its mode', async () => {
    const { dir, decoy } = await arena();
    const managed = join(nobodysDir(dir, 'd'), 'f');
    asNobody(['ln', '-s', decoy, managed]);
    expect(await converge(make({ path: managed, mode: '0644', owner: 'nobody' }))).toBe(false);
    expectUntouched(decoy);
    expect(lstatSync(managed).isFile()).toBe(true);
    expect(statSync(managed).mode & 0o7777).toBe(0o644);
  });

  it('finding 1: a symlink at a managed directory is replaced by the directory; the target directory keeps its mode and owner', async () => {
    const { dir, decoyDir } = await arena();
    const managed = join(nobodysDir(dir, 'd'), 'sub');
    asNobody(['ln', '-s', decoyDir, managed]);
    expect(await converge(make({ path: `${managed}/`, mode: '0750', owner: 'nobody' }))).toBe(false);
    expect(lstatSync(managed).isDirectory()).toBe(true);
    expect(statSync(managed).uid).toBe(NOBODY);
    const target = statSync(decoyDir);
    expect({ uid: target.uid, mode: target.mode & 0o7777 }).toEqual({ uid: 0, mode: 0o700 });
    expectTreeIntact(decoyDir);
  });
});

describe('hostile: links in the parents (finding 1)', () => {
  it('finding 1: a symlinked parent in a directory nobody owns is an error naming the link; nothing is written through it', async () => {
    const { dir, decoyDir } = await arena();
    const home = nobodysDir(dir, 'home');
    asNobody(['ln', '-s', decoyDir, join(home, 'sub')]);
    const res = make({ path: join(home, 'sub', 'f'), content: 'x', owner: 'nobody' });
    await expect(converge(res)).rejects.toThrow(`unsafe path: ${join(home, 'sub')} is a symlink in ${home}`);
    expectTreeIntact(decoyDir);
    // Nor is a missing directory made through it.
    await expect(converge(make({ path: join(home, 'sub', 'new', 'f'), content: 'x' }))).rejects.toThrow('unsafe path');
    expectTreeIntact(decoyDir);
  });

  it('finding 1: state absent with recurse under a symlinked parent leaves the target tree intact', async () => {
    const { dir, decoyDir } = await arena();
    const home = nobodysDir(dir, 'home');
    asNobody(['ln', '-s', decoyDir, join(home, 'data')]);
    await expect(converge(make({ path: join(home, 'data', 'tree') + '/', state: 'absent', recurse: true }))).rejects.toThrow('unsafe path');
    expectTreeIntact(decoyDir);
  });

  it('finding 1 (what stays allowed): links only root controls (like /var/run -> /run) and links into the planter\'s own directory are followed', async () => {
    const { dir } = await arena();
    mkdirSync(join(dir, 'run'));
    symlinkSync('run', join(dir, 'var-run')); // root's link in root's directory
    const viaRoot = join(dir, 'var-run', 'f');
    expect(await converge(make({ path: viaRoot, content: 'ok\n' }))).toBe(false);
    expect(readFileSync(join(dir, 'run', 'f'), 'utf8')).toBe('ok\n');

    const home = nobodysDir(dir, 'home');
    nobodysDir(home, 'real');
    asNobody(['ln', '-s', 'real', join(home, 'alias')]); // nobody's link into nobody's directory
    expect(await converge(make({ path: join(home, 'alias', 'f'), content: 'ok\n' }))).toBe(false);
    expect(readFileSync(join(home, 'real', 'f'), 'utf8')).toBe('ok\n');
  });

  it('finding 1: a parent swapped for a symlink while the agent runs; the next repair does not write outside', async () => {
    const { dir, decoyDir } = await arena();
    const home = nobodysDir(dir, 'home');
    const sub = nobodysDir(home, 'sub');
    const managed = join(sub, 'f');
    const yaml = writeGraph(dir, [{ name: managed, content: 'managed\n' }]);
    const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json']);
    await agent.waitForEvent((e) => e.event === 'apply' && e.resource === `file[${managed}]`, 'the first apply');

    // nobody moves its directory aside and puts a link to the decoy in its place (the agent is
    // stopped meanwhile, or it would remake the missing directory first), then removes the
    // managed file from the moved directory so the agent repairs.
    agent.child.kill('SIGSTOP');
    try {
      asNobody(['mv', sub, join(home, 'moved')]);
      asNobody(['ln', '-s', decoyDir, sub]);
    } finally {
      agent.child.kill('SIGCONT');
    }
    asNobody(['rm', join(home, 'moved', 'f')]);
    await agent.waitForEvent((e) => e.event === 'error' && String(e.message).includes('unsafe path'), 'the refused repair', 30_000);

    expectTreeIntact(decoyDir);
    agent.child.kill('SIGTERM');
    await agent.exited;
  });
});

describe('hostile: recursive removal (finding 1)', () => {
  it('finding 1 (guard): a recursive removal removes a symlink inside the tree, never the tree it points at', async () => {
    const { dir, decoyDir } = await arena();
    const data = join(dir, 'data');
    mkdirSync(join(data, 'inner'), { recursive: true });
    symlinkSync(decoyDir, join(data, 'inner', 'link'));
    symlinkSync(join(decoyDir, 'tree', 'keep'), join(data, 'file-link'));
    expect(await converge(make({ path: `${data}/`, state: 'absent', recurse: true }))).toBe(false);
    expect(existsSync(data)).toBe(false);
    expectTreeIntact(decoyDir);
  });

  it('finding 1: a recursive removal stops at a mount point (a bind mount too) and says so; the mounted tree is intact', async () => {
    const { dir, decoyDir } = await arena();
    const data = join(dir, 'data');
    const mount = join(data, 'mnt');
    mkdirSync(mount, { recursive: true });
    writeFileSync(join(data, 'gone'), 'x');
    execFileSync('mount', ['--bind', decoyDir, mount]);
    try {
      await expect(converge(make({ path: `${data}/`, state: 'absent', recurse: true }))).rejects.toThrow(
        `${mount} is a mount point, and the agent never deletes across a mount`,
      );
      expectTreeIntact(decoyDir);
      expect(existsSync(join(data, 'gone'))).toBe(false); // the rest was removed
    } finally {
      execFileSync('umount', [mount]);
    }
    expectTreeIntact(decoyDir);
  });
});

describe('hostile: temp files of a killed write (finding 9)', () => {
  it('finding 9: a temp file left by a SIGKILL mid-write is removed by the next run; other names, links and directories are not', async () => {
    const { dir, decoy } = await arena();
    const source = join(dir, 'big-source');
    writeFileSync(source, Buffer.alloc(48 << 20, 'x'));
    const out = join(dir, 'out');
    mkdirSync(out);
    const managed = join(out, 'big');
    const yaml = writeGraph(dir, [{ name: managed, source }]);
    const temps = (): string[] => readdirSync(out).filter((name) => name.startsWith('.big.mgmt-'));

    // Kill the agent while its temp file exists; when the write won the race, try again.
    for (let attempt = 0; temps().length === 0; attempt++) {
      if (attempt === 10) throw new Error('never caught the agent mid-write');
      if (existsSync(managed)) execFileSync('rm', ['-f', managed]);
      const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json']);
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          if (temps().length > 0 || existsSync(managed) || agent.child.exitCode !== null) {
            agent.child.kill('SIGKILL');
            clearInterval(timer);
            resolve();
          }
        }, 1);
      });
      await agent.exited;
    }
    const [left] = temps();
    expect(lstatSync(join(out, left!)).isFile()).toBe(true);
    // Look-alikes the agent must leave: another file's temp, a link, a directory.
    writeFileSync(join(out, '.other.mgmt-abcd1234'), 'not ours');
    symlinkSync(decoy, join(out, '.big.mgmt-link0000'));
    mkdirSync(join(out, '.big.mgmt-dir00000'));

    const run = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json', '--converged-timeout=0']);
    const result = await run.exited;
    expect(result.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['.big.mgmt-dir00000', '.big.mgmt-link0000', '.other.mgmt-abcd1234', 'big']);
    expect(result.events.some((e) => e.event === 'log' && String(e.message).includes(`removed ${join(out, left!)}`))).toBe(true);
    expectUntouched(decoy);
  });
});

describe('hostile: set-id copies and special files (finding 11)', () => {
  it('finding 11: a set-uid source owned by nobody is copied without its set-uid bit unless mode asks for it', async () => {
    const { dir } = await arena();
    const source = join(nobodysDir(dir, 'src'), 'tool');
    writeFileSync(source, '#!/bin/sh\n');
    chownSync(source, NOBODY, NOBODY);
    chmodSync(source, 0o6755);
    const copy = join(dir, 'copy');
    expect(await converge(make({ path: copy, source }))).toBe(false);
    expect(statSync(copy).mode & 0o7777).toBe(0o755);
    expect(statSync(copy).uid).toBe(0);

    // A rewrite from a changed source drops set-id bits the copy had, too.
    chmodSync(copy, 0o4755);
    writeFileSync(source, '#!/bin/sh\necho changed\n');
    expect(await converge(make({ path: copy, source }))).toBe(false);
    expect(statSync(copy).mode & 0o7777).toBe(0o755);

    const asked = join(dir, 'asked');
    expect(await converge(make({ path: asked, source, mode: '4755' }))).toBe(false);
    expect(statSync(asked).mode & 0o7777).toBe(0o4755);

    const tree = join(dir, 'tree');
    expect(await converge(make({ path: `${tree}/`, source: `${join(dir, 'src')}/` }))).toBe(false);
    expect(statSync(join(tree, 'tool')).mode & 0o7777).toBe(0o755);
  });

  it('finding 11: a FIFO at a managed file is not "exists": the check does not block, it is an error without force and replaced with it', async () => {
    const { dir } = await arena();
    const managed = join(nobodysDir(dir, 'd'), 'f');
    asNobody(['mkfifo', managed]);
    for (const params of [{ content: 'x' }, {}]) {
      await expect(converge(make({ path: managed, ...params }))).rejects.toThrow(`${managed} is a FIFO but should be a regular file (set force: true`);
      expect(lstatSync(managed).isFIFO()).toBe(true);
    }
    await expect(make({ path: managed, content: 'x' }).checkApply(false, never)).rejects.toThrow('is a FIFO');
    expect(await converge(make({ path: managed, content: 'x', force: true }))).toBe(false);
    expect(lstatSync(managed).isFile()).toBe(true);
    expect(readFileSync(managed, 'utf8')).toBe('x');

  });
});
