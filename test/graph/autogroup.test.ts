import { describe, expect, it } from 'vitest';
import { autoGroup } from '../../src/graph/autogroup.js';
import { compareStrings } from '../../src/graph/canonical.js';
import { vertexId } from '../../src/graph/compile.js';
import { MutableGraph, type BuildVertex } from '../../src/graph/mutable.js';
import { buildGraph, kindDef, makeVertex, mulberry32, shapeOf, shuffled, vertexDesc, type EdgeDesc, type GraphDesc } from './fixtures/autogroup-graphs.js';
import { AUTOGROUP_TABLE } from './fixtures/autogroup-table.js';

/** grouped runs autogroup on a described graph and returns the graph. */
function grouped(desc: GraphDesc) {
  const graph = buildGraph(desc);
  const stats = autoGroup(graph);
  return { graph, stats, shape: shapeOf(graph) };
}

const withNotify = (edges: readonly EdgeDesc[]): EdgeDesc[] => edges.map(([from, to, name, notify]) => [from, to, name, notify ?? false]);
const sortEdges = (edges: readonly EdgeDesc[]): EdgeDesc[] => [...edges].sort((a, b) => compareStrings(a[0], b[0]) || compareStrings(a[1], b[1]));

describe('autoGroup: the fixture table of reference 4.5', () => {
  it.each(AUTOGROUP_TABLE.map((row) => [`${row.row} ${row.test}${row.ours ? ' (our parent order)' : ''}`, row] as const))(
    'GIVEN row %s WHEN grouped THEN the groups, edges and semaphores are as expected',
    (_title, row) => {
      const { shape } = grouped(row);
      expect(shape.vertices).toEqual([...row.expected.vertices].sort(compareStrings));
      expect(shape.edges).toEqual(sortEdges(withNotify(row.expected.edges)));
      expect(shape.sema).toEqual(row.expected.sema ?? {});
    },
  );

  it.each(AUTOGROUP_TABLE.filter((row) => row.vertices.length > 1).map((row) => [row.row, row] as const))(
    'GIVEN row %s with its vertices and edges inserted in 20 shuffled orders WHEN grouped THEN the result never changes',
    (_title, row) => {
      const expected = grouped(row).shape;
      const random = mulberry32(Number.parseInt(row.row, 10) * 7919);
      for (let i = 0; i < 20; i++) {
        expect(grouped({ vertices: shuffled(row.vertices, random), edges: shuffled(row.edges, random) }).shape).toEqual(expected);
      }
    },
  );
});

describe('autoGroup: the merged vertex', () => {
  it('GIVEN a1, a2, a3 WHEN grouped THEN a1 stays the vertex, with its own id and params, and the members follow in merge order', () => {
    const { graph } = grouped({ vertices: ['a3', 'a1', 'a2'], edges: [] });
    const [vertex] = [...graph.vertices.values()];
    expect(vertex!.id).toBe('nooptest[a1]');
    expect(vertex!.params).toEqual({ name: 'a1' });
    expect(vertex!.members.map((member) => member.id)).toEqual(['nooptest[a1]', 'nooptest[a2]', 'nooptest[a3]']);
    expect(vertexId(vertex!)).toBe('nooptest[autogroup:(a1,a2,a3)]');
  });

  it('GIVEN a longer hierarchical kind with the lower name WHEN grouped THEN the shorter kind is the parent', () => {
    const { graph } = grouped({ vertices: [{ name: 'a1', kind: 'nooptestkind:foo:hello' }, { name: 'a2', kind: 'nooptestkind:foo' }], edges: [] });
    expect([...graph.vertices.keys()]).toEqual(['nooptestkind:foo[a2]']);
  });

  it('GIVEN members with semaphores WHEN grouped THEN the parent keeps its own first and each new one is added once, in order', () => {
    const { graph } = grouped({
      vertices: [
        { name: 'a1', sema: ['x', 'y'] },
        { name: 'a2', sema: ['z', 'x', 'z'] },
        { name: 'a3', sema: ['y', 'w'] },
      ],
      edges: [],
    });
    expect([...graph.vertices.values()][0]!.meta.sema).toEqual(['x', 'y', 'z', 'w']);
  });

  it('GIVEN members without semaphores WHEN grouped THEN the parent meta object is left as it was', () => {
    const graph = buildGraph({ vertices: ['a1', 'a2'], edges: [] });
    const before = graph.vertices.get('nooptest[a1]')!.meta;
    autoGroup(graph);
    expect(graph.vertices.get('nooptest[a1]')!.meta).toBe(before);
  });
});

describe('autoGroup: merged edges', () => {
  it('GIVEN two edges into b1, one with notify WHEN their sources group THEN the merged edge notifies', () => {
    const { shape } = grouped({ vertices: ['a1', 'a2', 'b1'], edges: [['a1', 'b1', 'e1'], ['a2', 'b1', 'e2', true]] });
    expect(shape.edges).toEqual([['a1,a2', 'b1', 'e1,e2', true]]);
  });

  it('GIVEN an edge with notify that folds into a path WHEN grouped THEN every edge of the path notifies', () => {
    const { shape } = grouped({ vertices: ['a1', 'a2', 'b1', 'c1'], edges: [['a1', 'b1', 'e1'], ['b1', 'c1', 'e2'], ['a2', 'c1', 'e3', true]] });
    expect(shape.edges).toEqual([
      ['a1,a2', 'b1', 'e1,e3', true],
      ['b1', 'c1', 'e2,e3', true],
    ]);
  });

  it('GIVEN edges without names WHEN merged THEN empty names are dropped from the union', () => {
    const { shape } = grouped({ vertices: ['a1', 'a2', 'b1'], edges: [['a1', 'b1', ''], ['a2', 'b1', 'e2']] });
    expect(shape.edges).toEqual([['a1,a2', 'b1', 'e2', false]]);
  });

  it('GIVEN names that already list several WHEN merged THEN the result is their sorted union, each once', () => {
    const { shape } = grouped({ vertices: ['a1', 'a2', 'a3', 'b1'], edges: [['a1', 'b1', 'y,x'], ['a2', 'b1', 'z,x'], ['a3', 'b1', 'x']] });
    expect(shape.edges).toEqual([['a1,a2,a3', 'b1', 'x,y,z', false]]);
  });

  it('GIVEN two equally short paths WHEN an edge folds into one THEN it takes the one with the smallest ids read from the group', () => {
    // a1 reaches d1 through b1 and through c1; a2->d1 folds into a1->b1->d1 (b1 < c1).
    const { shape } = grouped({
      vertices: ['a1', 'a2', 'b1', 'c1', 'd1'],
      edges: [['a1', 'c1', 'x'], ['a1', 'b1', 'y'], ['c1', 'd1', 'z'], ['b1', 'd1', 'w'], ['a2', 'd1', 'e']],
    });
    expect(shape.edges).toEqual([
      ['a1,a2', 'b1', 'e,y', false],
      ['a1,a2', 'c1', 'x', false],
      ['b1', 'd1', 'e,w', false],
      ['c1', 'd1', 'z', false],
    ]);
  });
});

describe('autoGroup: who may group', () => {
  it('GIVEN a parent with meta autogroup false WHEN grouped THEN it neither takes others in nor joins them', () => {
    const { shape } = grouped({ vertices: [{ name: 'a1', autogroup: false }, 'a2', 'a3'], edges: [] });
    expect(shape.vertices).toEqual(['a1', 'a2,a3']);
  });

  it('GIVEN a kind without a group trait WHEN grouped THEN its vertices stay apart but still carry paths that block others', () => {
    const { shape } = grouped({
      vertices: [{ name: 'p1', kind: 'plain' }, { name: 'p2', kind: 'plain' }, 'a1', 'a2'],
      edges: [['a1', 'p1', 'e1'], ['p1', 'a2', 'e2']],
    });
    expect(shape.vertices).toEqual(['a1', 'a2', 'p1', 'p2']);
  });

  it('GIVEN different kinds WHEN grouped THEN only vertices of the same family group', () => {
    const { shape } = grouped({ vertices: ['a1', { name: 'a2', kind: 'other' }, { name: 'a3', kind: 'other' }], edges: [] });
    expect(shape.vertices).toEqual(['a1', 'a2,a3']);
  });

  it('GIVEN a vertex that already holds a group WHEN grouped again THEN it may take more in but never joins another', () => {
    const graph = buildGraph({ vertices: ['a1', 'a2', 'a3'], edges: [] });
    const a2 = graph.vertices.get('nooptest[a2]')!;
    a2.members.push({ ...a2.members[0]!, id: 'nooptest[a9]', name: 'a9' });
    autoGroup(graph);
    expect(shapeOf(graph).vertices).toEqual(['a1,a3', 'a2,a9']);
  });

  it('GIVEN group keys WHEN grouped THEN compatible is only asked within a key, and an undefined key never groups', () => {
    const graph = buildGraph({ vertices: ['a1', 'a2', 'a3', 'b1', 'b2', 'c1', 'c2'], edges: [] });
    const key = (v: BuildVertex): string | undefined => (v.name.startsWith('c') ? undefined : v.name[0]);
    const stats = autoGroup(graph, { groupKey: key });
    expect(shapeOf(graph).vertices).toEqual(['a1,a2,a3', 'b1,b2', 'c1', 'c2']);
    expect(stats.compared).toBe(3);
  });

  it('GIVEN a kind whose compatible is asked WHEN grouped THEN the parent is the first argument', () => {
    const calls: unknown[][] = [];
    const spy = { ...kindDef('nooptest'), group: { compatible: (a: unknown, b: unknown) => (calls.push([a, b]), true) } };
    const graph = new MutableGraph();
    for (const name of ['a2', 'a1']) graph.addVertex({ ...makeVertex({ name }), def: spy });
    autoGroup(graph);
    expect(calls).toEqual([[{ name: 'a1' }, { name: 'a2' }]]);
  });
});

describe('autoGroup: hooks, stats and refusals', () => {
  it('GIVEN an onMerge hook WHEN grouped THEN it hears each merge in order, before the child leaves the graph', () => {
    const graph = buildGraph({ vertices: ['b2', 'a2', 'a1', 'b1', 'b3'], edges: [] });
    const heard: string[] = [];
    autoGroup(graph, {
      onMerge: (parent: BuildVertex, child: BuildVertex) => {
        expect(graph.vertices.has(child.id)).toBe(true);
        heard.push(`${child.name} into ${parent.name}`);
      },
    });
    expect(heard).toEqual(['a2 into a1', 'b2 into b1', 'b3 into b1']);
  });

  it('GIVEN groupable and unrelated vertices WHEN grouped THEN the stats count groups, merges and compatibility checks', () => {
    const { stats } = grouped({ vertices: ['a1', 'a2', 'a3', 'b1', 'b2', 'c1'], edges: [['a1', 'a2', 'e1']] });
    // a1 compares a3, b1, b2, c1 (a2 is below it); a2 compares b1, b2, c1 (a3 is gone); b1 compares b2, c1.
    expect(stats).toEqual({ groups: 2, merged: 2, compared: 9, cyclic: false });
  });

  it('GIVEN a graph with a dependency cycle WHEN grouped THEN it is left untouched for the sort to report', () => {
    const desc: GraphDesc = { vertices: ['a1', 'a2', 'a3', 'b1', 'b2'], edges: [['b1', 'b2', 'e1'], ['b2', 'b1', 'e2']] };
    const { shape, stats } = grouped(desc);
    expect(stats.cyclic).toBe(true);
    expect(shape.vertices).toEqual(desc.vertices.map(vertexDesc).map((v) => v.name));
  });

  it('GIVEN a chain of groupable vertices with two loose ones WHEN grouped THEN the first loose one takes the chain\'s head and the other loose one', () => {
    const { shape } = grouped({ vertices: ['a1', 'a2', 'a3', 'a4', 'a5'], edges: [['a2', 'a3', 'e1'], ['a3', 'a4', 'e2']] });
    expect(shape.vertices).toEqual(['a1,a2,a5', 'a3', 'a4']);
    expect(shape.edges).toEqual([['a1,a2,a5', 'a3', 'e1', false], ['a3', 'a4', 'e2', false]]);
  });

  it('GIVEN no groupable vertices WHEN grouped THEN nothing is done', () => {
    expect(grouped({ vertices: [{ name: 'p1', kind: 'plain' }], edges: [] }).stats).toEqual({ groups: 0, merged: 0, compared: 0, cyclic: false });
  });
});
