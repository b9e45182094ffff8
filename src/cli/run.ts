import { resolve } from 'node:path';
import { hostname as systemHostname } from 'node:os';
import { ReplaySubject, Subject } from 'rxjs';
import { checkHostname, type ClusterSettings } from '../agent/world-setup.js';
import { runAgent } from '../agent.js';
import { UsageError } from '../errors.js';
import { yamlFrontend } from '../frontend/yaml.js';
import type { PkgBackendChoice } from '../resources/types.js';
import { DEFAULT_RELOAD_QUIET_MS } from './flags.js';
import type { CommandIO } from './main.js';

/** RunOptions are the settings of one `mgmt run`. */
export interface RunOptions {
  readonly yaml: string;
  /** Seconds converged before exiting; -1 = never exit. */
  readonly convergedTimeout: number;
  readonly graphviz?: string;
  readonly graphvizFilter: string;
  readonly hostname?: string;
  readonly prefix?: string;
  readonly tmpPrefix: boolean;
  readonly noop: boolean;
  readonly sema: number;
  readonly noWatch: boolean;
  readonly noAutoedges: boolean;
  readonly noAutogroup: boolean;
  readonly strict: boolean;
  readonly logFormat: 'text' | 'json';
  readonly verbose: boolean;
  /** `--pkg-backend`: auto (PackageKit when it answers on the system bus, else apt), packagekit or apt. */
  readonly pkgBackend?: PkgBackendChoice;
  /** etcd and clustering; absent = the local World (as with --no-server and no seeds). */
  readonly cluster?: ClusterSettings;
  /** Warnings logged at every start, before the World is set up (e.g. `--insecure` on a network). */
  readonly startWarnings?: readonly string[];
  /** Milliseconds a changed graph file must stay unchanged (and closed by its writers) before a reload. */
  readonly reloadQuietMs?: number;
  /** Install SIGINT/SIGTERM/SIGHUP handlers (the CLI does; tests driving run() in-process may not). */
  readonly handleSignals?: boolean;
}

// The signals that stop a run; SIGHUP reloads the graph file instead.
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * run applies the graph in `options.yaml` and keeps applying it until converged (with a timeout),
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
    if (options.prefix && options.tmpPrefix) throw new UsageError('mgmt run: --prefix and --tmp-prefix exclude each other');
    if (options.graphviz) {
      // Loaded only when asked for: ts-graphviz is a noticeable part of start-up.
      const { GRAPHVIZ_FILTERS, isGraphvizFilter } = await import('../../graphviz/write.js');
      if (!isGraphvizFilter(options.graphvizFilter)) {
        throw new UsageError(`mgmt run: invalid graphviz filter selected: ${options.graphvizFilter} (one of ${GRAPHVIZ_FILTERS.join(', ')})`);
      }
    }
    const hostname = options.hostname || systemHostname();
    checkHostname(hostname);
    const yaml = resolve(options.yaml);
    const frontend = yamlFrontend({
      path: yaml,
      strict: options.strict,
      noop: options.noop,
      sema: options.sema,
      noAutoedges: options.noAutoedges,
      noAutogroup: options.noAutogroup,
      pkgBackend: options.pkgBackend,
      noWatch: options.noWatch,
      reloadQuietMs: options.reloadQuietMs ?? DEFAULT_RELOAD_QUIET_MS,
      // SIGHUP reads the graph file again, as an edit would.
      reloads: hangups,
    });
    return await runAgent({ ...options, hostname, frontend, origin: { yaml }, stops }, io);
  } finally {
    if (options.handleSignals) for (const signal of [...STOP_SIGNALS, 'SIGHUP'] as const) process.off(signal, onSignal);
  }
}
