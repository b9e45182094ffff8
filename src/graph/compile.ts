import { performance } from 'node:perf_hooks';
import { InputError, resourceId, type Diagnostic, type SourcePos } from '../errors.js';
import type { Registry } from '../core/registry.js';
import type { PrefetchItem } from '../core/autoedge.js';
import type { AnyResourceKind } from '../core/kind.js';
import { compareStrings, conflictDiagnostic, dedupeResources } from './canonical.js';
import { EdgeLists } from './edge-lists.js';
import { FrozenVertex } from './frozen-vertex.js';
import { edgeKey, type CompileTimings, type Edge, type Graph, type Member, type Vertex } from './graph.js';
import { addAutoEdges } from './autoedge.js';
import { autoGroup } from './autogroup.js';
import { MutableGraph, type BuildVertex } from './mutable.js';
import type { EdgeSpec, GraphSpec, Meta, ResourceSpec } from './spec.js';
import { formatCycle, topoSort } from './toposort.js';

/** CompileOptions are the run-wide switches that change how a spec becomes a graph. */
export interface CompileOptions {
  /** `--noop`: every resource only checks, never changes the system. */
  readonly noop?: boolean;
  /** `--sema N`: N > 0 adds the semaphore `:N` to every resource, capping parallel checkApply runs at N. */
  readonly sema?: number;
  /** `--no-autoedges`: skip automatic edges. */
  readonly noAutoedges?: boolean;
  /** `--no-autogroup`: skip automatic grouping. */
  readonly noAutogroup?: boolean;
  /** `--strict`: compile warnings (such as a replaced edge) are errors. */
  readonly strict?: boolean;
  /** Milliseconds the caller spent parsing, recorded in the timings. */
  readonly parseMs?: number;
  /** Called with each non-fatal problem (a replaced edge). */
  readonly onWarning?: (warning: Diagnostic) => void;
}

/**
 * compileGraph turns a validated spec into the acyclic graph the engine runs: exported resources
 * are left out (they are for other hosts), global meta switches are applied, edges are resolved,
 * and the vertices are sorted so parents come first. Every problem is collected and thrown once
 * as an InputError.
 */
export function compileGraph(spec: GraphSpec, registry: Registry, options: CompileOptions = {}): Graph {
  const errors: Diagnostic[] = [];
  const warn = (warning: Diagnostic): void => {
    if (options.strict) errors.push(warning);
    else options.onWarning?.(warning);
  };

  const graph = new MutableGraph();
  buildVertices(spec, registry, options, errors, graph);
  const { edges, positions } = resolveEdges(spec.edges, graph.vertices, spec.resources, errors, warn);
  for (const edge of edges.values()) graph.setEdge(edge);

  // Autoedges and autogroup run here, in this order, before the sort,
  // so an automatic edge that closes a cycle is caught like a declared one. Each is skipped when
  // its `no*` option is set and records its time in `timings`.
  let autoedges = 0;
  if (!options.noAutoedges) {
    const started = performance.now();
    // A failed lookup is about the host (a package unknown here), not the input: never an error.
    addAutoEdges(graph, { onWarning: (warning) => options.onWarning?.(warning) });
    autoedges = performance.now() - started;
  }
  let autogroup = 0;
  let grouped = false;
  if (!options.noAutogroup) {
    const started = performance.now();
    // A kind without a key puts all its vertices in one bucket; a key's undefined means "never
    // groups" and must stay so (as '' it made every refresh-only print a pair for all the others).
    grouped = autoGroup(graph, { groupKey: (vertex) => (vertex.def.group?.key ? vertex.def.group.key(vertex.params) : '') }).merged > 0;
    autogroup = performance.now() - started;
  }

  const sortStart = performance.now();
  const sorted = topoSort(graph.vertices.keys(), graph.edges(), { ascending: graph.idOrdered });
  const toposort = performance.now() - sortStart;
  for (const cycle of sorted.cycles) {
    const pos = positions.get(edgeKey(cycle[0]!, cycle[1]!));
    errors.push({ message: `dependency cycle: ${formatCycle(cycle)}`, ...(pos ? { pos } : {}) });
  }
  if (errors.length > 0) throw new InputError(errors);

  const timings: CompileTimings = { parse: options.parseMs ?? 0, autoedges, autogroup, toposort };
  return freeze(spec.name, sorted.order, graph, timings, grouped);
}

/** PrefetchOptions are the run-wide switches a prefetch depends on. */
export interface PrefetchOptions {
  /** `--no-autoedges`: nothing to prefetch. */
  readonly noAutoedges?: boolean;
}

/**
 * prefetchAutoEdges runs each kind's autoedge prefetch (AutoEdgeTrait.prefetch) over the spec's
 * local resources that take part in automatic edges, all kinds at once, so that compileGraph can
 * stay synchronous; a kind whose prefetch could serve none of the graph's kinds is left out. A
 * prefetch that rejects is not an error here: the kind's search reports what it lacks, as a
 * warning on that resource.
 */
export async function prefetchAutoEdges(spec: GraphSpec, registry: Registry, options: PrefetchOptions = {}): Promise<void> {
  if (options.noAutoedges) return;
  const kinds = localKinds(spec.resources);
  const byKind = new Map<AnyResourceKind, PrefetchItem<unknown>[]>();
  for (let i = 0; i < spec.resources.length; i++) {
    const resource = spec.resources[i]!;
    const def = registry.get(resource.kind);
    if (resource.exported || def?.autoedge?.prefetch === undefined || resource.meta.autoedge === false) continue;
    const usefulWith = def.autoedge.prefetchUsefulWith;
    if (usefulWith !== undefined && !usefulWith.some((kind) => kinds.has(kind))) continue;
    let items = byKind.get(def);
    if (items === undefined) byKind.set(def, (items = []));
    items.push({ name: resource.name, params: resource.params });
  }
  await Promise.all([...byKind].map(([def, items]) => def.autoedge!.prefetch!(items).catch(() => undefined)));
}

/** localKinds lists the kinds of the resources that are not exported; runs of one kind (a YAML reader's) cost one insert. */
function localKinds(resources: readonly ResourceSpec[]): Set<string> {
  const kinds = new Set<string>();
  let last: string | undefined;
  for (let i = 0; i < resources.length; i++) {
    const resource = resources[i]!;
    if (resource.exported || resource.kind === last) continue;
    last = resource.kind;
    kinds.add(last);
  }
  return kinds;
}

/**
 * buildVertices adds one vertex per local resource to `graph`, with the global meta switches
 * applied, in id order: the autoedge stage and the sort want that order, and find it already
 * made (resources the reader gives in id order, as a generated graph's, are not sorted at all).
 */
function buildVertices(spec: GraphSpec, registry: Registry, options: CompileOptions, errors: Diagnostic[], graph: MutableGraph): void {
  const vertices = ascendingVertices(spec.resources, registry, options, errors) ?? sortedVertices(spec.resources, registry, options, errors);
  for (let i = 0; i < vertices.length; i++) graph.addVertex(vertices[i]!);
}

/**
 * ascendingVertices builds the vertices of resources whose ids come in strictly ascending order,
 * which cannot hold a duplicate; it returns undefined (adding no error) at the first id out of
 * order. A reader's resources were de-duplicated already, and keying 10,000 of them again cost
 * ~4% of compiling them.
 */
function ascendingVertices(
  resources: readonly ResourceSpec[],
  registry: Registry,
  options: CompileOptions,
  errors: Diagnostic[],
): FrozenVertex[] | undefined {
  const mark = errors.length;
  const vertices: FrozenVertex[] = [];
  let previous = '';
  // Indexed loops, not for-of, here and below: code that runs once runs cold, and a cold for-of
  // makes an iterator result per element (with the Map walks, a quarter of compile's garbage).
  for (let i = 0; i < resources.length; i++) {
    const resource = resources[i]!;
    if (resource.exported) continue;
    const id = resourceId(resource.kind, resource.name);
    if (!(previous < id)) {
      errors.length = mark;
      return undefined;
    }
    previous = id;
    const vertex = makeVertex(resource, id, registry, options, errors);
    if (vertex) vertices.push(vertex);
  }
  return vertices;
}

/** sortedVertices builds the vertices of resources in any order, duplicates collapsed (or reported), sorted by id. */
function sortedVertices(resources: readonly ResourceSpec[], registry: Registry, options: CompileOptions, errors: Diagnostic[]): FrozenVertex[] {
  // Another frontend (or collection) may hand us duplicates the YAML parser never saw.
  const deduped = dedupeResources(resources.filter((r) => !r.exported));
  for (const conflict of deduped.conflicts) errors.push(conflictDiagnostic(conflict));
  const vertices: FrozenVertex[] = [];
  for (const resource of deduped.resources) {
    const vertex = makeVertex(resource, resourceId(resource.kind, resource.name), registry, options, errors);
    if (vertex) vertices.push(vertex);
  }
  return vertices.sort((a, b) => compareStrings(a.id, b.id));
}

/** makeVertex is the vertex of one resource, or undefined (and an error) when its kind is unknown. */
function makeVertex(resource: ResourceSpec, id: string, registry: Registry, options: CompileOptions, errors: Diagnostic[]): FrozenVertex | undefined {
  const def = registry.get(resource.kind);
  if (!def) {
    errors.push({ message: `unknown resource kind \`${resource.kind}\``, resource: id, ...posOf(resource.pos) });
    return undefined;
  }
  const meta = globalMeta(resource.meta, options);
  const params = inSchemaOrder(resource.params, def.params);
  const { kind, name, pos } = resource;
  // A literal, not a spread: a spread of the member (and of posOf) per vertex was a slow copy.
  const member: Member = pos ? { id, kind, name, params, meta, pos } : { id, kind, name, params, meta };
  return new FrozenVertex(id, kind, name, params, meta, def, [member], pos);
}

/**
 * inSchemaOrder returns params with their keys in the kind's schema order, so every resource of a
 * kind has objects of one shape: comparing 10,000 of them on a graph swap then stays monomorphic
 * (measured: 4x faster than the same data in the parser's insertion order). Params already in
 * that order (the YAML reader's: defaults first, in table order) are returned as they are:
 * copying them key by key was 15% of compiling 10,000 files.
 */
function inSchemaOrder(params: Readonly<Record<string, unknown>>, schema: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  const keys = schemaKeys(schema);
  if (followsOrder(params, keys)) return params;
  const ordered: Record<string, unknown> = {};
  for (const key of keys) if (Object.hasOwn(params, key)) ordered[key] = params[key];
  for (const key in params) if (!Object.hasOwn(ordered, key)) ordered[key] = params[key];
  return ordered;
}

/** followsOrder says whether the keys of `params` are all in `keys`, in that order (some may be missing). */
function followsOrder(params: Readonly<Record<string, unknown>>, keys: readonly string[]): boolean {
  let at = 0;
  for (const key in params) {
    while (at < keys.length && keys[at] !== key) at++;
    if (at === keys.length) return false;
    at++;
  }
  return true;
}

const schemaKeyLists = new WeakMap<object, readonly string[]>();

/** schemaKeys lists a kind's parameter names in schema order, once per schema. */
function schemaKeys(schema: Readonly<Record<string, unknown>>): readonly string[] {
  let keys = schemaKeyLists.get(schema);
  if (keys === undefined) schemaKeyLists.set(schema, (keys = Object.keys(schema)));
  return keys;
}

/** globalMeta applies `--noop` and `--sema N` over a resource's own meta. */
function globalMeta(meta: Meta, options: CompileOptions): Meta {
  const noop = options.noop === true && !meta.noop;
  const sema = options.sema !== undefined && Number.isSafeInteger(options.sema) && options.sema > 0;
  if (!noop && !sema) return meta;
  return Object.freeze({
    ...meta,
    ...(noop ? { noop: true } : {}),
    ...(sema ? { sema: Object.freeze([...meta.sema, `:${options.sema}`]) } : {}),
  });
}

/**
 * resolveEdges binds each declared edge to its two vertices. Like upstream, a pair of vertices
 * holds one edge: a later declaration replaces an earlier one, with a warning.
 */
function resolveEdges(
  declared: readonly EdgeSpec[],
  vertices: ReadonlyMap<string, BuildVertex>,
  resources: readonly ResourceSpec[],
  errors: Diagnostic[],
  warn: (warning: Diagnostic) => void,
): { edges: Map<string, Edge>; positions: Map<string, SourcePos> } {
  const edges = new Map<string, Edge>();
  const positions = new Map<string, SourcePos>();
  if (declared.length === 0) return { edges, positions };
  const exported = new Set(resources.filter((r) => r.exported).map((r) => resourceId(r.kind, r.name)));
  for (const spec of declared) {
    // Both ends are resolved: an edge missing both is reported for both.
    const from = endId(spec, 'from', vertices, exported, errors);
    const to = endId(spec, 'to', vertices, exported, errors);
    if (from === undefined || to === undefined) continue;
    const key = edgeKey(from, to);
    const earlier = edges.get(key);
    if (earlier) {
      const was = earlier.name ? `edge ${earlier.name}` : 'an earlier edge';
      warn({ message: `${edgeLabel(spec)} replaces ${was} from ${from} to ${to}: a pair of resources holds one edge`, ...posOf(spec.pos) });
    }
    edges.set(key, { from, to, name: spec.name, notify: spec.notify });
    if (spec.pos) positions.set(key, spec.pos);
  }
  return { edges, positions };
}

/** endId is the vertex id of one end of a declared edge, or undefined (and an error) when the graph has no such vertex. */
function endId(
  spec: EdgeSpec,
  end: 'from' | 'to',
  vertices: ReadonlyMap<string, BuildVertex>,
  exported: ReadonlySet<string>,
  errors: Diagnostic[],
): string | undefined {
  const id = resourceId(spec[end].kind.toLowerCase(), spec[end].name);
  if (vertices.has(id)) return id;
  const why = exported.has(id) ? ' (it is exported with `@@`, so it is not applied on this host)' : '';
  errors.push({ message: `${edgeLabel(spec)}: can't find '${end}' resource ${id}${why}`, ...posOf(spec.pos) });
  return undefined;
}

/** edgeLabel names a declared edge in a diagnostic. */
function edgeLabel(spec: EdgeSpec): string {
  return spec.name ? `edge ${spec.name}` : 'an edge without a name';
}

/**
 * freeze builds the final Graph: vertices in topological order with their final ids (a group is
 * `kind[autogroup:(a,b,c)]`) and equality keys, edges sorted, adjacency maps. A vertex that is no
 * group keeps its build id, and an edge between two such vertices is kept as it is: at 100,000
 * vertices new id strings and edge copies were a fifth of freeze's time and its garbage. When
 * nothing was grouped and the order is the vertices' own (a graph without edges, built in id
 * order), the graph keeps the build map itself.
 */
function freeze(name: string, order: readonly string[], graph: MutableGraph, timings: CompileTimings, grouped: boolean): Graph {
  const renamed = new Map<string, string>();
  // Vertices are built with one member each: only a merge makes a group.
  if (grouped) {
    graph.vertices.forEach((vertex) => {
      if (vertex.members.length > 1) renamed.set(vertex.id, vertexId(vertex));
    });
  }
  const vertices = (renamed.size === 0 ? builtInOrder(graph.vertices, order) : undefined) ?? ordered(order, graph.vertices, renamed);
  const edges: Edge[] = [];
  for (const edge of graph.edges()) {
    const from = renamed.get(edge.from);
    const to = renamed.get(edge.to);
    edges.push(from === undefined && to === undefined ? edge : { ...edge, from: from ?? edge.from, to: to ?? edge.to });
  }
  edges.sort((a, b) => compareStrings(a.from, b.from) || compareStrings(a.to, b.to));
  // Filling from sorted edges keeps each list sorted too: outgoing by child, incoming by parent.
  const incoming = new Map<string, Edge[]>();
  const outgoing = new Map<string, Edge[]>();
  for (let i = 0; i < edges.length; i++) {
    const edge = edges[i]!;
    appendEdge(outgoing, edge.from, edge);
    appendEdge(incoming, edge.to, edge);
  }
  return { name, vertices, edges, incoming: new EdgeLists(vertices, incoming), outgoing: new EdgeLists(vertices, outgoing), timings };
}

/** builtInOrder returns `vertices` as they are when they iterate in `order` and were all built frozen; otherwise undefined. */
function builtInOrder(vertices: ReadonlyMap<string, BuildVertex>, order: readonly string[]): ReadonlyMap<string, Vertex> | undefined {
  if (vertices.size !== order.length) return undefined;
  let at = 0;
  let same = true;
  vertices.forEach((vertex, id) => {
    if (same && (order[at++] !== id || !(vertex instanceof FrozenVertex))) same = false;
  });
  return same ? (vertices as ReadonlyMap<string, FrozenVertex>) : undefined;
}

/** ordered is a new map of the vertices in `order`, each under its final id (`renamed`, or its own). */
function ordered(order: readonly string[], vertices: ReadonlyMap<string, BuildVertex>, renamed: ReadonlyMap<string, string>): Map<string, Vertex> {
  const grouped = renamed.size > 0;
  const result = new Map<string, Vertex>();
  for (let i = 0; i < order.length; i++) {
    const buildId = order[i]!;
    const id = grouped ? (renamed.get(buildId) ?? buildId) : buildId;
    const vertex = vertices.get(buildId)!;
    result.set(id, vertex instanceof FrozenVertex && vertex.id === id ? vertex : FrozenVertex.of(vertex, id));
  }
  return result;
}

/** appendEdge adds `edge` to the list of `id`, made with its first edge. */
function appendEdge(lists: Map<string, Edge[]>, id: string, edge: Edge): void {
  const list = lists.get(id);
  if (list === undefined) lists.set(id, [edge]);
  else list.push(edge);
}

/** vertexId is `kind[name]`, or for a group `kind[autogroup:(a,b,c)]` with its member names sorted. */
export function vertexId(vertex: Pick<BuildVertex, 'kind' | 'name' | 'members'>): string {
  if (vertex.members.length <= 1) return resourceId(vertex.kind, vertex.name);
  const names = vertex.members.map((member) => member.name).sort(compareStrings);
  return resourceId(vertex.kind, `autogroup:(${names.join(',')})`);
}

function posOf(pos: SourcePos | undefined): { pos?: SourcePos } {
  return pos ? { pos } : {};
}
