import { hostname as systemHostname } from 'node:os';
import { ReplaySubject, Subject } from 'rxjs';
import { checkHostname } from '../agent/world-setup.js';
import { runAgent, type AgentOptions } from '../agent.js';
import { UsageError } from '../errors.js';
import type { CommandIO } from './command.js';

/**
 * RunOptions are the settings of one `mgmt run`: the agent's (what it runs comes from `frontend`),
 * with the hostname optional; run adds the signals.
 */
export interface RunOptions extends Omit<AgentOptions, 'hostname' | 'stops' | 'reloads'> {
  /** This host's name (default: the system hostname). */
  readonly hostname?: string;
  /** Install SIGINT/SIGTERM/SIGHUP handlers (the CLI does; tests driving run() in-process may not). */
  readonly handleSignals?: boolean;
}

// The signals that stop a run; SIGHUP reloads the graph instead.
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * run applies the frontend's graphs and keeps applying them until converged (with a timeout),
 * stopped, or signalled. It resolves to the exit code: 0 all OK, 1 a resource failed, 2 bad input.
 */
export async function run(options: RunOptions, io: CommandIO): Promise<number> {
  // Installed before anything else, so that no signal meets the default action (which kills the
  // agent and orphans what it started): a stop asked for before the engine runs is kept for it.
  const stops = new ReplaySubject<string>(1);
  const hangups = new Subject<void>();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signal === 'SIGHUP') hangups.next();
    else stops.next(signal);
  };
  if (options.handleSignals) for (const signal of [...STOP_SIGNALS, 'SIGHUP'] as const) process.on(signal, onSignal);
  try {
    const hostname = await checkRunSettings(options);
    // SIGHUP reads the graph again, as an edit would.
    return await runAgent({ ...options, hostname, stops, reloads: hangups }, io);
  } finally {
    if (options.handleSignals) for (const signal of [...STOP_SIGNALS, 'SIGHUP'] as const) process.off(signal, onSignal);
  }
}

/**
 * checkRunSettings checks the settings of a run that the flags alone do not decide (the prefix
 * flags together, the graphviz filter, the hostname) and returns the hostname the run takes.
 */
export async function checkRunSettings(options: Pick<RunOptions, 'prefix' | 'tmpPrefix' | 'graphviz' | 'graphvizFilter' | 'hostname'>): Promise<string> {
  if (options.prefix && options.tmpPrefix) throw new UsageError('mgmt run: --prefix and --tmp-prefix exclude each other');
  if (options.graphviz) {
    // Loaded only when asked for: ts-graphviz is a noticeable part of start-up.
    const { GRAPHVIZ_FILTERS, isGraphvizFilter } = await import('../agent/graphviz-file.js');
    if (!isGraphvizFilter(options.graphvizFilter)) {
      throw new UsageError(`mgmt run: invalid graphviz filter selected: ${options.graphvizFilter} (one of ${GRAPHVIZ_FILTERS.join(', ')})`);
    }
  }
  const hostname = options.hostname || systemHostname();
  checkHostname(hostname);
  return hostname;
}
