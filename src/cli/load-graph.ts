import { formatDiagnostic } from '../errors.js';
import { compileGraph } from '../graph/compile.js';
import type { Graph } from '../graph/graph.js';
import { defaultRegistry, type Registry } from '../resources/index.js';
import { loadGraphFile } from '../yamlgraph/parse.js';

/** LoadOptions choose how a graph file is read and compiled. */
export interface LoadOptions {
  readonly strict?: boolean;
  readonly noop?: boolean;
  readonly sema?: number;
  readonly noAutoedges?: boolean;
  readonly noAutogroup?: boolean;
  readonly registry?: Registry;
}

/** LoadedGraph is a compiled graph with the input's warnings, formatted for people. */
export interface LoadedGraph {
  readonly graph: Graph;
  readonly warnings: readonly string[];
}

/** loadGraph reads, validates and compiles a YAML graph file; any problem throws an InputError. */
export async function loadGraph(path: string, options: LoadOptions = {}): Promise<LoadedGraph> {
  const registry = options.registry ?? defaultRegistry;
  const started = performance.now();
  const spec = await loadGraphFile(path, registry, { strict: options.strict });
  const parseMs = performance.now() - started;
  const warnings = spec.warnings.map(formatDiagnostic);
  const graph = compileGraph(spec, registry, {
    ...options,
    parseMs,
    onWarning: (warning) => warnings.push(formatDiagnostic(warning)),
  });
  return { graph, warnings };
}
