import { describe, expect, it } from 'vitest';
import type { Edge, Graph } from '../../src/graph/graph.js';
import { buildGraph, makeProbeWorld, type EdgeInput } from '../helpers/graph.js';
import { idle, useEngines } from '../helpers/engine.js';

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
