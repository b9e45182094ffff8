import { describe, expect, it } from 'vitest';
import type { Graph, Vertex } from '../../src/graph/graph.js';
import { checkIndex, MetricsObserver, type Repair } from '../../src/metrics/engine-observer.js';

/** vertexOf is a vertex of `kind` standing for `members` resources (a group when more than one); only what the observer reads. */
function vertexOf(kind: string, name: string, members = 1): Vertex {
  const list = Array.from({ length: members }, (_, i) => ({ id: `${kind}[${name}${i}]`, kind, name: `${name}${i}` }));
  return { id: `${kind}[${name}]`, kind, name, members: list } as unknown as Vertex;
}

function observe(): { observer: MetricsObserver; repairs: Repair[]; advance(ms: number): void } {
  let now = 1000;
  const repairs: Repair[] = [];
  const observer = new MetricsObserver(['file', 'pkg'], (repair) => repairs.push(repair), () => now);
  return { observer, repairs, advance: (ms) => (now += ms) };
}

describe('MetricsObserver', () => {
  it('GIVEN the registered kinds THEN each has a tally at zero before anything ran', () => {
    const { observer } = observe();
    expect([...observer.kinds.keys()]).toEqual(['file', 'pkg']);
    expect(observer.kinds.get('pkg')).toEqual({ checks: [0, 0, 0, 0, 0, 0, 0, 0], failures: { soft: 0, hard: 0 }, repairs: 0, resources: 0 });
  });

  it('GIVEN a group of three WHEN it is checked, fails and is swapped THEN each member counts', () => {
    const { observer } = observe();
    const group = vertexOf('pkg', 'g', 3);
    observer.swapped({ vertices: new Map([[group.id, group]]) } as unknown as Graph);
    observer.checked(group, true, [true, false, true]);
    observer.checked(group, true, undefined);
    observer.failed(group, 'hard');
    const pkg = observer.kinds.get('pkg')!;
    expect(pkg.resources).toBe(3);
    expect(pkg.checks[checkIndex(true, false, false)]).toBe(2);
    expect(pkg.checks[checkIndex(true, true, false)]).toBe(1);
    expect(pkg.checks[checkIndex(true, true, true)]).toBe(3);
    expect(pkg.failures).toEqual({ soft: 0, hard: 3 });
    expect(observer.failingNow().get('pkg')).toEqual({ soft: 0, hard: 3 });
    expect(observer.swaps).toBe(1);
  });

  it('GIVEN a resource that ran WHEN events come and a check fixes it THEN one repair, timed from the first event; a first apply or a noop check is none', () => {
    const { observer, repairs, advance } = observe();
    const file = vertexOf('file', 'f');
    observer.checked(file, true, [false]); // the first apply: no drift (nor any watch event told before it)
    observer.watched(file);
    advance(5);
    observer.watched(file); // a second event does not restart the clock
    advance(2);
    observer.checked(file, false, [false]); // noop: reported, not repaired
    expect(repairs).toEqual([]);
    observer.checked(file, true, [false]);
    expect(repairs).toEqual([{ kind: 'file', seconds: 0.007 }]);
    expect(observer.kinds.get('file')!.repairs).toBe(1);
    observer.watched(file);
    observer.checked(file, true, [true]); // its own write: in order, no repair
    expect(repairs).toHaveLength(1);
  });

  it('GIVEN a failing resource WHEN a check succeeds, or it is stopped THEN it fails no more', () => {
    const { observer } = observe();
    const a = vertexOf('file', 'a');
    const b = vertexOf('file', 'b');
    observer.failed(a, 'soft');
    observer.failed(b, 'hard');
    expect(observer.failingNow().get('file')).toEqual({ soft: 1, hard: 1 });
    observer.checked(a, true, [false]);
    observer.stopped(b);
    expect(observer.failingNow().size).toBe(0);
    expect(observer.kinds.get('file')!.failures).toEqual({ soft: 1, hard: 1 });
  });
});
