import { rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Subject, type Subscription } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError, UsageError } from '../../src/errors.js';
import type { FrontendContext, FrontendEvent, FrontendFlags } from '../../src/frontend/types.js';
import { yamlFromFlags, yamlFrontend, type YamlFrontendOptions } from '../../src/frontend/yaml.js';
import { createFsWatcher } from '../../src/watchers/fs.js';
import { LocalWorld } from '../../src/world/local.js';
import { collectLog, waitFor } from '../helpers/log.js';
import { useTempDirs } from '../helpers/tmp.js';

const graph = (name: string, noops: string[]): string => `graph: ${name}\nresources:\n  noop:\n${noops.map((n) => `  - name: ${n}\n`).join('')}`;

describe('yamlFrontend', () => {
  const tempDir = useTempDirs();
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

  /** start subscribes the YAML frontend of `path` with a real World and file watcher, keeping what it emits. */
  async function start(dir: string, path: string, options: Partial<YamlFrontendOptions> = {}) {
    const watcher = createFsWatcher();
    const world = new LocalWorld({ hostname: 'h1', dir: join(dir, 'world') });
    const reloads = new Subject<void>();
    const { log, events: logged } = collectLog();
    let exported!: () => void;
    const context: FrontendContext = { world, log, reloads, watchPath: (p) => watcher.watchPath(p), firstExported: new Promise<void>((done) => (exported = done)) };
    const frontend = yamlFrontend({ path, strict: false, noop: false, sema: -1, noAutoedges: false, noAutogroup: false, noWatch: false, reloadQuietMs: 20, ...options });
    const events: FrontendEvent[] = [];
    const errors: unknown[] = [];
    const subscription: Subscription = frontend(context).subscribe({ next: (event) => events.push(event), error: (err) => errors.push(err) });
    cleanups.push(() => {
      subscription.unsubscribe();
      watcher.close();
      void world.close();
    });
    return { events, errors, reloads, logged, exported: () => exported(), frontend, context };
  }
  const graphNames = (events: FrontendEvent[]): string[] => events.flatMap((e) => ('graph' in e ? [e.graph.graph.name] : []));

  it('GIVEN a graph file THEN the first event is its graph, then each settled edit a new one, and a broken edit an error event', async () => {
    const dir = await tempDir();
    const path = join(dir, 'g.yaml');
    await writeFile(path, graph('one', ['a']));
    const run = await start(dir, path);
    await waitFor(() => run.events.length === 1, 'the first graph');
    expect(run.events[0]).toMatchObject({ graph: { usesWorld: false, recollects: false, exports: [], warnings: [] } });
    expect(graphNames(run.events)).toEqual(['one']);
    run.exported();
    // Saved by rename, as editors do: read once it settled.
    await writeFile(join(dir, 'g.tmp'), graph('two', ['a', 'b']));
    await rename(join(dir, 'g.tmp'), path);
    await waitFor(() => run.events.length === 2, 'the edited graph');
    expect(graphNames(run.events)).toEqual(['one', 'two']);
    await writeFile(join(dir, 'g.tmp'), 'graph: three\nresources: [');
    await rename(join(dir, 'g.tmp'), path);
    await waitFor(() => run.events.length === 3, 'the broken edit');
    expect(run.events[2]).toMatchObject({ error: expect.any(InputError) });
    expect(run.errors).toEqual([]);
  });

  it('GIVEN a broken graph file THEN the stream errors with the InputError and emits nothing', async () => {
    const dir = await tempDir();
    const path = join(dir, 'g.yaml');
    await writeFile(path, 'graph: g\nresources: [');
    const run = await start(dir, path);
    await waitFor(() => run.errors.length === 1, 'the error');
    expect(run.errors[0]).toBeInstanceOf(InputError);
    expect(run.events).toEqual([]);
  });

  it('GIVEN --no-watch THEN an edit is not read, but a reload request (SIGHUP) is, and only after the first pass', async () => {
    const dir = await tempDir();
    const path = join(dir, 'g.yaml');
    await writeFile(path, graph('one', ['a']));
    const run = await start(dir, path, { noWatch: true });
    await waitFor(() => run.events.length === 1, 'the first graph');
    await writeFile(path, graph('two', ['a']));
    run.reloads.next();
    // Nothing is reloaded before the first graph's exports are written (well past the quiet time).
    await new Promise((done) => setTimeout(done, 200));
    expect(graphNames(run.events)).toEqual(['one']);
    run.exported();
    await waitFor(() => run.events.length === 2, 'the reloaded graph');
    expect(graphNames(run.events)).toEqual(['one', 'two']);
    await writeFile(path, graph('three', ['a']));
    run.reloads.next();
    await waitFor(() => run.events.length === 3, 'the second reload');
    expect(graphNames(run.events)).toEqual(['one', 'two', 'three']);
  });

  it('GIVEN a graph that exports and collects THEN it says so, and it is collected again once its exports are written', async () => {
    const dir = await tempDir();
    const path = join(dir, 'g.yaml');
    const target = join(dir, 'collected');
    await writeFile(
      path,
      `graph: g\nresources:\n  file:\n  - name: "@@f1"\n    path: ${JSON.stringify(join(target, 'f1'))}\n    content: "x"\n    state: exists\ncollect:\n- kind: file\n  pattern: ${JSON.stringify(target + '/')}\n`,
    );
    const run = await start(dir, path, { noWatch: true });
    await waitFor(() => run.events.length === 1, 'the first graph');
    const first = run.events[0]!;
    if (!('graph' in first)) throw new Error('expected a graph');
    expect(first.graph).toMatchObject({ usesWorld: true, recollects: true, exports: [{ kind: 'file', name: 'f1' }] });
    // Nothing exported yet: the first collect found nothing.
    expect(first.graph.graph.vertices.size).toBe(0);
    await run.context.world.exportResources(first.graph.exports);
    run.exported();
    await waitFor(() => run.events.length === 2, 'the second pass');
    const second = run.events[1]!;
    if (!('graph' in second)) throw new Error('expected a graph');
    expect([...second.graph.graph.vertices.keys()]).toEqual(['file[f1]']);
    expect(run.logged.filter((e) => e.event === 'collect').map((e) => e.count)).toEqual([0, 1]);
  });
});

describe('yamlFromFlags', () => {
  const settings = { noop: false, sema: -1 };
  const flags = { 'reload-quiet': 300 };

  it('GIVEN --yaml or one positional graph file THEN the frontend reads it by its absolute path', () => {
    expect(yamlFromFlags({ ...flags, yaml: 'g.yaml' }, [], settings).origin).toEqual({ yaml: resolve('g.yaml') });
    expect(yamlFromFlags(flags, ['g.yaml'], settings).origin).toEqual({ yaml: resolve('g.yaml') });
  });

  it.each<[string, Record<string, unknown>, string[], string]>([
    ['no graph file', flags, [], 'mgmt run: --yaml FILE is required'],
    ['a second graph file', { ...flags, yaml: 'g.yaml' }, ['h.yaml'], 'mgmt run: unexpected argument "h.yaml" (one graph: --yaml FILE)'],
    ['--reload-quiet over a minute', { yaml: 'g.yaml', 'reload-quiet': 60_001 }, [], 'mgmt run: --reload-quiet must be from 0 to 60000 ms, not 60001'],
    ['a negative --reload-quiet', { yaml: 'g.yaml', 'reload-quiet': -1 }, [], 'mgmt run: --reload-quiet must be from 0 to 60000 ms, not -1'],
  ])('GIVEN %s THEN a UsageError says so', (_what, given, positional, message) => {
    expect(() => yamlFromFlags(given as FrontendFlags, positional, settings)).toThrow(new UsageError(message));
  });
});
