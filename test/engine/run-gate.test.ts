import { describe, expect, it } from 'vitest';
import type { Edge } from '../../src/graph/graph.js';
import { RunGate, type GatedWorker } from '../../src/engine/run-gate.js';

/** Node is a worker as the gate sees it, recording its pokes and what the gate told it. */
class Node implements GatedWorker {
  readonly vertex: { readonly id: string };
  timestamp = 0;
  failed = false;
  status = 'pending';
  pokes = 0;
  readonly heldAs: boolean[] = [];
  constructor(id: string) {
    this.vertex = { id };
  }
  poke(): void {
    this.pokes++;
  }
  held(blocked: boolean): void {
    this.heldAs.push(blocked);
  }
}

/** graphOf builds the gate's host over nodes and edges given as [from, to] ids. */
function graphOf(nodes: readonly Node[], edges: ReadonlyArray<readonly [string, string]>) {
  const byId = new Map(nodes.map((node) => [node.vertex.id, node]));
  const incoming = (id: string): Edge[] => edges.filter(([, to]) => to === id).map(([from, to]) => ({ from, to }) as Edge);
  return { incoming, worker: (id: string) => byId.get(id) };
}

const microtasks = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('RunGate', () => {
  it('GIVEN a -> b, both at timestamp 0 THEN a may process, b is held as waiting and a is back-poked after the call', async () => {
    const a = new Node('a');
    const b = new Node('b');
    const gate = new RunGate(graphOf([a, b], [['a', 'b']]));
    expect(gate.offer(a)).toBe(true);
    expect(gate.offer(b)).toBe(false);
    expect(b.heldAs).toEqual([false]);
    expect(a.pokes).toBe(0);
    await microtasks();
    expect(a.pokes).toBe(1);
    // WHEN a has run (a newer timestamp) THEN b may process
    a.timestamp = 1;
    expect(gate.offer(b)).toBe(true);
  });

  it('GIVEN a -> b -> c with b itself waiting for a THEN c\'s hold pokes no one: b runs when a pokes it (a chain\'s start stays linear)', async () => {
    const [a, b, c] = [new Node('a'), new Node('b'), new Node('c')];
    const gate = new RunGate(graphOf([a, b, c], [['a', 'b'], ['b', 'c']]));
    expect(gate.offer(b)).toBe(false);
    b.status = 'waiting';
    expect(gate.offer(c)).toBe(false);
    await microtasks();
    expect([a.pokes, b.pokes]).toEqual([1, 0]);
  });

  it('GIVEN a failed parent THEN the child is held as blocked and the parent is not poked', async () => {
    const a = new Node('a');
    const b = new Node('b');
    a.failed = true;
    const gate = new RunGate(graphOf([a, b], [['a', 'b']]));
    expect(gate.offer(b)).toBe(false);
    expect(b.heldAs).toEqual([true]);
    await microtasks();
    expect(a.pokes).toBe(0);
  });

  it('GIVEN a callback that throws for one worker THEN offer throws for that worker only, and the gate serves the others after it', () => {
    const a = new Node('a');
    const b = new Node('b');
    const graph = graphOf([a, b], []);
    const gate = new RunGate({
      incoming: (id) => {
        if (id === 'a') throw new Error('engine bug');
        return graph.incoming(id);
      },
      worker: graph.worker,
    });
    expect(() => gate.offer(a)).toThrow('engine bug');
    expect(gate.offer(b)).toBe(true);
  });
});
