import { startWith, Subject } from 'rxjs';
import { canonicalKey } from '../../src/graph/canonical.js';
import { vertexId } from '../../src/graph/compile.js';
import type { Edge, Graph, Vertex } from '../../src/graph/graph.js';
import { DEFAULT_META, type Meta } from '../../src/graph/spec.js';
import type { AnyResourceKind, ResourceKind } from '../../src/core/kind.js';

/** ProbeCall records one checkApply of a probe resource. */
export interface ProbeCall {
  readonly name: string;
  readonly apply: boolean;
  readonly refresh: boolean;
  readonly at: number;
}

/** Probe is the test's handle on one probe resource: fire events, script results, read calls. */
export interface Probe {
  /** Emit a watch event (the first one is "ready"). */
  readonly events: Subject<void>;
  /**
   * What the next checkApply calls do, in order: true/false are returned, an Error is thrown,
   * a function is awaited. When empty, checkApply returns `stateOK` (default true).
   */
  readonly script: Array<boolean | Error | (() => Promise<boolean>)>;
  stateOK: boolean;
  cleanedUp: boolean;
}

/** ProbeWorld holds every probe of a test and the log of calls across all of them. */
export interface ProbeWorld {
  readonly kind: AnyResourceKind;
  readonly calls: ProbeCall[];
  probe(name: string): Probe;
}

/**
 * makeProbeWorld builds a test-only resource kind whose watch and checkApply the test drives, to
 * check the engine's scheduling rules exactly (the real kinds are tested end to end elsewhere).
 */
export function makeProbeWorld(
  options: { refreshable?: boolean; readyAtOnce?: boolean; kind?: string; notifiesAllEdges?: boolean; parallelism?: number } = {},
): ProbeWorld {
  const probes = new Map<string, Probe>();
  const calls: ProbeCall[] = [];
  const probe = (name: string): Probe => {
    let found = probes.get(name);
    if (!found) {
      found = { events: new Subject<void>(), script: [], stateOK: true, cleanedUp: false };
      probes.set(name, found);
    }
    return found;
  };
  const kind: ResourceKind<{ tag: string }> = {
    kind: options.kind ?? 'probe',
    doc: 'test probe',
    params: { tag: { type: 'string', doc: 'changes the params so a swap sees a different resource' } },
    refreshable: options.refreshable ?? true,
    notifiesAllEdges: options.notifiesAllEdges ?? false,
    ...(options.parallelism ? { parallelism: options.parallelism } : {}),
    defaults: () => ({ tag: '' }),
    validate: () => [],
    init(_params, ctx) {
      const handle = probe(ctx.name);
      return {
        watch: () =>
          options.readyAtOnce === false ? handle.events.asObservable() : handle.events.pipe(startWith(undefined)),
        async checkApply(apply) {
          calls.push({ name: ctx.name, apply, refresh: ctx.refreshPending(), at: performance.now() });
          const next = handle.script.shift();
          if (next === undefined) return handle.stateOK;
          if (next instanceof Error) throw next;
          if (typeof next === 'function') return next();
          return next;
        },
        async cleanup() {
          handle.cleanedUp = true;
        },
      };
    },
  };
  return { kind, calls, probe };
}

/** VertexInput declares a vertex for buildGraph. */
export interface VertexInput {
  readonly name: string;
  readonly def: AnyResourceKind;
  readonly params?: Record<string, unknown>;
  readonly meta?: Partial<Meta>;
  /** Other resources of the same kind grouped into this one (it is the group's parent). */
  readonly members?: readonly string[];
}

/** EdgeInput declares an edge for buildGraph by vertex names (kind taken from the vertex). */
export interface EdgeInput {
  readonly from: string;
  readonly to: string;
  readonly notify?: boolean;
}

/** buildGraph makes a compiled Graph by hand (no YAML), for engine tests. */
export function buildGraph(vertexInputs: readonly VertexInput[], edgeInputs: readonly EdgeInput[] = []): Graph {
  const vertices = new Map<string, Vertex>();
  const idOf = new Map<string, string>();
  for (const input of vertexInputs) {
    const params = { ...input.def.defaults(input.name), ...input.params };
    const meta: Meta = { ...DEFAULT_META, ...input.meta };
    const memberOf = (name: string) => ({ id: `${input.def.kind}[${name}]`, kind: input.def.kind, name, params: name === input.name ? params : input.def.defaults(name), meta });
    const members = [memberOf(input.name), ...(input.members ?? []).map(memberOf)];
    const id = members.length > 1 ? vertexId({ kind: input.def.kind, name: input.name, members }) : members[0]!.id;
    vertices.set(id, {
      ...members[0]!,
      id,
      def: input.def,
      members,
      key: canonicalKey(input.def.kind, input.name, params, meta, [members[0]!.id, ...members.slice(1)]),
    });
    idOf.set(input.name, id);
  }
  const edges: Edge[] = edgeInputs.map((edge, i) => ({
    from: idOf.get(edge.from)!,
    to: idOf.get(edge.to)!,
    name: `e${i}`,
    notify: edge.notify ?? false,
  }));
  const incoming = new Map<string, Edge[]>();
  const outgoing = new Map<string, Edge[]>();
  for (const edge of edges) {
    incoming.set(edge.to, [...(incoming.get(edge.to) ?? []), edge]);
    outgoing.set(edge.from, [...(outgoing.get(edge.from) ?? []), edge]);
  }
  return { name: 'test', vertices, edges, incoming, outgoing, timings: { parse: 0, autoedges: 0, autogroup: 0, toposort: 0 } };
}
