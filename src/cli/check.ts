import { formatDiagnostic, InputError, type Diagnostic } from '../errors.js';
import { loadGraph } from '../frontend/yaml-load.js';
import type { CompileTimings, Graph } from '../graph/graph.js';
import type { Registry } from '../core/registry.js';

/** CheckOptions are the inputs of `mgmt check`. */
export interface CheckOptions {
  /** Path of the YAML graph file. */
  readonly yaml: string;
  /** text: a short summary for people; json: one JSON document for machines. */
  readonly format: 'text' | 'json';
  /** Treat warnings (ignored keys, a replaced edge) as errors. */
  readonly strict?: boolean;
  readonly noAutoedges?: boolean;
  readonly noAutogroup?: boolean;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** The resource kinds to check against (default: every built-in kind). */
  readonly registry?: Registry;
}

/**
 * check validates and compiles a graph file without touching the system and resolves to the exit
 * code: 0 when the graph is valid, 2 when it is not (each problem on stderr as file:line:col).
 * Warnings go to stderr in both cases; only the summary or the JSON document goes to stdout.
 */
export async function check(options: CheckOptions): Promise<number> {
  const warnings: Diagnostic[] = [];
  let graph: Graph;
  try {
    // The same load as `mgmt run`'s first: what run would refuse, check refuses.
    ({ graph } = await loadGraph(options.yaml, {
      registry: options.registry,
      strict: options.strict === true,
      noAutoedges: options.noAutoedges === true,
      noAutogroup: options.noAutogroup === true,
      onWarning: (warning) => warnings.push(warning),
    }));
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    writeWarnings(options.stderr, warnings);
    options.stderr.write(`${err.message}\n`);
    return err.exitCode;
  }
  writeWarnings(options.stderr, warnings);
  const output = options.format === 'json' ? JSON.stringify(checkReport(graph, warnings)) : textSummary(options.yaml, graph, warnings);
  options.stdout.write(`${output}\n`);
  return 0;
}

/** CheckReport is the JSON document `mgmt check --format json` prints. */
export interface CheckReport {
  readonly graph: string;
  /** Vertices in topological order. */
  readonly vertices: { id: string; kind: string; name: string; members: string[] }[];
  /** Edges sorted by (from, to). */
  readonly edges: { from: string; to: string; name: string; notify: boolean }[];
  /** Milliseconds per compile stage. */
  readonly ms: CompileTimings;
  /** Each warning as `file:line:col: kind[name]: message`. */
  readonly warnings: string[];
}

/** checkReport describes a compiled graph as the JSON document of `mgmt check --format json`. */
export function checkReport(graph: Graph, warnings: readonly Diagnostic[]): CheckReport {
  return {
    graph: graph.name,
    vertices: [...graph.vertices.values()].map((v) => ({ id: v.id, kind: v.kind, name: v.name, members: v.members.map((m) => m.id) })),
    edges: graph.edges.map((e) => ({ from: e.from, to: e.to, name: e.name, notify: e.notify })),
    ms: {
      parse: roundMs(graph.timings.parse),
      autoedges: roundMs(graph.timings.autoedges),
      autogroup: roundMs(graph.timings.autogroup),
      toposort: roundMs(graph.timings.toposort),
    },
    warnings: warnings.map(formatDiagnostic),
  };
}

function textSummary(file: string, graph: Graph, warnings: readonly Diagnostic[]): string {
  const t = graph.timings;
  const count = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
  return [
    `${file}: graph ${graph.name} is valid: ${count(graph.vertices.size, 'vertex', 'vertices')}, ${count(graph.edges.length, 'edge', 'edges')}, ${count(warnings.length, 'warning', 'warnings')}`,
    `timings: parse ${t.parse.toFixed(2)} ms, autoedges ${t.autoedges.toFixed(2)} ms, autogroup ${t.autogroup.toFixed(2)} ms, toposort ${t.toposort.toFixed(2)} ms`,
  ].join('\n');
}

function writeWarnings(stderr: NodeJS.WritableStream, warnings: readonly Diagnostic[]): void {
  for (const warning of warnings) stderr.write(`warning: ${formatDiagnostic(warning)}\n`);
}

function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
