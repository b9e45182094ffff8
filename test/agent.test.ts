import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { concat, defer, EMPTY, ignoreElements, NEVER, type Observable, of, ReplaySubject, Subject, throwError } from 'rxjs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runAgent, type AgentOptions } from '../src/agent.js';
import { InputError } from '../src/errors.js';
import type { Frontend, FrontendContext, FrontendEvent, GraphInput } from '../src/frontend/types.js';
import { loadGraph } from '../src/frontend/yaml-load.js';
import type { LogEvent } from '../src/log/events.js';
import { waitFor } from './helpers/log.js';
import { useTempDirs } from './helpers/tmp.js';

/** Lines keeps what the agent writes, one JSON event per line on stdout. */
class Lines extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
  events(): LogEvent[] {
    return this.text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as LogEvent);
  }
}

describe('runAgent', () => {
  const tempDir = useTempDirs();

  /** fileGraph compiles a graph (through the YAML frontend's load) of file resources, each writing its content to its path. */
  async function fileGraph(dir: string, name: string, files: Record<string, string>, input: Partial<GraphInput> = {}): Promise<GraphInput> {
    const yaml = join(dir, `${name}.yaml`);
    const resources = Object.entries(files).map(([path, content]) => `  - name: ${JSON.stringify(path)}\n    path: ${JSON.stringify(path)}\n    content: ${JSON.stringify(content)}\n    state: exists\n`);
    await writeFile(yaml, `graph: ${name}\nresources:\n  file:\n${resources.join('')}`);
    const loaded = await loadGraph(yaml);
    return { graph: loaded.graph, warnings: loaded.warnings, exports: [], usesWorld: false, recollects: false, ...input };
  }

  async function runWith(frontend: Frontend, options: Partial<AgentOptions> = {}): Promise<{ code: number; events: LogEvent[]; stderr: string }> {
    const stdout = new Lines();
    const stderr = new Lines();
    const code = await runAgent(
      {
        frontend,
        origin: { test: 'agent' },
        hostname: 'h1',
        convergedTimeout: 0,
        graphvizFilter: 'dot',
        tmpPrefix: true,
        noop: false,
        logFormat: 'json',
        verbose: false,
        stops: NEVER,
        reloads: NEVER,
        ...options,
      },
      { stdout, stderr },
    );
    return { code, events: stdout.events(), stderr: stderr.text };
  }

  // The second event comes once the first graph is running and its exports are written, as the
  // YAML frontend's export-then-collect pass does: the agent must not count the run converged before.
  const afterFirst = (first: GraphInput, second: (context: FrontendContext) => Observable<FrontendEvent>): Frontend => (context) =>
    concat(of({ graph: first }), defer(async () => context.firstExported).pipe(ignoreElements()), second(context));

  it('GIVEN a frontend that emits two graphs THEN the agent swaps both in, in order, converges and exits 0', async () => {
    const dir = await tempDir();
    const first = await fileGraph(dir, 'one', { [join(dir, 'a')]: 'first' }, { usesWorld: true, recollects: true, warnings: ['a first warning'] });
    // The second graph keeps the first's file (an equal vertex keeps running) and adds one.
    const second = await fileGraph(dir, 'two', { [join(dir, 'a')]: 'first', [join(dir, 'b')]: 'second' }, { warnings: ['a second warning'] });
    // The second graph comes well after the first converged: a run that did not wait for it would exit first.
    const late = defer(async () => {
      await waitFor(() => existsSync(join(dir, 'a')), 'the first graph to apply');
      await new Promise((done) => setTimeout(done, 300));
      return { graph: second };
    });
    const { code, events, stderr } = await runWith(afterFirst(first, () => late));
    expect(code).toBe(0);
    expect(events.filter((e) => e.event === 'graph').map((e) => e.graph)).toEqual(['one', 'two']);
    expect(events.filter((e) => e.event === 'graph')[1]).toMatchObject({ swap: { kept: 1, added: 1, removed: 0 } });
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('first');
    expect(readFileSync(join(dir, 'b'), 'utf8')).toBe('second');
    expect(events.findIndex((e) => e.event === 'converged')).toBeGreaterThan(events.findLastIndex((e) => e.event === 'graph'));
    expect(events.at(-1)).toMatchObject({ event: 'exit', code: 0, reason: 'converged' });
    expect(events.find((e) => e.event === 'start')).toMatchObject({ test: 'agent' });
    // The first graph's warnings go to stderr before anything runs; a later graph's to the log.
    expect(stderr).toBe('warning: a first warning\n');
    expect(events.filter((e) => e.event === 'warning').map((e) => e.message)).toEqual(['a second warning']);
  });

  it('GIVEN a frontend whose second event is an error THEN it is logged, nothing is swapped and the first graph runs to convergence', async () => {
    const dir = await tempDir();
    const first = await fileGraph(dir, 'one', { [join(dir, 'a')]: 'first' }, { usesWorld: true, recollects: true });
    const broken = new InputError({ message: 'broken edit' });
    const { code, events } = await runWith(afterFirst(first, () => of({ error: broken })));
    expect(code).toBe(0);
    expect(events.filter((e) => e.event === 'graph').map((e) => e.graph)).toEqual(['one']);
    expect(events.find((e) => e.event === 'error')).toMatchObject({ level: 'error', phase: 'reload', message: `graph not swapped: ${broken.message}` });
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('first');
    expect(events.at(-1)).toMatchObject({ event: 'exit', code: 0 });
  });

  it('GIVEN a frontend that breaks after its first graph THEN the break is logged and the first graph runs to convergence', async () => {
    const dir = await tempDir();
    const first = await fileGraph(dir, 'one', { [join(dir, 'a')]: 'first' }, { usesWorld: true, recollects: true });
    const { code, events } = await runWith(afterFirst(first, () => throwError(() => new Error('the source is gone'))));
    expect(code).toBe(0);
    expect(events.find((e) => e.event === 'error')).toMatchObject({ level: 'error', phase: 'frontend', message: 'the source is gone' });
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('first');
    expect(events.at(-1)).toMatchObject({ event: 'exit', code: 0, reason: 'converged' });
  });

  it('GIVEN a frontend whose first notification is an error THEN runAgent throws it, nothing applied, the temporary prefix removed', async () => {
    const broken = new InputError({ message: 'not a graph' });
    const stdout = new Lines();
    // The temporary prefix is made under TMPDIR: a directory of the test's own, to see it removed.
    const tmp = await tempDir();
    const previousTmp = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    onTestFinished(() => {
      if (previousTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previousTmp;
    });
    const run = runAgent(
      { frontend: () => throwError(() => broken), hostname: 'h1', convergedTimeout: 0, graphvizFilter: 'dot', tmpPrefix: true, noop: false, logFormat: 'json', verbose: false, stops: NEVER, reloads: NEVER },
      { stdout, stderr: new Lines() },
    );
    await expect(run).rejects.toBe(broken);
    expect(readdirSync(tmp)).toEqual([]);
    expect(stdout.events().map((e) => e.event)).not.toContain('graph');
    expect(stdout.events().map((e) => e.event)).not.toContain('start');
  });

  it('GIVEN a frontend that ends without a graph THEN runAgent fails with a clear error', async () => {
    await expect(runWith(() => EMPTY)).rejects.toThrow('the frontend ended without a graph');
  });

  it('GIVEN a stop asked for before the first graph THEN nothing is applied and the run exits 0 with that reason', async () => {
    const dir = await tempDir();
    const first = await fileGraph(dir, 'one', { [join(dir, 'a')]: 'first' });
    const { code, events } = await runWith(() => of({ graph: first }), { stops: of('SIGTERM'), convergedTimeout: -1 });
    expect(code).toBe(0);
    expect(existsSync(join(dir, 'a'))).toBe(false);
    expect(events.filter((e) => e.event === 'graph')).toEqual([]);
    expect(events.at(-1)).toMatchObject({ event: 'exit', code: 0, reason: 'SIGTERM' });
  });

  it('GIVEN a running graph WHEN two stops come THEN the second cuts the waits short and is named in the exit', async () => {
    const dir = await tempDir();
    const first = await fileGraph(dir, 'one', { [join(dir, 'a')]: 'first' });
    const stops = new Subject<string>();
    const frontend: Frontend = (context) =>
      concat(
        of({ graph: first }),
        defer(async () => {
          await context.firstExported;
          stops.next('SIGTERM');
          stops.next('SIGINT');
        }).pipe(ignoreElements()),
      );
    const { events } = await runWith(frontend, { stops, convergedTimeout: -1 });
    expect(events.filter((e) => e.event === 'stopping').map((e) => e.reason)).toEqual(['SIGTERM', 'SIGINT']);
    expect(events.at(-1)).toMatchObject({ event: 'exit', reason: 'SIGTERM, then SIGINT' });
  });

  it('GIVEN the reloads given to the agent THEN the frontend receives them', async () => {
    const dir = await tempDir();
    const first = await fileGraph(dir, 'one', { [join(dir, 'a')]: 'first' }, { usesWorld: true, recollects: true });
    const second = await fileGraph(dir, 'two', { [join(dir, 'b')]: 'second' });
    const reloads = new Subject<void>();
    // The second graph comes only on a reload request, which is sent once the first pass is done.
    const frontend = afterFirst(first, (context) =>
      defer(() => {
        const answer = new ReplaySubject<FrontendEvent>();
        context.reloads.subscribe(() => answer.next({ graph: second }));
        reloads.next();
        return answer;
      }),
    );
    const { events } = await runWith(frontend, { reloads });
    expect(events.filter((e) => e.event === 'graph').map((e) => e.graph)).toEqual(['one', 'two']);
  });
});
