import { describe, expect, it, vi } from 'vitest';
import type { LiveResource, ResourceKind } from '../../src/core/kind.js';
import { buildGraph, makeProbeWorld, type ProbeWorld } from '../helpers/graph.js';
import { idle, useEngines } from '../helpers/engine.js';

const makeEngine = useEngines();

/** SyncWorld is a probe world whose resources also answer checkOKSync, as each test scripts it. */
interface SyncWorld extends ProbeWorld {
  readonly syncKind: ResourceKind<{ tag: string }>;
  /** Each resource's checkOKSync answers, in order (true when empty); a function is called instead. */
  readonly answers: Map<string, Array<boolean | (() => boolean)>>;
  /** The names asked, in order, with the apply flag they were asked with. */
  readonly asked: Array<{ name: string; apply: boolean }>;
}

function makeSyncWorld(options: { refreshable?: boolean } = {}): SyncWorld {
  const world = makeProbeWorld({ kind: 'syncprobe', ...options });
  const answers = new Map<string, Array<boolean | (() => boolean)>>();
  const asked: Array<{ name: string; apply: boolean }> = [];
  const kind = world.kind as ResourceKind<{ tag: string }>;
  const syncKind: ResourceKind<{ tag: string }> = {
    ...kind,
    init(params, ctx) {
      const live = kind.init(params, ctx);
      const withSync: LiveResource = {
        watch: () => live.watch(),
        checkApply: (apply, signal) => live.checkApply(apply, signal),
        cleanup: () => live.cleanup!(),
        checkOKSync(apply) {
          asked.push({ name: ctx.name, apply });
          const next = answers.get(ctx.name)?.shift() ?? true;
          return typeof next === 'function' ? next() : next;
        },
      };
      return withSync;
    },
  };
  return { ...world, syncKind, answers, asked };
}

describe('engine: checkOKSync', () => {
  it('GIVEN 20 resources whose checkOKSync says OK WHEN they converge THEN checkApply never runs, no signal is made, and each reports an OK check', async () => {
    const world = makeSyncWorld();
    const { engine, eventsOf } = makeEngine();
    const signals = vi.spyOn(AbortController.prototype, 'signal', 'get');
    try {
      await engine.swap(buildGraph(Array.from({ length: 20 }, (_, i) => ({ name: `p${i}`, def: world.syncKind }))));
      await idle(engine);
      expect(world.calls).toEqual([]);
      expect(world.asked).toHaveLength(20);
      expect(world.asked.every((ask) => ask.apply)).toBe(true);
      expect(signals).not.toHaveBeenCalled();
      expect(eventsOf('check').map((event) => event.ok)).toEqual(Array.from({ length: 20 }, () => true));
      expect(engine.failures()).toEqual([]);
    } finally {
      signals.mockRestore();
    }
  });

  it('GIVEN checkOKSync says not OK, or throws WHEN the resource checks THEN checkApply runs and its result is reported', async () => {
    const world = makeSyncWorld();
    world.answers.set('wrong', [false]);
    world.answers.set('buggy', [() => { throw new Error('a bug of the kind'); }]);
    world.probe('wrong').script.push(false);
    const { engine, eventsOf } = makeEngine();
    await engine.swap(buildGraph([{ name: 'wrong', def: world.syncKind }, { name: 'buggy', def: world.syncKind }]));
    await idle(engine);
    expect(world.calls.map((call) => call.name).sort()).toEqual(['buggy', 'wrong']);
    expect(eventsOf('apply').map((event) => event.name)).toEqual(['wrong']);
    expect(eventsOf('check').map((event) => [event.name, event.ok])).toEqual([['buggy', true]]);
    expect(engine.failures()).toEqual([]);
  });

  it('GIVEN --noop meta WHEN the resource checks THEN checkOKSync is asked without apply', async () => {
    const world = makeSyncWorld();
    const { engine } = makeEngine();
    await engine.swap(buildGraph([{ name: 'n', def: world.syncKind, meta: { noop: true } }]));
    await idle(engine);
    expect(world.asked).toEqual([{ name: 'n', apply: false }]);
  });

  it('GIVEN a refresh waiting over a notify edge WHEN the child runs THEN checkApply runs with the refresh, not checkOKSync', async () => {
    const world = makeSyncWorld({ refreshable: true });
    world.answers.set('parent', [false]);
    world.probe('parent').script.push(false); // it changed: its child gets a refresh
    const { engine } = makeEngine();
    await engine.swap(buildGraph([{ name: 'parent', def: world.syncKind }, { name: 'child', def: world.syncKind }], [{ from: 'parent', to: 'child', notify: true }]));
    await idle(engine);
    expect(world.calls.filter((call) => call.name === 'child')).toEqual([expect.objectContaining({ refresh: true })]);
    expect(world.asked.map((ask) => ask.name)).toEqual(['parent']);
  });

  it('GIVEN a 1-slot semaphore held by a running checkApply WHEN another resource of it checks THEN checkOKSync waits for the slot', async () => {
    const world = makeSyncWorld();
    let finish!: (ok: boolean) => void;
    world.answers.set('slow', [false]);
    world.probe('slow').script.push(() => new Promise<boolean>((resolve) => (finish = resolve)));
    const { engine } = makeEngine();
    await engine.swap(buildGraph([{ name: 'slow', def: world.syncKind, meta: { sema: ['lock:1'] } }, { name: 'quick', def: world.syncKind, meta: { sema: ['lock:1'] } }]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(world.asked.map((ask) => ask.name)).toEqual(['slow']);
    finish(true);
    await idle(engine);
    expect(world.asked.map((ask) => ask.name)).toEqual(['slow', 'quick']);
  });
});
