import { describe, expect, it } from 'vitest';
import type { ResourceKind } from '../../src/core/kind.js';
import { SignalPool } from '../../src/engine/signal-pool.js';
import { buildGraph, makeProbeWorld } from '../helpers/graph.js';
import { idle, useEngines } from '../helpers/engine.js';

const makeEngine = useEngines();

describe('SignalPool', () => {
  it('GIVEN a controller given back untouched THEN it is lent again', () => {
    const pool = new SignalPool();
    const first = pool.take();
    pool.give(first);
    expect(pool.take()).toBe(first);
    expect(pool.made).toBe(1);
  });

  it('GIVEN a controller aborted, or whose signal is still listened to THEN it is never lent again', () => {
    const pool = new SignalPool();
    const aborted = pool.take();
    aborted.abort(new Error('stop'));
    pool.give(aborted);
    const listened = pool.take();
    listened.signal.addEventListener('abort', () => undefined);
    pool.give(listened);
    const handled = pool.take();
    handled.signal.onabort = () => undefined;
    pool.give(handled);
    const next = pool.take();
    expect([aborted, listened, handled]).not.toContain(next);
    expect(next.signal.aborted).toBe(false);
    expect(pool.made).toBe(4);
  });
});

describe('engine: signals of checks', () => {
  it('GIVEN 40 resources of a kind with 4 slots WHEN they converge THEN their checks borrow a handful of controllers, not 40', async () => {
    const world = makeProbeWorld({ parallelism: 4 });
    const seen = new Set<AbortSignal>();
    const base = world.kind as ResourceKind<{ tag: string }>;
    const def: ResourceKind<{ tag: string }> = {
      ...base,
      init(params, ctx) {
        const live = base.init(params, ctx);
        return { ...live, checkApply: (apply, signal) => (seen.add(signal), live.checkApply(apply, signal)) };
      },
    };
    const { engine } = makeEngine();
    await engine.swap(buildGraph(Array.from({ length: 40 }, (_, i) => ({ name: `p${i}`, def }))));
    await idle(engine);
    expect(world.calls).toHaveLength(40);
    expect(seen.size).toBeLessThanOrEqual(8);
    expect(engine.signals.made).toBe(seen.size);
  });
});
