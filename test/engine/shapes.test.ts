import { describe, expect, it, vi } from 'vitest';
import type { Edge, Graph } from '../../src/graph/graph.js';
import { buildGraph, makeProbeWorld, type EdgeInput } from '../helpers/graph.js';
import { idle, useEngines } from '../helpers/engine.js';
import { RunGate } from '../../src/engine/run-gate.js';

const makeEngine = useEngines();

/** EdgeReadCounter is a graph's incoming-edge table that counts each edge the engine reads from it. */
class EdgeReadCounter extends Map<string, readonly Edge[]> {
  read = 0;

  constructor(incoming: ReadonlyMap<string, readonly Edge[]>) {
    super();
    const counting: ProxyHandler<readonly Edge[]> = {
      get: (edges, key, receiver) => {
        if (typeof key === 'string' && /^\d+$/.test(key)) this.read++;
        return Reflect.get(edges, key, receiver);
      },
    };
    // One proxy per list: the engine may compare lists by identity.
    for (const [id, edges] of incoming) this.set(id, new Proxy(edges, counting));
  }
}

type Shape = (n: number) => EdgeInput[];

const fanIn: Shape = (n) => Array.from({ length: n }, (_, i) => ({ from: `p${i}`, to: 'hub' }));
const fanOut: Shape = (n) => Array.from({ length: n }, (_, i) => ({ from: 'hub', to: `p${i}` }));
const chain: Shape = (n) => Array.from({ length: n }, (_, i) => ({ from: i === 0 ? 'hub' : `p${i - 1}`, to: `p${i}` }));

/** edgeReadsToConverge runs a graph of the shape with n + 1 probes and counts the incoming edges the engine read. */
async function edgeReadsToConverge(shape: Shape, n: number): Promise<number> {
  const world = makeProbeWorld();
  const { engine } = makeEngine();
  const names = ['hub', ...Array.from({ length: n }, (_, i) => `p${i}`)];
  const graph = buildGraph(names.map((name) => ({ name, def: world.kind })), shape(n));
  const incoming = new EdgeReadCounter(graph.incoming);
  await engine.swap({ ...graph, incoming } satisfies Graph);
  await idle(engine);
  expect(world.calls).toHaveLength(n + 1);
  await engine.stop();
  return incoming.read;
}

describe('engine work per graph shape', () => {
  // 4x the vertices may cost ~4x the edge reads; a quadratic shape costs 16x. The margin is wide.
  for (const [label, shape] of [['fan-in', fanIn], ['fan-out', fanOut], ['chain', chain]] as const) {
    it(`GIVEN a ${label} of N probes WHEN it converges THEN the engine reads edges in proportion to N, not N²`, async () => {
      const small = await edgeReadsToConverge(shape, 250);
      const large = await edgeReadsToConverge(shape, 1000);
      expect(large / small).toBeLessThan(6);
    });
  }
});

describe('engine passes per graph shape', () => {
  it('GIVEN a chain of 1,000 probes WHEN it converges THEN each passes the gate once: a held child does not back-poke a parent already under way', async () => {
    const world = makeProbeWorld();
    const { engine } = makeEngine();
    const n = 1000;
    const names = ['hub', ...Array.from({ length: n }, (_, i) => `p${i}`)];
    const offers = vi.spyOn(RunGate.prototype, 'offer');
    try {
      await engine.swap(buildGraph(names.map((name) => ({ name, def: world.kind })), chain(n)));
      await idle(engine);
      expect(world.calls).toHaveLength(n + 1);
      // Each vertex is held once at the start (its parent has not run) and let through once; the
      // back-pokes of parents already processing made about four passes per vertex.
      expect(offers.mock.results.filter((result) => result.value === true)).toHaveLength(n + 1);
    } finally {
      offers.mockRestore();
    }
  });
});
