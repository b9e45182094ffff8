import {
  createElementFactory,
  stringify,
  type AttributeASTNode,
  type ClusterStatementASTNode,
  type CreateElement,
  type LiteralASTNode,
} from 'ts-graphviz/ast';
import type { AttributeKey } from 'ts-graphviz';
import type { Edge, Graph, Member, Vertex } from '../src/graph/graph.js';

/** DotMember is the part of a Member that toDot takes: a group shows one line per member id. */
export type DotMember = Pick<Member, 'id'>;

/** DotVertex is the part of a Vertex that toDot takes; its label is the id, which is `kind[name]`. */
export interface DotVertex extends Pick<Vertex, 'id' | 'kind' | 'name'> {
  /** Every resource the vertex stands for; more than one makes it a group. */
  readonly members: readonly DotMember[];
}

/** DotEdge is the part of an Edge that toDot takes. */
export type DotEdge = Pick<Edge, 'from' | 'to' | 'name' | 'notify'>;

/** DotGraph is the part of a compiled Graph that toDot renders; a Graph is one. */
export interface DotGraph {
  readonly name: string;
  /** The vertices, as the compiled graph's map by id or as any iterable; order does not matter. */
  readonly vertices: ReadonlyMap<string, DotVertex> | Iterable<DotVertex>;
  /** The edges, in any order. */
  readonly edges: Iterable<DotEdge>;
}

/** ToDotOptions tunes what toDot renders. */
export interface ToDotOptions {
  /** The caption drawn on the graph; defaults to the graph's name. */
  readonly label?: string;
}

// Fails to typecheck if the compiled Graph stops being renderable, so the two cannot drift apart.
const graphIsDotGraph = (graph: Graph): DotGraph => graph;
void graphIsDotGraph;

/**
 * toDot renders a graph as DOT text, a pure function whose output depends only on the graph's
 * content: vertices are sorted by id and edges by (from, to, name), so a shuffled input renders
 * the same bytes.
 *
 * - A vertex is labelled with its id, `kind[name]`.
 * - A group (more than one member) is a box labelled with its id, `kind[autogroup:(a,b,c)]`, over
 *   one left-aligned line per member id.
 * - An edge is labelled with its name; a `notify` edge is bold and its label says `(notify)`.
 * - Every name is escaped: quotes and backslashes show as typed, and nothing in a name can turn
 *   into DOT syntax, an HTML label or a label escape such as `\N`.
 */
export function toDot(graph: DotGraph, options: ToDotOptions = {}): string {
  // A fresh, uncapped factory per call: ts-graphviz's shared createElement counts nodes for the
  // life of the process against a cap of 100,000, less than a 10,000-vertex graph needs.
  const dot = new DotBuilder(createElementFactory({ maxASTNodes: 0 }));

  const statements: ClusterStatementASTNode[] = [dot.attribute('label', escapeLabel(options.label ?? graph.name))];
  for (const vertex of sortedVertices(graph.vertices)) {
    statements.push(dot.node(vertex.id, vertexAttributes(vertex, dot)));
  }
  for (const edge of sortedEdges(graph.edges)) {
    statements.push(dot.edge(edge.from, edge.to, edgeAttributes(edge, dot)));
  }
  return `${stringify(dot.document(graph.name, statements))}\n`;
}

function vertexAttributes(vertex: DotVertex, dot: DotBuilder): AttributeASTNode[] {
  if (vertex.members.length <= 1) return [dot.attribute('label', escapeLabel(vertex.id))];
  const memberIds = vertex.members.map((member) => member.id).sort(compareStrings);
  // `\n` ends the centred heading line; `\l` ends each member line, left-aligned.
  const label = `${escapeLabel(vertex.id)}\\n${memberIds.map((id) => `${escapeLabel(id)}\\l`).join('')}`;
  return [dot.attribute('shape', 'box'), dot.attribute('label', label)];
}

function edgeAttributes(edge: DotEdge, dot: DotBuilder): AttributeASTNode[] {
  const label = edge.notify ? [edge.name, '(notify)'].filter(Boolean).join(' ') : edge.name;
  const attributes = label ? [dot.attribute('label', escapeLabel(label))] : [];
  if (edge.notify) attributes.push(dot.attribute('style', 'bold'));
  return attributes;
}

function sortedVertices(vertices: DotGraph['vertices']): DotVertex[] {
  const list = isMap(vertices) ? [...vertices.values()] : [...vertices];
  return list.sort((a, b) => compareStrings(a.id, b.id));
}

function sortedEdges(edges: Iterable<DotEdge>): DotEdge[] {
  return [...edges].sort(
    (a, b) =>
      compareStrings(a.from, b.from) ||
      compareStrings(a.to, b.to) ||
      compareStrings(a.name, b.name) ||
      Number(a.notify) - Number(b.notify),
  );
}

function isMap(vertices: DotGraph['vertices']): vertices is ReadonlyMap<string, DotVertex> {
  return typeof (vertices as Partial<ReadonlyMap<string, DotVertex>>).get === 'function';
}

// Code-unit order, not localeCompare: the output must not depend on the machine's locale.
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// escapeId makes text safe inside a DOT quoted string: quotes are escaped, and backslashes are
// doubled so that none can escape the closing quote.
function escapeId(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

// escapeLabel makes text show as typed in a label: on top of escapeId, the doubled backslashes keep
// label escapes such as `\N` or `\l` from forming, and `&` is written as an entity because
// graphviz decodes entities like `&amp;` in every label, not only in HTML ones.
function escapeLabel(text: string): string {
  return escapeId(text).replace(/&/g, '&amp;');
}

// Builds AST nodes with every identifier and value quoted. ts-graphviz's model API would print a
// value that looks like `<...>` as an HTML label, which a resource name must never become.
class DotBuilder {
  constructor(private readonly create: CreateElement) {}

  document(name: string, statements: ClusterStatementASTNode[]) {
    const graph = this.create('Graph', { directed: true, strict: false, id: this.quoted(escapeId(name)) }, statements);
    return this.create('Dot', {}, [graph]);
  }

  node(id: string, attributes: AttributeASTNode[]) {
    return this.create('Node', { id: this.quoted(escapeId(id)) }, attributes);
  }

  edge(from: string, to: string, attributes: AttributeASTNode[]) {
    // NodeRefs built from ids, never from strings, which ts-graphviz would split at `:` into ports.
    const ref = (id: string) => this.create('NodeRef', { id: this.quoted(escapeId(id)) }, []);
    return this.create('Edge', { targets: [ref(from), ref(to)] }, attributes);
  }

  /** attribute takes a value already escaped with escapeLabel (or made of safe literals). */
  attribute(key: AttributeKey, escapedValue: string): AttributeASTNode {
    const keyLiteral = this.create('Literal', { value: key, quoted: false }, []);
    return this.create('Attribute', { key: keyLiteral, value: this.quoted(escapedValue) }, []);
  }

  private quoted(escapedValue: string): LiteralASTNode {
    return this.create('Literal', { value: escapedValue, quoted: true }, []);
  }
}
