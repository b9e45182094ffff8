// The agent's `--log-format json` output, read back: one JSON event per line on stdout.

/** MgmtEvent is one event line of `mgmt run --log-format json`. */
export interface MgmtEvent {
  readonly ts: string;
  readonly event: string;
  readonly level?: string;
  readonly resource?: string;
  readonly [field: string]: unknown;
}

/** parseEvent parses one stdout line, or returns undefined for anything that is not an event. */
export function parseEvent(line: string): MgmtEvent | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as Partial<MgmtEvent>;
    return typeof value.event === 'string' && typeof value.ts === 'string' ? (value as MgmtEvent) : undefined;
  } catch {
    return undefined;
  }
}

/** parseEvents parses a whole stdout capture, skipping lines that are not events. */
export function parseEvents(stdout: string): MgmtEvent[] {
  return stdout.split('\n').flatMap((line) => parseEvent(line) ?? []);
}

/** GraphTimings are the compile timings of the `graph` event, plus the engine's swap time (ms). */
export interface GraphTimings {
  readonly parse?: number;
  readonly autoedges?: number;
  readonly autogroup?: number;
  readonly toposort?: number;
  readonly swap?: number;
}

/** graphTimings extracts the first `graph` event's timings. */
export function graphTimings(events: readonly MgmtEvent[]): GraphTimings {
  const graph = events.find((event) => event.event === 'graph');
  if (!graph) return {};
  const ms = (graph.ms ?? {}) as Record<string, unknown>;
  const swap = (graph.swap ?? {}) as Record<string, unknown>;
  const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
  return {
    parse: num(ms.parse),
    autoedges: num(ms.autoedges),
    autogroup: num(ms.autogroup),
    toposort: num(ms.toposort),
    swap: num(swap.ms),
  };
}

/**
 * RunPhases splits one run's wall time along the agent's own timestamps (millisecond clock):
 * boot = spawn to `start` (node, module loading, YAML parse and compile), swap = `start` to
 * `graph`, work = `graph` to `converged` (watches, checks, applies), exit = `converged` to exit.
 */
export interface RunPhases {
  readonly boot?: number;
  readonly swap?: number;
  readonly work?: number;
  readonly exit?: number;
}

/** runPhases computes the phases of a run from its events and the parent's spawn and exit times. */
export function runPhases(events: readonly MgmtEvent[], spawnedAt: number, exitedAt: number): RunPhases {
  const start = eventTime(events, 'start');
  const graph = eventTime(events, 'graph');
  const converged = eventTime(events, 'converged');
  const span = (from: number | undefined, to: number | undefined): number | undefined =>
    from !== undefined && to !== undefined ? to - from : undefined;
  return { boot: span(spawnedAt, start), swap: span(start, graph), work: span(graph, converged), exit: span(converged, exitedAt) };
}

/** eventTime is the timestamp (ms since the epoch) of the first event named `name`, if any. */
export function eventTime(events: readonly MgmtEvent[], name: string): number | undefined {
  const event = events.find((candidate) => candidate.event === name);
  return event ? Date.parse(event.ts) : undefined;
}

/**
 * agentWorkMs is the agent's own work in a run, node's start and module loading left out: the
 * compile stages of the first `graph` event (parse, autoedges, autogroup, toposort: all done
 * before `start` is logged) plus `start` to `converged` (the engine's swap, then every check).
 */
export function agentWorkMs(events: readonly MgmtEvent[]): number | undefined {
  const start = eventTime(events, 'start');
  const converged = eventTime(events, 'converged');
  if (start === undefined || converged === undefined) return undefined;
  const { parse = 0, autoedges = 0, autogroup = 0, toposort = 0 } = graphTimings(events);
  return converged - start + parse + autoedges + autogroup + toposort;
}

/** countEvents counts events by name (apply, error, retry, ...). */
export function countEvents(events: readonly MgmtEvent[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const event of events) counts[event.event] = (counts[event.event] ?? 0) + 1;
  return counts;
}
