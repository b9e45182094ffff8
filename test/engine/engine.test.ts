import { of } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import type { ResourceKind } from '../../src/core/kind.js';
import type { Semaphores } from '../../src/os/semaphores.js';
import { VertexWorker } from '../../src/engine/worker.js';
import { buildGraph, makeProbeWorld, type ProbeWorld } from '../helpers/graph.js';
import { idle, useEngines } from '../helpers/engine.js';
import { waitFor } from '../helpers/log.js';

const makeEngine = useEngines();

function deferred() {
  let resolve!: (ok: boolean) => void;
  const promise = new Promise<boolean>((done) => (resolve = done));
  return { promise, resolve };
}

function callsOf(world: ProbeWorld, name: string) {
  return world.calls.filter((call) => call.name === name);
}

describe('engine scheduling', () => {
  it('GIVEN a chain a -> b and an independent c WHEN a is slow THEN c runs at once and b only after a', async () => {
    const world = makeProbeWorld();
    const { engine } = makeEngine();
    const slowA = deferred();
    world.probe('a').script.push(() => slowA.promise);
    const graph = buildGraph(
      [{ name: 'a', def: world.kind }, { name: 'b', def: world.kind }, { name: 'c', def: world.kind }],
      [{ from: 'a', to: 'b' }],
    );
    await engine.swap(graph);
    await waitFor(() => callsOf(world, 'c').length === 1 && callsOf(world, 'a').length === 1, 'a and c to start');
    expect(callsOf(world, 'b')).toHaveLength(0);
    const releasedAt = performance.now();
    slowA.resolve(false);
    await idle(engine);
    expect(callsOf(world, 'b')).toHaveLength(1);
    expect(callsOf(world, 'b')[0]!.at).toBeGreaterThanOrEqual(releasedAt);
  });

  it('GIVEN a converged graph WHEN the parent gets an event THEN only the parent is re-checked (pokes do not dirty)', async () => {
    const world = makeProbeWorld();
    const { engine } = makeEngine();
    await engine.swap(buildGraph([{ name: 'a', def: world.kind }, { name: 'b', def: world.kind }], [{ from: 'a', to: 'b' }]));
    await idle(engine);
    expect(world.calls).toHaveLength(2);
    world.probe('a').events.next();
    await waitFor(() => callsOf(world, 'a').length === 2, 'a to be re-checked');
    await idle(engine);
    expect(callsOf(world, 'b')).toHaveLength(1);
  });

  it('GIVEN a child WHEN it gets an event THEN it waits for its parents to run again before it is re-checked', async () => {
    const world = makeProbeWorld();
    const { engine } = makeEngine();
    await engine.swap(buildGraph([{ name: 'a', def: world.kind }, { name: 'b', def: world.kind }], [{ from: 'a', to: 'b' }]));
    await idle(engine);
    world.probe('b').events.next();
    await waitFor(() => callsOf(world, 'b').length === 2, 'b to be re-checked');
    // a was poked and skipped (cached OK), so it was not checked again
    expect(callsOf(world, 'a')).toHaveLength(1);
  });

  it('GIVEN a notify edge WHEN the parent changes something THEN the child runs with a refresh, once', async () => {
    const world = makeProbeWorld();
    const { engine, eventsOf } = makeEngine();
    world.probe('a').script.push(false);
    await engine.swap(
      buildGraph([{ name: 'a', def: world.kind }, { name: 'b', def: world.kind }, { name: 'c', def: world.kind }], [
        { from: 'a', to: 'b', notify: true },
        { from: 'a', to: 'c' },
      ]),
    );
    await idle(engine);
    expect(callsOf(world, 'b').map((call) => call.refresh)).toEqual([true]);
    expect(callsOf(world, 'c').map((call) => call.refresh)).toEqual([false]);
    expect(eventsOf('refresh', 'probe[b]')).toHaveLength(1);
    // The refresh was consumed: a further poke does not re-run b.
    world.probe('a').events.next();
    await waitFor(() => callsOf(world, 'a').length === 2, 'a re-checked');
    await idle(engine);
    expect(callsOf(world, 'b')).toHaveLength(1);
  });

  it('GIVEN a child running its refresh WHEN the notify parent changes again meanwhile THEN the child refreshes once more', async () => {
    // A config repaired again while the slow reload it asked for runs: the end of that reload must
    // not clear the new refresh with the one it served (the notify example lost its second reload).
    const world = makeProbeWorld();
    const { engine } = makeEngine();
    const slowB = deferred();
    world.probe('a').script.push(false);
    world.probe('b').script.push(() => slowB.promise);
    await engine.swap(buildGraph([{ name: 'a', def: world.kind }, { name: 'b', def: world.kind }], [{ from: 'a', to: 'b', notify: true }]));
    await waitFor(() => callsOf(world, 'b').length === 1, 'b to start its refresh');
    world.probe('a').script.push(false);
    world.probe('a').events.next();
    await waitFor(() => callsOf(world, 'a').length === 2, 'a to change again while b runs');
    slowB.resolve(false);
    await waitFor(() => callsOf(world, 'b').length === 2, 'b to refresh once more');
    await idle(engine);
    expect(callsOf(world, 'b').map((call) => call.refresh)).toEqual([true, true]);
  });

  it('GIVEN a child with a notify parent and a plain parent WHEN only the notify parent changes later THEN the child still gets its refresh', async () => {
    // config file -(notify)-> svc <- unit file (an automatic edge): the config changes alone.
    const world = makeProbeWorld();
    const { engine } = makeEngine();
    await engine.swap(
      buildGraph([{ name: 'config', def: world.kind }, { name: 'unit', def: world.kind }, { name: 'svc', def: world.kind }], [
        { from: 'config', to: 'svc', notify: true },
        { from: 'unit', to: 'svc' },
      ]),
    );
    await idle(engine);
    expect(callsOf(world, 'svc').map((call) => call.refresh)).toEqual([false]);
    world.probe('config').script.push(false);
    world.probe('config').events.next();
    await waitFor(() => callsOf(world, 'svc').length === 2, 'svc to run with the refresh');
    await idle(engine);
    expect(callsOf(world, 'svc').map((call) => call.refresh)).toEqual([false, true]);
    // the plain parent was poked and skipped (cached OK), not checked again
    expect(callsOf(world, 'unit')).toHaveLength(1);
  });

  it('GIVEN a kind that notifies all edges (a timer) WHEN it changes THEN children refresh over plain edges', async () => {
    const ticker = makeProbeWorld({ kind: 'ticker', notifiesAllEdges: true });
    const world = makeProbeWorld();
    const { engine } = makeEngine();
    ticker.probe('t').script.push(false, false);
    await engine.swap(buildGraph([{ name: 't', def: ticker.kind }, { name: 'b', def: world.kind }], [{ from: 't', to: 'b' }]));
    await idle(engine);
    ticker.probe('t').events.next();
    await waitFor(() => callsOf(world, 'b').length === 2, 'b to run again on the second tick');
    expect(callsOf(world, 'b').map((call) => call.refresh)).toEqual([true, true]);
  });

  it('GIVEN a failing resource THEN only its dependants are blocked, independent ones run, and the graph goes idle', async () => {
    const world = makeProbeWorld();
    const { engine, eventsOf } = makeEngine();
    world.probe('a').script.push(new Error('boom'));
    await engine.swap(
      buildGraph([{ name: 'a', def: world.kind }, { name: 'b', def: world.kind }, { name: 'c', def: world.kind }, { name: 'd', def: world.kind }], [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
      ]),
    );
    await idle(engine);
    expect(callsOf(world, 'b')).toHaveLength(0);
    expect(callsOf(world, 'c')).toHaveLength(0);
    expect(callsOf(world, 'd')).toHaveLength(1);
    expect(engine.failures()).toEqual([{ resource: 'probe[a]', message: 'boom' }]);
    expect(engine.statuses().get('probe[b]')).toBe('blocked');
    expect(engine.statuses().get('probe[c]')).toBe('blocked');
    expect(eventsOf('error', 'probe[a]')[0]).toMatchObject({ permanent: true, message: 'boom' });
  });

  it('GIVEN retry 2 WHEN checkApply fails twice THEN the third attempt succeeds and the child runs', async () => {
    const world = makeProbeWorld();
    const { engine, eventsOf } = makeEngine();
    world.probe('a').script.push(new Error('one'), new Error('two'), false);
    await engine.swap(buildGraph([{ name: 'a', def: world.kind, meta: { retry: 2, delay: 20 } }, { name: 'b', def: world.kind }], [{ from: 'a', to: 'b' }]));
    await idle(engine);
    expect(callsOf(world, 'a')).toHaveLength(3);
    expect(callsOf(world, 'b')).toHaveLength(1);
    expect(eventsOf('retry', 'probe[a]').map((e) => e.left)).toEqual([1, 0]);
    expect(engine.failures()).toEqual([]);
  });

  it('GIVEN retry 1 WHEN checkApply keeps failing THEN it fails for good after two attempts', async () => {
    const world = makeProbeWorld();
    const { engine } = makeEngine();
    world.probe('a').script.push(new Error('one'), new Error('two'), true);
    await engine.swap(buildGraph([{ name: 'a', def: world.kind, meta: { retry: 1, delay: 1 } }]));
    await idle(engine);
    expect(callsOf(world, 'a')).toHaveLength(2);
    expect(engine.failures()).toEqual([{ resource: 'probe[a]', message: 'two' }]);
  });

  it('GIVEN a checkApply retry due in a minute WHEN the engine stops THEN it stops without waiting for it, and the retry never runs', async () => {
    const world = makeProbeWorld();
    const { engine, eventsOf } = makeEngine();
    world.probe('a').script.push(new Error('one'));
    await engine.swap(buildGraph([{ name: 'a', def: world.kind, meta: { retry: 1, delay: 60_000 } }]));
    await waitFor(() => engine.statuses().get('probe[a]') === 'retrying', 'a to wait for its retry');
    expect(eventsOf('retry', 'probe[a]')).toMatchObject([{ left: 0, delayMs: 60_000 }]);
    expect(engine.unfinished()).toEqual(['probe[a]']);
    await engine.stop();
    expect(engine.statuses().get('probe[a]')).toBe('stopped');
    expect(engine.unfinished()).toEqual([]);
    expect(callsOf(world, 'a')).toHaveLength(1);
  });

  /** withFailedParent runs a -> b (retry 0) until idle, a's first checkApply failing with `message`. */
  async function withFailedParent(message: string) {
    const world = makeProbeWorld();
    const { engine } = makeEngine();
    world.probe('a').script.push(new Error(message));
    await engine.swap(buildGraph([{ name: 'a', def: world.kind }, { name: 'b', def: world.kind }], [{ from: 'a', to: 'b' }]));
    await idle(engine);
    return { world, engine };
  }

  it('GIVEN retry 0 WHEN checkApply failed THEN the watch stays: the next event tries again, and success clears the failure and unblocks the child', async () => {
    const { world, engine } = await withFailedParent('gone');
    expect(engine.failures()).toEqual([{ resource: 'probe[a]', message: 'gone' }]);
    expect(engine.statuses().get('probe[b]')).toBe('blocked');
    world.probe('a').events.next();
    await waitFor(() => callsOf(world, 'b').length === 1, 'the child to run after the repair');
    await idle(engine);
    expect(callsOf(world, 'a')).toHaveLength(2);
    expect(engine.failures()).toEqual([]);
    expect(engine.statuses().get('probe[a]')).toBe('idle');
  });

  it('GIVEN retry 2 WHEN every attempt fails THEN each event allows the retries of retry again', async () => {
    const world = makeProbeWorld();
    const { engine } = makeEngine();
    world.probe('a').script.push(...[1, 2, 3].map((n) => new Error(`first ${n}`)), ...[1, 2, 3].map((n) => new Error(`second ${n}`)));
    await engine.swap(buildGraph([{ name: 'a', def: world.kind, meta: { retry: 2, delay: 1 } }]));
    await idle(engine);
    expect(callsOf(world, 'a')).toHaveLength(3);
    world.probe('a').events.next();
    await waitFor(() => callsOf(world, 'a').length === 6, 'three more attempts');
    await idle(engine);
    expect(engine.failures()).toEqual([{ resource: 'probe[a]', message: 'second 3' }]);
  });

  it('GIVEN a checkApply that fails WHEN an event arrives while it runs THEN that event gets its own attempt, 100 ms later (it may be the attempt\'s own doing)', async () => {
    const world = makeProbeWorld();
    const { engine } = makeEngine();
    const slow = deferred();
    world.probe('a').script.push(async () => {
      await slow.promise;
      throw new Error('raced');
    });
    await engine.swap(buildGraph([{ name: 'a', def: world.kind }]));
    await waitFor(() => callsOf(world, 'a').length === 1, 'the first attempt');
    world.probe('a').events.next();
    const failedAt = performance.now();
    slow.resolve(true);
    await waitFor(() => callsOf(world, 'a').length === 2, 'a second attempt for the event');
    expect(callsOf(world, 'a')[1]!.at - failedAt).toBeGreaterThanOrEqual(90);
    await idle(engine);
    expect(engine.failures()).toEqual([]);
  });

  it('GIVEN a failed vertex WHEN only its children poke it THEN it does not try again (pokes are no news)', async () => {
    const { world, engine } = await withFailedParent('down');
    world.probe('b').events.next();
    await idle(engine);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(callsOf(world, 'a')).toHaveLength(1);
    expect(engine.statuses().get('probe[b]')).toBe('blocked');
  });

  it('GIVEN a vertex failing on every event WHEN events keep coming THEN the first retry is at once and later ones wait, doubling from 100 ms', async () => {
    const world = makeProbeWorld();
    const { engine } = makeEngine();
    world.probe('a').script.push(new Error('1'), new Error('2'), new Error('3'), true);
    await engine.swap(buildGraph([{ name: 'a', def: world.kind }]));
    await idle(engine);
    world.probe('a').events.next();
    await waitFor(() => callsOf(world, 'a').length === 2, 'the first retry, at once');
    await idle(engine);
    world.probe('a').events.next();
    await waitFor(() => callsOf(world, 'a').length === 3, 'the retry after the wait', 5_000);
    // Measured from the second attempt's start, which came before its failure, where the wait began.
    expect(callsOf(world, 'a')[2]!.at - callsOf(world, 'a')[1]!.at).toBeGreaterThanOrEqual(95);
    // The wait counts as failed, not busy: a one-shot run may end meanwhile.
    await idle(engine);
    world.probe('a').events.next();
    await waitFor(() => callsOf(world, 'a').length === 4, 'the retry after a doubled wait', 5_000);
    expect(callsOf(world, 'a')[3]!.at - callsOf(world, 'a')[2]!.at).toBeGreaterThanOrEqual(190);
    await idle(engine);
    expect(engine.failures()).toEqual([]);
  });

  it('GIVEN meta noop THEN checkApply is called with apply=false and no refresh is sent on', async () => {
    const world = makeProbeWorld();
    const { engine } = makeEngine();
    world.probe('a').script.push(false);
    await engine.swap(buildGraph([{ name: 'a', def: world.kind, meta: { noop: true } }, { name: 'b', def: world.kind }], [{ from: 'a', to: 'b', notify: true }]));
    await idle(engine);
    // noop never caches an OK state, so a poke from b re-checks a: every call must be a check only.
    expect(callsOf(world, 'a').length).toBeGreaterThanOrEqual(1);
    expect(callsOf(world, 'a').every((call) => !call.apply)).toBe(true);
    expect(callsOf(world, 'b').map((call) => call.refresh)).toEqual([false]);
  });

  it('GIVEN meta timeout WHEN checkApply runs past it (ignoring its signal) THEN the attempt fails at once with a timeout error', async () => {
    const world = makeProbeWorld();
    const { engine } = makeEngine();
    world.probe('a').script.push(() => new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 1_000)));
    await engine.swap(buildGraph([{ name: 'a', def: world.kind, meta: { timeout: 50 } }]));
    await idle(engine);
    expect(engine.failures()).toEqual([{ resource: 'probe[a]', message: 'timeout after 50 ms' }]);
  });

  it('GIVEN a watch() that throws (retry 0) THEN its vertex fails for good with a watch error, and the others run', async () => {
    const world = makeProbeWorld();
    const broken: ResourceKind<{ tag: string }> = {
      ...world.kind,
      kind: 'broken',
      init: () => ({
        watch: () => {
          throw new Error('no watch here');
        },
        checkApply: async () => true,
      }),
    };
    const { engine, events } = makeEngine();
    await engine.swap(buildGraph([{ name: 'x', def: broken }, { name: 'a', def: world.kind }]));
    await idle(engine);
    expect(engine.failures()).toEqual([{ resource: 'broken[x]', message: 'no watch here' }]);
    expect(events.filter((e) => e.event === 'error').map((e) => e.phase)).toEqual(['watch']);
    expect(callsOf(world, 'a')).toHaveLength(1);
  });

  it('GIVEN retry 1 WHEN the watch fails once THEN watch() is called again and the vertex runs', async () => {
    let watches = 0;
    const world = makeProbeWorld();
    const flaky: ResourceKind<{ tag: string }> = {
      ...world.kind,
      kind: 'flaky',
      init: () => ({
        watch: () => {
          watches++;
          if (watches === 1) throw new Error('not yet');
          return of(undefined);
        },
        checkApply: async () => true,
      }),
    };
    const { engine } = makeEngine();
    await engine.swap(buildGraph([{ name: 'x', def: flaky, meta: { retry: 1 } }]));
    await waitFor(() => engine.statuses().get('flaky[x]') === 'idle', 'x to run after its watch restarts');
    expect(watches).toBe(2);
    expect(engine.failures()).toEqual([]);
  });

  it('GIVEN a kind that ignores its signal WHEN 20 probes converge THEN no check makes a signal, and a group of them still gets one', async () => {
    const world = makeProbeWorld();
    const def: ResourceKind<{ tag: string }> = { ...world.kind, ignoresSignal: true };
    const { engine } = makeEngine();
    const signals = vi.spyOn(AbortController.prototype, 'signal', 'get');
    try {
      await engine.swap(buildGraph(Array.from({ length: 20 }, (_, i) => ({ name: `p${i}`, def }))));
      await idle(engine);
      expect(world.calls).toHaveLength(20);
      expect(signals).not.toHaveBeenCalled();
    } finally {
      signals.mockRestore();
    }
  });

  it('GIVEN 20 idle workers without cleanup WHEN the engine stops THEN none waits asynchronously, and all are stopped', async () => {
    const world = makeProbeWorld();
    const def: ResourceKind<{ tag: string }> = { ...world.kind, init: (params, ctx) => ({ ...world.kind.init(params, ctx), cleanup: undefined }) };
    const { engine } = makeEngine();
    await engine.swap(buildGraph(Array.from({ length: 20 }, (_, i) => ({ name: `p${i}`, def }))));
    await idle(engine);
    await new Promise((resolve) => setImmediate(resolve)); // the run loops end after the idle they report
    const settles = vi.spyOn(VertexWorker.prototype as unknown as { settleStop(): Promise<void> }, 'settleStop');
    try {
      await engine.stop();
      expect(settles).not.toHaveBeenCalled();
      expect([...engine.statuses().values()]).toEqual(Array.from({ length: 20 }, () => 'stopped'));
    } finally {
      settles.mockRestore();
    }
  });

  it('GIVEN a kind that ignores its signal and meta timeout WHEN checkApply runs past it THEN the attempt still fails at once', async () => {
    const world = makeProbeWorld();
    const def: ResourceKind<{ tag: string }> = { ...world.kind, ignoresSignal: true };
    const { engine } = makeEngine();
    world.probe('a').script.push(() => new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 2_000)));
    const started = performance.now();
    await engine.swap(buildGraph([{ name: 'a', def, meta: { timeout: 50 } }]));
    await idle(engine);
    expect(engine.failures()).toEqual([{ resource: 'probe[a]', message: 'timeout after 50 ms' }]);
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it('GIVEN meta timeout WHEN the resource stops what it started on abort THEN stopping the engine waits until it has', async () => {
    let stoppedAt = 0;
    const slow: ResourceKind<{ tag: string }> = {
      kind: 'slow',
      doc: 'test kind whose checkApply takes 300 ms to wind down after an abort',
      params: { tag: { type: 'string', doc: 'unused' } },
      defaults: () => ({ tag: '' }),
      validate: () => [],
      init: () => ({
        watch: () => of(undefined),
        checkApply: (_apply, signal) =>
          new Promise<boolean>((_, reject) => {
            signal.addEventListener('abort', () => setTimeout(() => {
              stoppedAt = performance.now();
              reject(signal.reason);
            }, 300));
          }),
      }),
    };
    const { engine } = makeEngine();
    await engine.swap(buildGraph([{ name: 'x', def: slow, meta: { timeout: 50 } }]));
    await idle(engine);
    expect(engine.failures()).toEqual([{ resource: 'slow[x]', message: 'timeout after 50 ms' }]);
    expect(stoppedAt).toBe(0);
    await engine.stop();
    expect(stoppedAt).toBeGreaterThan(0);
  });

  it('GIVEN three resources sharing a 1-slot semaphore THEN their checkApplys never overlap', async () => {
    const world = makeProbeWorld();
    const { engine } = makeEngine();
    let running = 0;
    let most = 0;
    const guarded = async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 20));
      running--;
      return false;
    };
    for (const name of ['a', 'b', 'c']) world.probe(name).script.push(guarded);
    await engine.swap(buildGraph(['a', 'b', 'c'].map((name) => ({ name, def: world.kind, meta: { sema: ['lock:1'] } }))));
    await idle(engine);
    expect(world.calls).toHaveLength(3);
    expect(most).toBe(1);
  });

  it('GIVEN b waits for the semaphore a holds WHEN a swap removes b THEN its wait ends: the swap does not wait for a', async () => {
    const world = makeProbeWorld();
    const { engine } = makeEngine();
    const slowA = deferred();
    world.probe('a').script.push(() => slowA.promise);
    const lock = { sema: ['lock:1'] };
    await engine.swap(buildGraph([{ name: 'a', def: world.kind, meta: lock }, { name: 'b', def: world.kind, meta: lock }]));
    await waitFor(() => callsOf(world, 'a').length === 1, 'a to take the lock');
    // WHEN b, waiting for the lock, is removed while a still holds it
    const stats = await engine.swap(buildGraph([{ name: 'a', def: world.kind, meta: lock }]));
    // THEN the swap is done without a having released the lock, and b never ran
    expect(stats.removed).toBe(1);
    expect(callsOf(world, 'b')).toHaveLength(0);
    expect(world.probe('b').cleanedUp).toBe(true);
    slowA.resolve(true);
    await idle(engine);
    expect(callsOf(world, 'a')).toHaveLength(1);
  });

  it('GIVEN 40 probes of a kind with parallelism 2 WHEN they converge THEN no abort listener is added: a check and its semaphore wait are aborted directly', async () => {
    const world = makeProbeWorld({ parallelism: 2 });
    const { engine } = makeEngine();
    const added = vi.spyOn(EventTarget.prototype, 'addEventListener');
    try {
      await engine.swap(buildGraph(Array.from({ length: 40 }, (_, i) => ({ name: `p${i}`, def: world.kind }))));
      await idle(engine);
      expect(world.calls).toHaveLength(40);
      expect(added.mock.calls.filter(([type]) => type === 'abort')).toHaveLength(0);
    } finally {
      added.mockRestore();
    }
  });

  it('GIVEN a log that writes no debug WHEN probes converge THEN no watch or OK-check event is even built', async () => {
    const world = makeProbeWorld();
    const { engine, log, events } = makeEngine();
    (log as { wants?: (level: string) => boolean }).wants = (level) => level !== 'debug';
    await engine.swap(buildGraph(['a', 'b'].map((name) => ({ name, def: world.kind }))));
    await idle(engine);
    expect(world.calls).toHaveLength(2);
    expect(events.filter((e) => e.level === 'debug')).toEqual([]);
  });

  it('GIVEN a vertex granted its semaphore WHEN the engine stops before the vertex resumes THEN its checkApply never runs and the slot is given back', async () => {
    const world = makeProbeWorld();
    const { engine } = makeEngine();
    const semaphores = (engine as unknown as { semaphores: Semaphores }).semaphores;
    const held = semaphores.take(['lock:1'])!;
    await engine.swap(buildGraph([{ name: 'b', def: world.kind, meta: { sema: ['lock:1'] } }]));
    // A dirty vertex waits for its semaphores parked, before its pass: 'pending', not 'processing'.
    await waitFor(() => engine.statuses().get('probe[b]') === 'pending', 'b to wait for the semaphore');
    held(); // grants b's wait; b resumes only after this test's synchronous code
    const stopped = engine.stop();
    await stopped;
    expect(world.calls).toHaveLength(0);
    expect(semaphores.take(['lock:1'])).toBeDefined();
  });

  it('GIVEN a kind with parallelism 2 THEN at most two of its checkApplys run at once', async () => {
    const world = makeProbeWorld({ parallelism: 2 });
    const { engine } = makeEngine();
    let running = 0;
    let most = 0;
    const tracked = async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 10));
      running--;
      return false;
    };
    const names = ['a', 'b', 'c', 'd', 'e'];
    for (const name of names) world.probe(name).script.push(tracked);
    await engine.swap(buildGraph(names.map((name) => ({ name, def: world.kind }))));
    await idle(engine);
    expect(world.calls).toHaveLength(5);
    expect(most).toBe(2);
  });

  it('GIVEN 200 checks of 1 ms each that start one another through a semaphore WHEN they converge THEN the event loop turns in between (its timers and watches are served)', async () => {
    const world = makeProbeWorld({ parallelism: 4 });
    const { engine } = makeEngine();
    let checks = 0;
    let checksWhenTheLoopTurned: number | undefined;
    const busy = async () => {
      if (checks === 0) setImmediate(() => (checksWhenTheLoopTurned = checks));
      const until = performance.now() + 1;
      while (performance.now() < until);
      checks++;
      return false;
    };
    const names = Array.from({ length: 200 }, (_, i) => `p${i}`);
    for (const name of names) world.probe(name).script.push(busy);
    await engine.swap(buildGraph(names.map((name) => ({ name, def: world.kind }))));
    await idle(engine);
    expect(checks).toBe(200);
    // Without the turn budget all 200 ran in one turn, and the immediate saw them all.
    expect(checksWhenTheLoopTurned).toBeLessThan(100);
  });

  it('GIVEN a poll meta THEN the resource is checked on every tick without a watch event', async () => {
    const world = makeProbeWorld({ readyAtOnce: false });
    const { engine } = makeEngine();
    world.probe('a').stateOK = false;
    await engine.swap(buildGraph([{ name: 'a', def: world.kind, meta: { poll: 0.05 } }]));
    await waitFor(() => callsOf(world, 'a').length >= 3, 'three polls');
  });
});

describe('engine graph swap', () => {
  it('GIVEN a running graph WHEN an equal graph with one changed vertex is swapped in THEN only that vertex restarts', async () => {
    const world = makeProbeWorld();
    const { engine } = makeEngine();
    await engine.swap(buildGraph([{ name: 'a', def: world.kind }, { name: 'b', def: world.kind }, { name: 'gone', def: world.kind }]));
    await idle(engine);
    expect(world.calls).toHaveLength(3);
    const stats = await engine.swap(
      buildGraph([{ name: 'a', def: world.kind }, { name: 'b', def: world.kind, params: { tag: 'changed' } }, { name: 'new', def: world.kind }]),
    );
    expect(stats).toMatchObject({ kept: 1, added: 2, removed: 2 });
    await idle(engine);
    expect(callsOf(world, 'a')).toHaveLength(1);
    expect(callsOf(world, 'b')).toHaveLength(2);
    expect(callsOf(world, 'new')).toHaveLength(1);
    expect(world.probe('gone').cleanedUp).toBe(true);
    expect(world.probe('a').cleanedUp).toBe(false);
  });

  it('GIVEN a blocked vertex WHEN the failed parent is removed by a swap THEN the vertex runs', async () => {
    const world = makeProbeWorld();
    const { engine } = makeEngine();
    world.probe('a').script.push(new Error('bad'));
    await engine.swap(buildGraph([{ name: 'a', def: world.kind }, { name: 'b', def: world.kind }], [{ from: 'a', to: 'b' }]));
    await idle(engine);
    expect(engine.statuses().get('probe[b]')).toBe('blocked');
    await engine.swap(buildGraph([{ name: 'b', def: world.kind }]));
    await idle(engine);
    expect(callsOf(world, 'b')).toHaveLength(1);
    expect(engine.failures()).toEqual([]);
  });

  it('GIVEN a -> b -> c WHEN a swap changes only b (same edges) THEN a and c work with the new b: c runs after it, an event on a reaches it', async () => {
    const world = makeProbeWorld();
    const { engine } = makeEngine();
    const chain = [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }];
    await engine.swap(buildGraph([{ name: 'a', def: world.kind }, { name: 'b', def: world.kind }, { name: 'c', def: world.kind }], chain));
    await idle(engine);
    const bChanged = { name: 'b', def: world.kind, params: { tag: 'changed' } };
    await engine.swap(buildGraph([{ name: 'a', def: world.kind }, bChanged, { name: 'c', def: world.kind }], chain));
    await idle(engine);
    expect(callsOf(world, 'b')).toHaveLength(2);
    // WHEN c gets an event THEN it waits for the new b, not the stopped one (that would block it)
    world.probe('c').events.next();
    await waitFor(() => callsOf(world, 'c').length === 2, 'c to be re-checked');
    await idle(engine);
    expect(engine.statuses().get('probe[c]')).toBe('idle');
    // WHEN a fails THEN the new b is blocked: a's children list names it
    world.probe('a').script.push(new Error('bad'));
    world.probe('a').events.next();
    await waitFor(() => engine.statuses().get('probe[b]') === 'blocked', 'b to be blocked');
  });

  it('GIVEN a -> b WHEN a swap adds c -> b and a notify edge b -> d THEN b waits for c too, and a change of b refreshes d', async () => {
    const world = makeProbeWorld();
    const { engine } = makeEngine();
    await engine.swap(buildGraph([{ name: 'a', def: world.kind }, { name: 'b', def: world.kind }], [{ from: 'a', to: 'b' }]));
    await idle(engine);
    const slowC = deferred();
    world.probe('c').script.push(() => slowC.promise);
    world.probe('b').stateOK = false;
    await engine.swap(
      buildGraph(
        [{ name: 'a', def: world.kind }, { name: 'b', def: world.kind }, { name: 'c', def: world.kind }, { name: 'd', def: world.kind }],
        [{ from: 'a', to: 'b' }, { from: 'c', to: 'b' }, { from: 'b', to: 'd', notify: true }],
      ),
    );
    world.probe('b').events.next();
    await waitFor(() => callsOf(world, 'c').length === 1, 'c to start');
    expect(callsOf(world, 'b')).toHaveLength(1);
    slowC.resolve(true);
    await idle(engine);
    expect(callsOf(world, 'b')).toHaveLength(2);
    expect(callsOf(world, 'd').some((call) => call.refresh)).toBe(true);
  });
});

describe('engine idle$', () => {
  it('GIVEN a converged graph WHEN an event arrives THEN idle$ goes false and back to true', async () => {
    const world = makeProbeWorld();
    const { engine } = makeEngine();
    await engine.swap(buildGraph([{ name: 'a', def: world.kind }]));
    await idle(engine);
    const seen: boolean[] = [];
    const subscription = engine.idle$.subscribe((value) => seen.push(value));
    const slow = deferred();
    world.probe('a').script.push(() => slow.promise);
    world.probe('a').events.next();
    expect(seen).toEqual([true, false]);
    slow.resolve(true);
    await waitFor(() => seen.length === 3, 'idle again');
    expect(seen).toEqual([true, false, true]);
    subscription.unsubscribe();
  });
});
