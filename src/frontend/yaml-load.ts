import { formatDiagnostic, InputError, type Diagnostic } from '../errors.js';
import { compileGraph, prefetchAutoEdges } from '../graph/compile.js';
import type { Graph } from '../graph/graph.js';
import type { GraphSpec } from '../graph/spec.js';
import type { Registry } from '../core/registry.js';
import { defaultRegistry } from '../resources/index.js';
import { readGraphText } from '../yamlgraph/input.js';
import { parseGraph, parseGraphFast, type ParsePath } from '../yamlgraph/parse.js';

/** LoadOptions choose how a graph file is read and compiled. */
export interface LoadOptions {
  readonly strict?: boolean;
  readonly noop?: boolean;
  readonly sema?: number;
  readonly noAutoedges?: boolean;
  readonly noAutogroup?: boolean;
  readonly registry?: Registry;
  /**
   * prepare may add to the parsed spec before it is compiled (collected resources). It must only
   * read: with the fast reader it can run twice for one load.
   */
  readonly prepare?: (spec: GraphSpec) => Promise<GraphSpec>;
  /**
   * onWarning hears each warning of the reading the graph is compiled from as it is found, also
   * when the load then fails (`mgmt check` prints them before the error).
   */
  readonly onWarning?: (warning: Diagnostic) => void;
}

/** LoadedGraph is a compiled graph with the input's warnings, formatted for people. */
export interface LoadedGraph {
  readonly graph: Graph;
  readonly warnings: readonly string[];
  /** Which YAML reader produced the graph (see parseGraphFast); the graph is the same either way. */
  readonly parsePath: ParsePath;
  /** The spec the graph was compiled from (after `prepare`). */
  readonly spec: GraphSpec;
}

/**
 * loadGraph reads, validates and compiles a YAML graph file; any problem throws an InputError. It is
 * the YAML frontend's one-shot load, shared by `mgmt run` and `mgmt check`.
 */
export async function loadGraph(path: string, options: LoadOptions = {}): Promise<LoadedGraph> {
  const registry = options.registry ?? defaultRegistry;
  const started = performance.now();
  const text = await readGraphText(path);
  const parsed = parseGraphFast(text, path, registry, { strict: options.strict });
  // The exact re-read below holds the same resources: what the fast path prefetched serves it too.
  let prefetched: Promise<void> | undefined;
  // Only the exact reading reports its warnings: a fast one with warnings is read again exactly.
  const compile = async (parsedSpec: GraphSpec, report?: (warning: Diagnostic) => void): Promise<{ graph: Graph; warnings: Diagnostic[]; spec: GraphSpec }> => {
    const spec = options.prepare ? await options.prepare(parsedSpec) : parsedSpec;
    const warnings: Diagnostic[] = [];
    const warn = (warning: Diagnostic): void => {
      warnings.push(warning);
      report?.(warning);
    };
    spec.warnings.forEach(warn);
    await (prefetched ??= prefetchAutoEdges(spec, registry, options));
    const graph = compileGraph(spec, registry, {
      ...options,
      parseMs: performance.now() - started,
      onWarning: warn,
    });
    return { graph, warnings, spec };
  };
  if (parsed.path === 'fast') {
    try {
      const compiled = await compile(parsed.spec);
      if (compiled.warnings.length === 0) return { graph: compiled.graph, warnings: [], parsePath: 'fast', spec: compiled.spec };
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
    }
    // A fast spec has no positions, and compile problems (an edge to nowhere, a cycle, a replaced
    // edge) should name their line: read the file again exactly and compile that.
  }
  const exact = parsed.path === 'fast' ? parseGraph(text, path, registry, { strict: options.strict }) : parsed.spec;
  const compiled = await compile(exact, options.onWarning);
  return { graph: compiled.graph, warnings: compiled.warnings.map(formatDiagnostic), parsePath: 'exact', spec: compiled.spec };
}
