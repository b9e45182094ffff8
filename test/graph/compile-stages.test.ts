import { describe, expect, it } from 'vitest';
import { compileGraph } from '../../src/graph/compile.js';
import { createRegistry } from '../../src/core/registry.js';
import { builtinKinds, defaultRegistry } from '../../src/resources/index.js';
import { print } from '../../src/resources/print.js';
import { parseGraph } from '../../src/yamlgraph/parse.js';

function compile(yaml: string, options: Parameters<typeof compileGraph>[2] = {}) {
  return compileGraph(parseGraph(yaml, 'stages.yaml', defaultRegistry), defaultRegistry, options);
}

const edgesOf = (graph: ReturnType<typeof compile>) => graph.edges.map((edge) => `${edge.from} -> ${edge.to}`);

const TREE = `graph: tree
resources:
  file:
  - {name: dir, path: /srv/app/}
  - {name: conf, path: /srv/app/app.conf, content: "x"}
  - {name: script, path: /srv/app/run.sh, content: "#!/bin/sh"}
  exec:
  - {name: run, cmd: /srv/app/run.sh --once}
`;

describe('compile stages: autoedges', () => {
  it('GIVEN a directory, files in it and an exec of one of them THEN the implied edges are added', () => {
    const graph = compile(TREE);
    expect(edgesOf(graph)).toEqual(['file[dir] -> file[conf]', 'file[dir] -> file[script]', 'file[script] -> exec[run]']);
    expect([...graph.vertices.keys()].indexOf('exec[run]')).toBeGreaterThan([...graph.vertices.keys()].indexOf('file[script]'));
  });

  it('GIVEN --no-autoedges THEN no edge is added', () => {
    expect(edgesOf(compile(TREE, { noAutoedges: true }))).toEqual([]);
  });

  it('GIVEN meta autoedge false on the directory THEN it neither gets nor gives automatic edges', () => {
    const graph = compile(TREE.replace('{name: dir, path: /srv/app/}', '{name: dir, path: /srv/app/, meta: {autoedge: false}}'));
    expect(edgesOf(graph)).toEqual(['file[script] -> exec[run]']);
  });

  it('GIVEN an automatic edge that closes a cycle with a declared one THEN the cycle is an error', () => {
    const yaml = `${TREE}edges:\n- {name: back, from: {kind: exec, name: run}, to: {kind: file, name: dir}}\n`;
    expect(() => compile(yaml)).toThrow(/dependency cycle: exec\[run\] => file\[dir\] => file\[script\] => exec\[run\]|dependency cycle: .*exec\[run\]/);
  });
});

describe('compile stages: autogroup', () => {
  it('GIVEN 300 refresh_only prints (a kind whose key says they never group) and two plain ones THEN compatible is never asked about the refresh-only ones, and the plain two group', () => {
    const asked: string[] = [];
    const group = print.group!;
    const counted: typeof print = { ...print, group: { ...group, compatible: (a, b) => (asked.push(`${a.msg}|${b.msg}`), group.compatible(a, b)) } };
    const registry = createRegistry([...builtinKinds({}).filter((kind) => kind.kind !== 'print'), counted]);
    const prints = Array.from({ length: 300 }, (_, i) => `  - {name: r${i}, msg: r${i}, refresh_only: true}`);
    const yaml = `graph: g\nresources:\n  print:\n${prints.join('\n')}\n  - {name: a, msg: a}\n  - {name: b, msg: b}\n`;
    const graph = compileGraph(parseGraph(yaml, 'prints.yaml', registry), registry);
    expect(asked.filter((pair) => pair.includes('r'))).toEqual([]);
    expect([...graph.vertices.values()].filter((vertex) => vertex.members.length === 2).map((vertex) => vertex.id)).toEqual(['print[autogroup:(a,b)]']);
  });
});
