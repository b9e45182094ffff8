import { describe, expect, it } from 'vitest';
import { RunGate, type GatedWorker } from '../../src/engine/run-gate.js';

/** Node is a worker as the gate sees it, recording its pokes and what the gate told it. */
class Node implements GatedWorker {
  readonly id: string;
  parents: Node[] = [];
  timestamp = 0;
  failed = false;
  status = 'idle';
  pokes = 0;
  readonly heldAs: boolean[] = [];
  constructor(id: string) {
    this.id = id;
  }
  poke(): void {
    this.pokes++;
  }
  held(blocked: boolean): void {
    this.heldAs.push(blocked);
  }
}

/** link gives each node its parents, from edges given as [from, to] ids. */
function link(nodes: readonly Node[], edges: ReadonlyArray<readonly [string, string]>): void {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  for (const node of nodes) node.parents = edges.filter(([, to]) => to === node.id).map(([from]) => byId.get(from)!);
}

const microtasks = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('RunGate', () => {
  it('GIVEN a -> b, both at timestamp 0 THEN a may process, b is held as waiting and a is back-poked after the call', async () => {
    const a = new Node('a');
    const b = new Node('b');
    link([a, b], [['a', 'b']]);
    const gate = new RunGate();
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
    link([a, b, c], [['a', 'b'], ['b', 'c']]);
    const gate = new RunGate();
    expect(gate.offer(b)).toBe(false);
    b.status = 'waiting';
    expect(gate.offer(c)).toBe(false);
    await microtasks();
    expect([a.pokes, b.pokes]).toEqual([1, 0]);
  });

  it('GIVEN a parent processing or pending THEN the held child pokes it not: its pass is under way or due, and it pokes its ready children', async () => {
    const [a, b, c, d] = [new Node('a'), new Node('b'), new Node('c'), new Node('d')];
    link([a, b, c, d], [['a', 'c'], ['b', 'c'], ['c', 'd']]);
    a.status = 'processing';
    b.status = 'pending';
    const gate = new RunGate();
    expect(gate.offer(c)).toBe(false);
    expect(c.heldAs).toEqual([false]);
    await microtasks();
    expect([a.pokes, b.pokes]).toEqual([0, 0]);
  });

  it('GIVEN a failed parent THEN the child is held as blocked and the parent is not poked', async () => {
    const a = new Node('a');
    const b = new Node('b');
    a.failed = true;
    link([a, b], [['a', 'b']]);
    const gate = new RunGate();
    expect(gate.offer(b)).toBe(false);
    expect(b.heldAs).toEqual([true]);
    await microtasks();
    expect(a.pokes).toBe(0);
  });

  it('GIVEN a callback that throws for one worker THEN offer throws for that worker only, and the gate serves the others after it', () => {
    const a = new Node('a');
    const b = new Node('b');
    Object.defineProperty(a, 'parents', {
      get: () => {
        throw new Error('engine bug');
      },
    });
    const gate = new RunGate();
    expect(() => gate.offer(a)).toThrow('engine bug');
    expect(gate.offer(b)).toBe(true);
  });
});
