import { describe, expect, it } from 'vitest';
import { MutableGraph } from '../../src/graph/mutable.js';
import { autoedgeVertex } from '../bench/scenarios/autoedge.js';
import { file } from '../../src/resources/file.js';

const graphOf = (...names: string[]): MutableGraph => {
  const graph = new MutableGraph();
  for (const name of names) graph.addVertex(autoedgeVertex(file, name));
  return graph;
};

describe('MutableGraph: idOrdered', () => {
  it('GIVEN vertices added in ascending id order WHEN one is removed THEN the graph is still id-ordered', () => {
    const graph = graphOf('/a', '/b', '/c');
    expect(graph.idOrdered).toBe(true);
    graph.removeVertex('file[/b]');
    expect(graph.idOrdered).toBe(true);
    expect([...graph.vertices.keys()]).toEqual(['file[/a]', 'file[/c]']);
  });

  it('GIVEN a vertex added out of order WHEN more follow in order THEN the graph is no longer id-ordered', () => {
    const graph = graphOf('/b', '/a', '/c');
    expect(graph.idOrdered).toBe(false);
  });

  it('GIVEN a removed vertex added again WHEN it is not the highest id THEN the graph is no longer id-ordered (it iterates last)', () => {
    const graph = graphOf('/a', '/b');
    graph.removeVertex('file[/a]');
    graph.addVertex(autoedgeVertex(file, '/a'));
    expect(graph.idOrdered).toBe(false);
    expect([...graph.vertices.keys()]).toEqual(['file[/b]', 'file[/a]']);
  });

  it.each([
    ['in order', ['/a', '/b']],
    ['out of order', ['/b', '/a']],
  ])('GIVEN vertices added %s WHEN one of them is added again THEN it is refused', (_, names) => {
    const graph = graphOf(...names);
    for (const name of names) expect(() => graph.addVertex(autoedgeVertex(file, name))).toThrow(/added twice/);
  });
});
