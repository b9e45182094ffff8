import { concat, from, NEVER } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { parentGate, type ParentGateConfig } from '../../streams/parent-gate.js';

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** Parent is a parent node in a test graph: settled or not, dead or live. */
interface Parent {
  readonly name: string;
  settled: boolean;
  dead: boolean;
}

/**
 * gateOver builds a gate over a graph where every node (a marble value) has `parents`, recording
 * each poke (with its frame) and whether each held node was blocked.
 */
function gateOver(parents: Parent[], scheduler: TestScheduler, overrides: Partial<ParentGateConfig<string, Parent>> = {}) {
  const pokes: string[] = [];
  const held: boolean[] = [];
  const config: ParentGateConfig<string, Parent> = {
    parents: () => parents,
    isSettled: (parent) => parent.settled,
    isDead: (parent) => parent.dead,
    poke: (parent) => pokes.push(`${parent.name}@${scheduler.now()}`),
    onHeld: (_node, blocked) => held.push(blocked),
    ...overrides,
  };
  return { gate: parentGate<string, Parent>(config, scheduler), pokes, held };
}

const parent = (name: string, settled: boolean, dead = false): Parent => ({ name, settled, dead });

describe('parentGate', () => {
  it('passes nothing from a source that never emits, and pokes nobody', () => {
    const scheduler = newScheduler();
    const { gate, pokes, held } = gateOver([parent('a', false)], scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('-').pipe(gate)).toBe('-');
    });
    expect(pokes).toEqual([]);
    expect(held).toEqual([]);
  });

  it('completes with an empty source', () => {
    const scheduler = newScheduler();
    const { gate } = gateOver([parent('a', false)], scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('|').pipe(gate)).toBe('|');
    });
  });

  it('passes every value of a node without parents, at once', () => {
    const scheduler = newScheduler();
    const { gate, held } = gateOver([], scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('a|').pipe(gate)).toBe('a|');
      expectObservable(cold('a-b-c|').pipe(gate)).toBe('a-b-c|');
    });
    expect(held).toEqual([]);
  });

  it('GIVEN every parent settled THEN one value and many values pass without a poke', () => {
    const scheduler = newScheduler();
    const { gate, pokes } = gateOver([parent('a', true), parent('b', true)], scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('x-y-z|').pipe(gate)).toBe('x-y-z|');
    });
    expect(pokes).toEqual([]);
  });

  it('GIVEN an unsettled parent THEN the value is dropped, that parent alone is poked after the call, and the node waits', () => {
    const scheduler = newScheduler();
    const parents = [parent('a', true), parent('b', false)];
    const { gate, pokes, held } = gateOver(parents, scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      // WHEN b settles at frame 5 (as a poked parent would) and the node is sent a new value
      scheduler.schedule(() => (parents[1]!.settled = true), 5);
      expectObservable(cold('x 9ms y|').pipe(gate)).toBe('10ms y|');
    });
    expect(pokes).toEqual(['b@0']);
    expect(held).toEqual([false]);
  });

  it('pokes each unsettled live parent once per held value', () => {
    const scheduler = newScheduler();
    const { gate, pokes, held } = gateOver([parent('a', false), parent('b', true), parent('c', false)], scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('x-y|').pipe(gate)).toBe('---|');
    });
    expect(pokes).toEqual(['a@0', 'c@0', 'a@2', 'c@2']);
    expect(held).toEqual([false, false]);
  });

  it('GIVEN every unsettled parent dead THEN the node is blocked and nobody is poked', () => {
    const scheduler = newScheduler();
    const { gate, pokes, held } = gateOver([parent('a', false, true), parent('b', true)], scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('x|').pipe(gate)).toBe('-|');
    });
    expect(pokes).toEqual([]);
    expect(held).toEqual([true]);
  });

  it('GIVEN a dead and a live unsettled parent THEN the node only waits, and the live one is poked', () => {
    const scheduler = newScheduler();
    const { gate, pokes, held } = gateOver([parent('a', false, true), parent('b', false)], scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('x|').pipe(gate)).toBe('-|');
    });
    expect(pokes).toEqual(['b@0']);
    expect(held).toEqual([false]);
  });

  it('GIVEN one gate for a graph THEN each node is gated on its own parents, and told apart when held', () => {
    const scheduler = newScheduler();
    const graph: Record<string, Parent[]> = { x: [parent('a', false)], y: [], z: [parent('b', true)] };
    const heldNodes: string[] = [];
    const { gate, pokes } = gateOver([], scheduler, {
      parents: (node) => graph[node]!,
      onHeld: (node, blocked) => heldNodes.push(`${node}:${blocked ? 'blocked' : 'waiting'}`),
    });
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('xyzx|').pipe(gate)).toBe('-yz-|');
    });
    expect(pokes).toEqual(['a@0', 'a@3']);
    expect(heldNodes).toEqual(['x:waiting', 'x:waiting']);
  });

  it('asks isSettled about each parent with the node that asks to run', () => {
    const scheduler = newScheduler();
    const asked: string[] = [];
    const { gate } = gateOver([parent('a', true)], scheduler, {
      isSettled: (p, node) => {
        asked.push(`${p.name} for ${node}`);
        return true;
      },
    });
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('xy|').pipe(gate)).toBe('xy|');
    });
    expect(asked).toEqual(['a for x', 'a for y']);
  });

  it('reads the parents anew for each value (the graph may have been swapped)', () => {
    const scheduler = newScheduler();
    let parents = [parent('a', false)];
    const { gate, pokes } = gateOver([], scheduler, { parents: () => parents });
    scheduler.run(({ cold, expectObservable }) => {
      scheduler.schedule(() => (parents = [parent('b', true)]), 1);
      expectObservable(cold('x-y|').pipe(gate)).toBe('--y|');
    });
    expect(pokes).toEqual(['a@0']);
  });

  it('passes an error at once, after the values it let through', () => {
    const scheduler = newScheduler();
    const { gate } = gateOver([parent('a', true)], scheduler);
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('x-#', undefined, 'boom').pipe(gate)).toBe('x-#', undefined, 'boom');
    });
  });

  it('keeps gating a never-ending source', () => {
    const scheduler = newScheduler();
    const parents = [parent('a', false)];
    const { gate, pokes } = gateOver(parents, scheduler);
    scheduler.run(({ hot, expectObservable }) => {
      scheduler.schedule(() => (parents[0]!.settled = true), 15);
      scheduler.schedule(() => (parents[0]!.settled = false), 35);
      expectObservable(hot('x 9ms x 9ms x 9ms x 9ms x').pipe(gate), '^ 60ms !').toBe('20ms x 9ms x');
    });
    expect(pokes).toEqual(['a@0', 'a@10', 'a@40']);
  });

  it('unsubscribes from the source on early unsubscribe', () => {
    const scheduler = newScheduler();
    const { gate, pokes } = gateOver([parent('a', false)], scheduler);
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('x 9ms y');
      expectObservable(source.pipe(gate), '^ 5ms !').toBe('-');
      expectSubscriptions(source.subscriptions).toBe('^ 5ms !');
    });
    expect(pokes).toEqual(['a@0']);
  });

  it('makes no poke scheduled before an unsubscribe', () => {
    const scheduler = newScheduler();
    const pokes: string[] = [];
    // A scheduler whose actions run 3 frames late, so the subscriber can leave in between.
    const late = { now: () => scheduler.now(), schedule: (work: () => void) => scheduler.schedule(work, 3) };
    const gate = parentGate<string, Parent>(
      {
        parents: () => [parent('a', false)],
        isSettled: (p) => p.settled,
        isDead: (p) => p.dead,
        poke: (p) => pokes.push(`${p.name}@${scheduler.now()}`),
        onHeld: () => undefined,
      },
      late as never,
    );
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('x 4ms y').pipe(gate), '^ 6ms !').toBe('-');
    });
    // x's poke came at frame 3; y's, due at frame 8, was cancelled at frame 6.
    expect(pokes).toEqual(['a@3']);
  });

  it.each([
    ['parents', { parents: () => { throw new Error('boom'); } }],
    ['isSettled', { isSettled: () => { throw new Error('boom'); } }],
    ['isDead', { isDead: () => { throw new Error('boom'); } }],
    ['onHeld', { onHeld: () => { throw new Error('boom'); } }],
  ] as const)('errors with what %s throws', (_name, override) => {
    const scheduler = newScheduler();
    const { gate } = gateOver([parent('a', false)], scheduler, override as Partial<ParentGateConfig<string, Parent>>);
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('x-y|').pipe(gate)).toBe('#', undefined, new Error('boom'));
    });
  });

  it('errors with what a poke throws, when it is made', () => {
    const scheduler = newScheduler();
    const { gate } = gateOver([parent('a', false)], scheduler, {
      poke: () => {
        throw new Error('boom');
      },
    });
    const late = { now: () => scheduler.now(), schedule: (work: () => void) => scheduler.schedule(work, 2) };
    const lateGate = parentGate<string, Parent>(
      {
        parents: () => [parent('a', false)],
        isSettled: () => false,
        isDead: () => false,
        poke: () => {
          throw new Error('boom');
        },
        onHeld: () => undefined,
      },
      late as never,
    );
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('x 9ms |').pipe(gate)).toBe('#', undefined, new Error('boom'));
      expectObservable(cold('x 9ms |').pipe(lateGate)).toBe('--#', undefined, new Error('boom'));
    });
  });
});

describe('parentGate at scale', () => {
  it('GIVEN many nodes held in one call THEN their pokes are made by one scheduled action, in order', () => {
    const scheduler = newScheduler();
    let scheduled = 0;
    const counting = {
      now: () => scheduler.now(),
      schedule: (work: () => void) => {
        scheduled++;
        return scheduler.schedule(work);
      },
    };
    const pokes: string[] = [];
    const gate = parentGate<string, string>(
      {
        parents: (node) => [`parent of ${node}`],
        isSettled: () => false,
        isDead: () => false,
        poke: (parent) => pokes.push(parent),
        onHeld: () => undefined,
      },
      counting as never,
    );
    const nodes = Array.from({ length: 1000 }, (_, i) => `n${i}`);
    scheduler.run(({ expectObservable }) => {
      // A source that stays open: pokes due after the subscriber left are not made.
      expectObservable(concat(from(nodes), NEVER).pipe(gate), '^ 3ms !').toBe('-');
    });
    expect(pokes).toEqual(nodes.map((node) => `parent of ${node}`));
    expect(scheduled).toBe(1);
  });
});
