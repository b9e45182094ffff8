import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { toDot, type DotEdge, type DotGraph, type DotVertex } from '../../graphviz/to-dot.js';

const hasDot = spawnSync('dot', ['-V']).error === undefined;
const dotMissing = 'graphviz `dot` is not installed (apt-get install graphviz); CI installs it and runs this';

/** vertex builds a one-member vertex `kind[name]`. */
function vertex(kind: string, name: string): DotVertex {
  const id = `${kind}[${name}]`;
  return { id, kind, name, members: [{ id }] };
}

/** group builds an autogroup vertex over `names`, the first being the parent. */
function group(kind: string, names: string[]): DotVertex {
  return {
    id: `${kind}[autogroup:(${names.join(',')})]`,
    kind,
    name: names[0] ?? '',
    members: names.map((name) => ({ id: `${kind}[${name}]` })),
  };
}

const xmlEntities: Record<string, string> = { quot: '"', lt: '<', gt: '>', amp: '&', apos: "'" };

/** unescapeXml decodes the entities graphviz writes into SVG text. */
function unescapeXml(text: string): string {
  return text.replace(/&(?:#(\d+)|(\w+));/g, (entity, code?: string, name?: string) =>
    code ? String.fromCodePoint(Number(code)) : (xmlEntities[name ?? ''] ?? entity),
  );
}

function edge(from: DotVertex, to: DotVertex, name: string, notify = false): DotEdge {
  return { from: from.id, to: to.id, name, notify };
}

/** shuffled returns a copy of `list` in a seeded pseudo-random order. */
function shuffled<T>(list: readonly T[], seed: number): T[] {
  const copy = [...list];
  let state = seed;
  for (let i = copy.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

describe('toDot', () => {
  it('renders an empty graph with its name as the caption', () => {
    expect(toDot({ name: 'empty', vertices: [], edges: [] })).toMatchInlineSnapshot(`
      "digraph "empty" {
        label = "empty";
      }
      "
    `);
  });

  it('renders vertices as kind[name] and edges with their names, sorted', () => {
    // GIVEN a chain file -> exec -> svc, listed out of order
    const file = vertex('file', '/tmp/f1');
    const exec = vertex('exec', 'build');
    const svc = vertex('svc', 'nginx');
    const graph: DotGraph = {
      name: 'chain',
      vertices: [svc, file, exec],
      edges: [edge(exec, svc, 'e2'), edge(file, exec, 'e1')],
    };
    // THEN vertices come out by id and edges by (from, to)
    expect(toDot(graph)).toMatchInlineSnapshot(`
      "digraph "chain" {
        label = "chain";
        "exec[build]" [
          label = "exec[build]";
        ];
        "file[/tmp/f1]" [
          label = "file[/tmp/f1]";
        ];
        "svc[nginx]" [
          label = "svc[nginx]";
        ];
        "exec[build]" -> "svc[nginx]" [
          label = "e2";
        ];
        "file[/tmp/f1]" -> "exec[build]" [
          label = "e1";
        ];
      }
      "
    `);
  });

  it('draws notify edges bold and says so in the label', () => {
    const file = vertex('file', 'conf');
    const svc = vertex('svc', 'nginx');
    const exec = vertex('exec', 'reload');
    const graph: DotGraph = {
      name: 'notify',
      vertices: [file, svc, exec],
      edges: [edge(file, svc, 'conf-to-svc', true), edge(file, exec, '', true), edge(svc, exec, '')],
    };
    expect(toDot(graph)).toMatchInlineSnapshot(`
      "digraph "notify" {
        label = "notify";
        "exec[reload]" [
          label = "exec[reload]";
        ];
        "file[conf]" [
          label = "file[conf]";
        ];
        "svc[nginx]" [
          label = "svc[nginx]";
        ];
        "file[conf]" -> "exec[reload]" [
          label = "(notify)";
          style = "bold";
        ];
        "file[conf]" -> "svc[nginx]" [
          label = "conf-to-svc (notify)";
          style = "bold";
        ];
        "svc[nginx]" -> "exec[reload]";
      }
      "
    `);
  });

  it('shows a group as a box labelled with its id over its members', () => {
    const pkgs = group('pkg', ['cowsay', 'fortune', 'sl']);
    const file = vertex('file', '/etc/motd');
    const graph: DotGraph = { name: 'grouped', vertices: [pkgs, file], edges: [edge(pkgs, file, 'e1')] };
    expect(toDot(graph)).toMatchInlineSnapshot(`
      "digraph "grouped" {
        label = "grouped";
        "file[/etc/motd]" [
          label = "file[/etc/motd]";
        ];
        "pkg[autogroup:(cowsay,fortune,sl)]" [
          shape = "box";
          label = "pkg[autogroup:(cowsay,fortune,sl)]\\npkg[cowsay]\\lpkg[fortune]\\lpkg[sl]\\l";
        ];
        "pkg[autogroup:(cowsay,fortune,sl)]" -> "file[/etc/motd]" [
          label = "e1";
        ];
      }
      "
    `);
  });

  it('accepts the vertices as a map by id, as the compiled Graph holds them', () => {
    const a = vertex('noop', 'a');
    const b = vertex('noop', 'b');
    const asList: DotGraph = { name: 'g', vertices: [a, b], edges: [edge(a, b, 'e')] };
    const asMap: DotGraph = { name: 'g', vertices: new Map([[b.id, b], [a.id, a]]), edges: [edge(a, b, 'e')] };
    expect(toDot(asMap)).toBe(toDot(asList));
  });

  it('renders the same text for any order of vertices, edges and members', () => {
    // GIVEN a graph of 40 vertices in 5 groups' worth of edges
    const vertices = Array.from({ length: 40 }, (_, i) => vertex(i % 2 ? 'file' : 'exec', `v${i}`));
    vertices.push(group('pkg', ['a', 'b', 'c']));
    const edges = vertices.flatMap((from, i) =>
      vertices.slice(i + 1, i + 4).map((to, j) => edge(from, to, `e${i}-${j}`, (i + j) % 3 === 0)),
    );
    const expected = toDot({ name: 'big', vertices, edges });
    for (const seed of [1, 2, 3, 42, 1234]) {
      const reordered: DotGraph = {
        name: 'big',
        vertices: shuffled(vertices, seed).map((v) => ({ ...v, members: shuffled(v.members, seed) })),
        edges: shuffled(edges, seed + 1),
      };
      expect(toDot(reordered)).toBe(expected);
    }
  });

  it('escapes quotes, backslashes, brackets, entities and HTML-like names', async () => {
    // GIVEN names that would be DOT syntax, label escapes, entities or HTML if not escaped
    const quoted = vertex('file', '/tmp/a "quoted" \\N name &amp; \\');
    const html = vertex('exec', '<b>bold</b>');
    const graph: DotGraph = {
      name: '<g> "name"',
      vertices: [quoted, html],
      edges: [edge(html, quoted, '<edge> ]; x -> y [', true), edge(quoted, html, 'a:b')],
    };
    // THEN the DOT (kept as a file, so it reads unescaped) quotes every one of them
    await expect(toDot(graph, { label: 'label "with" \\ quotes' })).toMatchFileSnapshot('__snapshots__/escaping.dot');
  });

  it('escapes so that graphviz draws names exactly as typed', (ctx) => {
    ctx.skip(!hasDot && !process.env.CI, dotMissing);
    // GIVEN names holding every character DOT treats specially, in a vertex, a group and an edge
    const tricky = vertex('file', 'a "b" \\c \\N [d] {e|f} <g> &amp; \\');
    const members = group('pkg', ['x:y', 'q"\\']);
    const dotText = toDot({
      name: 'tricky',
      vertices: [tricky, members],
      edges: [edge(tricky, members, '<e> "1"', true)],
    });
    // WHEN graphviz draws it
    const svg = execFileSync('dot', ['-Tsvg'], { input: dotText }).toString();
    // THEN every text it drew is a name as typed
    const drawn = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((match) => unescapeXml(match[1] ?? ''));
    expect(drawn.sort()).toEqual(
      ['tricky', tricky.id, members.id, 'pkg[q"\\]', 'pkg[x:y]', '<e> "1" (notify)'].sort(),
    );
  });

  // Its speed is the bench's business; the generous timeout only stops a quadratic render, which
  // takes minutes at this size (a 2 s bound measured 3.4 s on a loaded CI machine).
  it('renders a 10,000-vertex graph, every edge', { timeout: 60_000 }, () => {
    const vertices = Array.from({ length: 10_000 }, (_, i) => vertex('file', `/srv/f${i}`));
    const edges = vertices.slice(1).map((to, i) => edge(vertices[i] as DotVertex, to, `e${i}`));
    const text = toDot({ name: 'big', vertices, edges });
    expect(text.split('\n').filter((line) => line.includes('->'))).toHaveLength(9_999);
  });
});
