// One timed one-shot `mgmt run --converged-timeout=0` of a graph file, read back from its event
// log, and the medians that summarize several of them.

import { agentWorkMs, countEvents, graphTimings, parseEvents, runPhases, type GraphTimings, type RunPhases } from './events.js';
import { expectSuccess, runMgmt, syncDisks } from './proc.js';
import { medianOf } from './stats.js';

/** AgentRun is what one timed `mgmt run` tells us. */
export interface AgentRun {
  /** Wall time from spawn to exit (ms). */
  readonly ms: number;
  /** The agent's own work from its event log: compile stages plus `start` to `converged` (ms). */
  readonly workMs: number | undefined;
  readonly phases: RunPhases;
  readonly graph: GraphTimings;
  readonly applies: number;
  /** The `graph` event's vertex count. */
  readonly vertices: number | undefined;
  readonly peakRssMb: number | undefined;
  /** CPU time of the run in user mode (its own code), in ms. */
  readonly userMs: number | undefined;
  /** Bytes of the JSON event log (stdout). */
  readonly logBytes: number;
}

/** AgentRunOptions say where a run keeps its temporary prefix and what else it is given. */
export interface AgentRunOptions {
  /** The scenario's directory: `--tmp-prefix` makes the agent's prefix under it (TMPDIR). */
  readonly tmp: string;
  /** Flags after the common ones, e.g. `--no-watch` or `--no-autogroup`. */
  readonly flags?: readonly string[];
  readonly timeoutMs: number;
  /** Run sync(1) first, so that writeback of an earlier run does not land inside this one. */
  readonly sync?: boolean;
}

/** runAgent runs `mgmt run --yaml GRAPH --converged-timeout=0 --tmp-prefix --log-format json`, and fails on any error event. */
export async function runAgent(yaml: string, what: string, options: AgentRunOptions): Promise<AgentRun> {
  if (options.sync) await syncDisks();
  const args = ['run', '--yaml', yaml, '--converged-timeout=0', '--tmp-prefix', '--log-format', 'json', ...(options.flags ?? [])];
  const run = expectSuccess(await runMgmt(args, { env: { TMPDIR: options.tmp }, timeoutMs: options.timeoutMs, sampleRss: true }), `mgmt run (${what})`);
  const events = parseEvents(run.stdout);
  const counts = countEvents(events);
  if (counts.error) throw new Error(`mgmt run (${what}) logged ${counts.error} error events`);
  const graph = events.find((event) => event.event === 'graph');
  return {
    ms: run.ms,
    workMs: agentWorkMs(events),
    phases: runPhases(events, run.spawnedAt, run.exitedAt),
    graph: graphTimings(events),
    applies: counts.apply ?? 0,
    vertices: typeof graph?.vertices === 'number' ? graph.vertices : undefined,
    peakRssMb: run.peakRssMb,
    userMs: run.userMs,
    logBytes: Buffer.byteLength(run.stdout),
  };
}

/** agentDetails summarizes where the agent's time and memory went over several runs (medians). */
export function agentDetails(runs: readonly AgentRun[]): Record<string, unknown> {
  return {
    applies: medianOf(runs, (run) => run.applies),
    // From the `graph` event: YAML parse, compile stages and the engine's swap (ms).
    graphMs: {
      parse: medianOf(runs, (run) => run.graph.parse),
      autoedges: medianOf(runs, (run) => run.graph.autoedges),
      autogroup: medianOf(runs, (run) => run.graph.autogroup),
      toposort: medianOf(runs, (run) => run.graph.toposort),
      swap: medianOf(runs, (run) => run.graph.swap),
    },
    // Wall time split at the agent's own timestamps: spawn→start, start→graph, graph→converged, converged→exit.
    phasesMs: {
      boot: medianOf(runs, (run) => run.phases.boot),
      swap: medianOf(runs, (run) => run.phases.swap),
      work: medianOf(runs, (run) => run.phases.work),
      exit: medianOf(runs, (run) => run.phases.exit),
    },
    // VmHWM polled every 20 ms: a lower bound of the peak.
    peakRssMb: medianOf(runs, (run) => run.peakRssMb),
  };
}
