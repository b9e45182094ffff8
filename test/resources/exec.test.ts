import { existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { firstValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { exec, type ExecParams } from '../../src/resources/exec.js';
import { DEFAULT_COMMAND_LIMIT, runProcess, setCommandLimit } from '../../src/resources/exec-process.js';
import { defaultRegistry } from '../../src/resources/index.js';
import type { LiveResource } from '../../src/core/kind.js';
import { makeContext, type TestContext } from '../helpers/context.js';
import { waitFor } from '../helpers/log.js';
import { isAlive } from '../helpers/pids.js';
import { useTempDirs } from '../helpers/tmp.js';

const SPAWN_GRANDCHILD = fileURLToPath(new URL('../fixtures/scripts/spawn-grandchild.sh', import.meta.url));
const EXAMPLES = '/work/shared/compat/mgmt-examples';
const tempDir = useTempDirs();

// start builds a live exec from the defaults plus `params`, with a context that records its logs.
function start(params: Partial<ExecParams>): { live: LiveResource; ctx: TestContext } {
  const ctx = makeContext('exec', 'test');
  const full = { ...exec.defaults('test'), ...params };
  expect(exec.validate(full)).toEqual([]);
  return { live: exec.init(full, ctx), ctx };
}

const never = new AbortController().signal;

// stdoutOf returns what `role` printed, as logged at debug level ('' when it printed nothing).
function stdoutOf(ctx: TestContext, role = 'cmd'): string {
  const prefix = `${role} stdout: `;
  const entry = ctx.logs.find((e) => e.level === 'debug' && e.message?.startsWith(prefix));
  return entry?.message?.slice(prefix.length) ?? '';
}

describe('exec checkApply', () => {
  it('runs the command and reports a change', async () => {
    // GIVEN an exec that creates a marker file
    const dir = await tempDir();
    const { live } = start({ cmd: `touch ${join(dir, 'ran')}` });
    // WHEN it is applied
    const ok = await live.checkApply(true, never);
    // THEN it ran and reported "changed"
    expect(ok).toBe(false);
    expect(existsSync(join(dir, 'ran'))).toBe(true);
  });

  it('runs again each time it is asked to (a refresh re-runs it)', async () => {
    const dir = await tempDir();
    const log = join(dir, 'log');
    const { live, ctx } = start({ cmd: `echo run >> ${log}`, shell: '/bin/sh' });
    await live.checkApply(true, never);
    ctx.setRefresh(true);
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await readFile(log, 'utf8')).toBe('run\nrun\n');
  });

  it('never runs the command when apply is false', async () => {
    const dir = await tempDir();
    const { live } = start({ cmd: `touch ${join(dir, 'ran')}` });
    expect(await live.checkApply(false, never)).toBe(false);
    expect(existsSync(join(dir, 'ran'))).toBe(false);
  });

  it('skips the command when ifcmd fails, runs it when ifcmd succeeds', async () => {
    const dir = await tempDir();
    const skipped = start({ cmd: `touch ${join(dir, 'a')}`, ifcmd: 'false' });
    expect(await skipped.live.checkApply(true, never)).toBe(true);
    expect(existsSync(join(dir, 'a'))).toBe(false);

    const ran = start({ cmd: `touch ${join(dir, 'b')}`, ifcmd: 'true' });
    expect(await ran.live.checkApply(true, never)).toBe(false);
    expect(existsSync(join(dir, 'b'))).toBe(true);
  });

  it('skips the command when nifcmd succeeds, runs it when nifcmd fails', async () => {
    const dir = await tempDir();
    const skipped = start({ cmd: `touch ${join(dir, 'a')}`, nifcmd: 'true' });
    expect(await skipped.live.checkApply(true, never)).toBe(true);
    expect(existsSync(join(dir, 'a'))).toBe(false);

    const ran = start({ cmd: `touch ${join(dir, 'b')}`, nifcmd: `test -e ${join(dir, 'b')}` });
    expect(await ran.live.checkApply(true, never)).toBe(false);
    // nifcmd now succeeds: the work is done
    expect(await ran.live.checkApply(true, never)).toBe(true);
  });

  it('skips the command while the creates path exists', async () => {
    const dir = await tempDir();
    const flag = join(dir, 'flag');
    const { live } = start({ cmd: `touch ${flag}`, creates: flag });
    expect(await live.checkApply(false, never)).toBe(false); // absent: it would run
    expect(await live.checkApply(true, never)).toBe(false); // runs and creates it
    expect(await live.checkApply(true, never)).toBe(true); // present: nothing to do
  });

  it('runs guards but not the command when apply is false', async () => {
    const dir = await tempDir();
    const { live } = start({ cmd: `touch ${join(dir, 'cmd')}`, ifcmd: `touch ${join(dir, 'if')}` });
    expect(await live.checkApply(false, never)).toBe(false);
    expect(existsSync(join(dir, 'if'))).toBe(true);
    expect(existsSync(join(dir, 'cmd'))).toBe(false);
  });

  it('splits cmd on whitespace without a shell: quotes and $ are plain characters', async () => {
    const { live, ctx } = start({ cmd: 'echo "a   b" $HOME' });
    await live.checkApply(true, never);
    expect(stdoutOf(ctx)).toBe('"a b" $HOME');
  });

  it('runs cmd through the shell when shell is set', async () => {
    const { live, ctx } = start({ cmd: 'echo $((1 + 2)) "a   b"', shell: '/bin/sh' });
    await live.checkApply(true, never);
    expect(stdoutOf(ctx)).toBe('3 a   b');
  });

  it('passes args as single arguments, untouched', async () => {
    const { live, ctx } = start({ cmd: 'printf', args: ['%s|', 'a  b', '$(x)'] });
    await live.checkApply(true, never);
    expect(stdoutOf(ctx)).toBe('a  b|$(x)|');
  });

  it('never interprets shell syntax without a shell', async () => {
    const dir = await tempDir();
    const marker = join(dir, 'x');
    const { live } = start({ cmd: `echo $(touch ${marker}) ; touch ${marker} && touch ${marker}` });
    await live.checkApply(true, never);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('starts commands with an empty environment plus env', async () => {
    const bare = start({ cmd: 'env' });
    await bare.live.checkApply(true, never);
    expect(stdoutOf(bare.ctx)).toBe('');

    const given = start({ cmd: 'env', env: { FOO: 'bar baz', X: '1' } });
    await given.live.checkApply(true, never);
    expect(stdoutOf(given.ctx).split('\n').sort()).toEqual(['FOO=bar baz', 'X=1']);
  });

  it('runs in cwd', async () => {
    const dir = await tempDir();
    const { live, ctx } = start({ cmd: 'pwd', cwd: dir });
    await live.checkApply(true, never);
    expect(stdoutOf(ctx)).toBe(realpathSync(dir));
  });

  it.skipIf(process.getuid?.() !== 0)('runs as user with that user’s primary group', async () => {
    const { live, ctx } = start({ cmd: 'id', args: ['-u'], user: 'daemon', ifcmd: 'id -g' });
    await live.checkApply(true, never);
    expect(stdoutOf(ctx)).toBe('1');
    expect(stdoutOf(ctx, 'ifcmd')).toBe('1');
  });

  it('throws with the exit code and the end of stderr when the command fails', async () => {
    const { live } = start({ cmd: 'echo first >&2; echo oops >&2; exit 3', shell: '/bin/sh' });
    await expect(live.checkApply(true, never)).rejects.toThrow(/^cmd ".*" exited with code 3: first \| oops$/);
  });

  it('throws a clear error for a program that is not on PATH or a missing cwd', async () => {
    const missing = start({ cmd: 'no-such-program-4711 --flag' });
    await expect(missing.live.checkApply(true, never)).rejects.toThrow(
      /cmd "no-such-program-4711 --flag" could not be started: command "no-such-program-4711" was not found in PATH/,
    );
    const badCwd = start({ cmd: 'true', cwd: '/no/such/dir' });
    await expect(badCwd.live.checkApply(true, never)).rejects.toThrow(/cwd "\/no\/such\/dir" is not usable/);
  });

  it('kills a command that runs longer than timeout', async () => {
    const { live } = start({ cmd: 'sleep 30', timeout: 1 });
    const began = Date.now();
    await expect(live.checkApply(true, never)).rejects.toThrow('cmd "sleep 30" timed out after 1 s and was killed');
    expect(Date.now() - began).toBeLessThan(5000);
  });

  it('kills the whole process group on abort', async () => {
    // GIVEN a command that started a grandchild
    const dir = await tempDir();
    const pids = join(dir, 'pids');
    const { live } = start({ cmd: SPAWN_GRANDCHILD, args: [pids] });
    const controller = new AbortController();
    const running = live.checkApply(true, controller.signal);
    await waitFor(() => existsSync(pids), 'the fixture to record its pids');
    const [parent, grandchild] = readFileSync(pids, 'utf8').trim().split(' ').map(Number) as [number, number];
    expect(isAlive(parent) && isAlive(grandchild)).toBe(true);
    // WHEN the run is aborted
    controller.abort(new Error('test abort'));
    // THEN checkApply rejects with the reason, and neither process survives it
    await expect(running).rejects.toThrow('test abort');
    expect(isAlive(parent)).toBe(false);
    expect(isAlive(grandchild)).toBe(false);
  });

  it('cleanup kills a command that is still running', async () => {
    const dir = await tempDir();
    const pids = join(dir, 'pids');
    const { live } = start({ cmd: SPAWN_GRANDCHILD, args: [pids] });
    const running = live.checkApply(true, never);
    await waitFor(() => existsSync(pids), 'the fixture to record its pids');
    const [parent, grandchild] = readFileSync(pids, 'utf8').trim().split(' ').map(Number) as [number, number];
    await live.cleanup?.();
    await expect(running).rejects.toThrow(/shutting down/);
    expect(isAlive(parent) || isAlive(grandchild)).toBe(false);
  });
});

describe('exec command limit', () => {
  it('runs at most the command limit at once; the others wait for a slot and all finish', async () => {
    // GIVEN a limit of 2 and 6 commands that record when they run
    const dir = await tempDir();
    const marks = join(dir, 'marks');
    setCommandLimit(2);
    try {
      const spec = { file: '/bin/sh', args: ['-c', `echo s >> ${marks}; sleep 0.2; echo e >> ${marks}`], env: {} };
      // WHEN they are all started at once
      const results = await Promise.all(Array.from({ length: 6 }, () => runProcess(spec, { signal: never })));
      // THEN all exited 0, never more than 2 at a time
      expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0, 0, 0]);
      let running = 0;
      let peak = 0;
      for (const mark of readFileSync(marks, 'utf8').trim().split('\n')) {
        running += mark === 's' ? 1 : -1;
        peak = Math.max(peak, running);
      }
      expect(peak).toBe(2);
    } finally {
      setCommandLimit(DEFAULT_COMMAND_LIMIT);
    }
  });

  it('an abort while waiting for a slot rejects with its reason and runs nothing', async () => {
    setCommandLimit(1);
    const busy = new AbortController();
    try {
      const first = runProcess({ file: '/bin/sleep', args: ['30'], env: {} }, { signal: busy.signal });
      const waiting = new AbortController();
      const second = runProcess({ file: '/bin/true', args: [], env: {} }, { signal: waiting.signal });
      waiting.abort(new Error('stopping'));
      await expect(second).rejects.toThrow('stopping');
      busy.abort(new Error('done'));
      await expect(first).rejects.toThrow('done');
    } finally {
      setCommandLimit(DEFAULT_COMMAND_LIMIT);
    }
  });

  it('refuses a limit below 1', () => {
    expect(() => setCommandLimit(0)).toThrow('the command limit must be a whole number above 0, got 0');
  });
});

describe('exec watch', () => {
  it('emits once (ready) and completes without watchcmd or creates', async () => {
    const { live } = start({ cmd: 'true' });
    expect(await firstValueFrom(live.watch().pipe(toArray()))).toEqual([undefined]);
  });

  it('emits when watchcmd starts and once per read of what it prints; its exit is an error', async () => {
    const { live, ctx } = start({ cmd: 'true', watchcmd: 'echo one; sleep 0.1; echo two; echo three; exit 4', watchshell: '/bin/sh' });
    let events = 0;
    const error = await new Promise<Error>((resolve) => {
      live.watch().subscribe({ next: () => events++, error: resolve, complete: () => resolve(new Error('completed')) });
    });
    // started, "one", then "two" and "three" (one read, or two)
    expect(events).toBeGreaterThanOrEqual(3);
    expect(events).toBeLessThanOrEqual(4);
    expect(error.message).toBe('watchcmd "echo one; sleep 0.1; echo two; echo three; exit 4" exited with code 4');
    expect(ctx.logs.map((e) => e.message)).toEqual(expect.arrayContaining(['watchcmd: one', 'watchcmd: two', 'watchcmd: three']));
  });

  it('turns a watchcmd that prints without pause into a bounded number of events, logging a count instead of every line', async () => {
    // GIVEN `yes`, which prints millions of lines a second
    const { live, ctx } = start({ cmd: 'true', watchcmd: 'yes' });
    let events = 0;
    const subscription = live.watch().subscribe({ next: () => events++, error: () => undefined });
    // WHEN it runs for half a second
    await new Promise((resolve) => setTimeout(resolve, 500));
    subscription.unsubscribe();
    await live.cleanup?.();
    // THEN reads are at least 10 ms apart: at most about 50 events, each logging a few lines and a count
    expect(events).toBeGreaterThan(1);
    expect(events).toBeLessThan(100);
    expect(ctx.logs.length).toBeLessThan(100 * 6);
    expect(ctx.logs.map((e) => e.message)).toContainEqual(expect.stringMatching(/^watchcmd: \.\.\. and \d+ more lines$/));
  });

  it('reports a watchcmd that exits with code 0 as an error too (upstream "reached EOF")', async () => {
    const { live } = start({ cmd: 'true', watchcmd: 'sleep 0.2' });
    await expect(firstValueFrom(live.watch().pipe(toArray()))).rejects.toThrow('watchcmd "sleep 0.2" exited with code 0');
  });

  it('kills the watchcmd process group on unsubscribe', async () => {
    const dir = await tempDir();
    const pids = join(dir, 'pids');
    const { live } = start({ cmd: 'true', watchcmd: `${SPAWN_GRANDCHILD} ${pids}` });
    const subscription = live.watch().subscribe({ error: () => undefined });
    await waitFor(() => existsSync(pids), 'the fixture to record its pids');
    const [parent, grandchild] = readFileSync(pids, 'utf8').trim().split(' ').map(Number) as [number, number];
    subscription.unsubscribe();
    await live.cleanup?.(); // waits for the SIGKILL sweep
    expect(isAlive(parent) || isAlive(grandchild)).toBe(false);
  });

  it('emits when the creates path appears', async () => {
    const dir = await tempDir();
    const flag = join(dir, 'flag');
    const { live } = start({ cmd: 'true', creates: flag });
    let events = 0;
    const subscription = live.watch().subscribe(() => events++);
    try {
      await waitFor(() => events === 1, 'the watch to be ready');
      await writeFile(flag, '');
      await waitFor(() => events >= 2, 'an event for the created file');
    } finally {
      subscription.unsubscribe();
    }
  });

  it('is ready only when both watchcmd and the creates watch are', async () => {
    const dir = await tempDir();
    const { live } = start({
      cmd: 'true',
      creates: join(dir, 'flag'),
      watchcmd: 'echo early; sleep 0.5; echo later; sleep 30',
      watchshell: '/bin/sh',
    });
    // A line printed before the file watch is up is folded into the ready emission; "later" is not.
    const events = await firstValueFrom(live.watch().pipe(take(2), toArray()));
    expect(events).toHaveLength(2); // ready, then a line
    await live.cleanup?.();
  });
});

describe('exec validate', () => {
  const problems = (params: Partial<ExecParams>) => exec.validate({ ...exec.defaults('x'), ...params }).map((p) => p.param);

  it('accepts the defaults: cmd is the name', () => {
    expect(exec.defaults('sleep 1').cmd).toBe('sleep 1');
    expect(problems({})).toEqual([]);
  });

  it('reports every problem at once', () => {
    expect(
      problems({
        cmd: '  ',
        shell: 'bash',
        watchshell: 'sh',
        ifshell: 'x',
        nifshell: 'y',
        cwd: 'rel',
        watchcwd: 'rel',
        ifcwd: 'rel',
        nifcwd: 'rel',
        creates: 'flag',
        timeout: -1,
        env: { 'NOT-A-NAME': '1', '1X': '2', OK_1: '3' },
      }),
    ).toEqual(['cmd', 'shell', 'watchshell', 'ifshell', 'nifshell', 'cwd', 'watchcwd', 'ifcwd', 'nifcwd', 'creates', 'timeout', 'env', 'env']);
  });

  it('allows args only without shell and with a one-word cmd', () => {
    expect(problems({ cmd: 'echo', args: ['a'] })).toEqual([]);
    expect(problems({ cmd: 'echo', args: ['a'], shell: '/bin/sh' })).toEqual(['args']);
    expect(problems({ cmd: 'echo hi', args: ['a'] })).toEqual(['args']);
  });

  it('quotes the bad value', () => {
    expect(exec.validate({ ...exec.defaults('x'), creates: 'flag' })).toEqual([
      { param: 'creates', reason: 'must be an absolute path, got "flag"' },
    ]);
    expect(exec.validate({ ...exec.defaults('x'), timeout: 1.5 })[0]?.reason).toMatch(/got 1\.5 \(number\)$/);
  });

  it('declares the dead upstream keys pollint and state as deprecated', () => {
    expect(exec.params.pollint?.deprecated).toBeTruthy();
    expect(exec.params.state?.deprecated).toBeTruthy();
  });
});

// The upstream examples must load with our kinds: every key is a declared parameter of the right
// type, and the merged parameters validate.
describe('upstream examples with exec, timer and msg', () => {
  const files = readdirSync(EXAMPLES).filter((f) => /^(exec.*|timer.*|msg1)\.yaml$/.test(f));

  it('are there', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
  });

  it.each(files)('%s loads and validates', async (file) => {
    const doc = parse(await readFile(join(EXAMPLES, file), 'utf8')) as { resources: Record<string, Record<string, unknown>[]> };
    for (const [kind, entries] of Object.entries(doc.resources)) {
      const def = defaultRegistry.get(kind);
      expect(def, `kind ${kind}`).toBeDefined();
      for (const { name, meta: _meta, ...values } of entries) {
        for (const [key, value] of Object.entries(values)) {
          const spec = def!.params[key];
          expect(spec, `${kind}[${name}].${key}`).toBeDefined();
          const types: Record<string, (v: unknown) => boolean> = {
            string: (v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean',
            bool: (v) => typeof v === 'boolean',
            int: (v) => Number.isInteger(v),
            uint: (v) => Number.isInteger(v) && (v as number) >= 0,
            number: (v) => typeof v === 'number',
            stringList: (v) => Array.isArray(v),
            stringMap: (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
          };
          expect(types[spec!.type]!(value), `${kind}[${name}].${key} is a ${spec!.type}`).toBe(true);
        }
        const params = { ...def!.defaults(String(name)), ...values };
        expect(def!.validate(params), `${kind}[${name}]`).toEqual([]);
      }
    }
  });
});
