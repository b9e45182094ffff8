// The graphs of the growth scenarios: noops (and refresh-only prints) in the shapes that must not
// go quadratic, written as upstream mgmt's YAML spells them (`resources:` by kind, then `edges:`
// of `{from: {kind, name}, to: {kind, name}, notify}`). Edges are flow maps without the optional
// name and names count in base 36: a 100,000-chain in block style with decimal names is 11.0 MiB,
// over the agent's 8 MiB graph-file limit; this way it is 7.8 MiB.

/** Shape names the graph shapes of the growth scenarios. */
export type Shape = 'chain' | 'fan-out' | 'fan-in' | 'refresh-only-print';

/** SHAPES lists every shape, in the order the bench runs them. */
export const SHAPES: readonly Shape[] = ['chain', 'fan-out', 'fan-in', 'refresh-only-print'];

/** ShapeGraph is a generated graph: its YAML and what it holds, so a run can be checked against it. */
export interface ShapeGraph {
  readonly yaml: string;
  readonly vertices: number;
  readonly edges: number;
}

interface Vertex {
  readonly kind: 'noop' | 'print';
  readonly name: string;
}

interface Edge {
  readonly from: Vertex;
  readonly to: Vertex;
  readonly notify: boolean;
}

const noop = (name: string): Vertex => ({ kind: 'noop', name });
const noops = (prefix: string, count: number): Vertex[] => Array.from({ length: count }, (_, i) => noop(`${prefix}${i.toString(36)}`));

/** shapeGraph builds `shape` at size `count` and renders it as an mgmt YAML graph. */
export function shapeGraph(shape: Shape, count: number): ShapeGraph {
  if (!Number.isInteger(count) || count < 2) throw new Error(`shapeGraph: count must be an integer >= 2, got ${String(count)} (${typeof count})`);
  const vertices: Vertex[] = [];
  const edges: Edge[] = [];
  switch (shape) {
    case 'chain': {
      // N noops, N-1 edges: n0 -> n1 -> ... -> n(N-1).
      vertices.push(...noops('v', count));
      for (let i = 1; i < count; i++) edges.push({ from: vertices[i - 1]!, to: vertices[i]!, notify: false });
      break;
    }
    case 'fan-out': {
      // One parent, N children.
      const parent = noop('parent');
      const children = noops('child', count);
      vertices.push(parent, ...children);
      for (const child of children) edges.push({ from: parent, to: child, notify: false });
      break;
    }
    case 'fan-in': {
      // N parents, one child.
      const parents = noops('parent', count);
      const child = noop('child');
      vertices.push(...parents, child);
      for (const parent of parents) edges.push({ from: parent, to: child, notify: false });
      break;
    }
    case 'refresh-only-print': {
      // N/2 noops, each notifying its own refresh-only print: N resources, N/2 edges.
      for (let i = 0; i < Math.floor(count / 2); i++) {
        const from = noop(`v${i.toString(36)}`);
        const to: Vertex = { kind: 'print', name: `p${i.toString(36)}` };
        vertices.push(from, to);
        edges.push({ from, to, notify: true });
      }
      break;
    }
  }
  return { yaml: renderYaml(`${shape}-${count}`, vertices, edges), vertices: vertices.length, edges: edges.length };
}

function renderYaml(graphName: string, vertices: readonly Vertex[], edges: readonly Edge[]): string {
  const lines = [`graph: ${graphName}`, 'resources:'];
  for (const kind of ['noop', 'print'] as const) {
    const ofKind = vertices.filter((vertex) => vertex.kind === kind);
    if (ofKind.length === 0) continue;
    lines.push(`  ${kind}:`);
    for (const vertex of ofKind) {
      lines.push(`  - name: ${vertex.name}`);
      if (kind === 'print') lines.push(`    msg: ${vertex.name} notified`, '    refresh_only: true');
    }
  }
  lines.push(edges.length > 0 ? 'edges:' : 'edges: []');
  for (const { from, to, notify } of edges) {
    lines.push(`- {from: {kind: ${from.kind}, name: ${from.name}}, to: {kind: ${to.kind}, name: ${to.name}}${notify ? ', notify: true' : ''}}`);
  }
  return lines.join('\n') + '\n';
}
