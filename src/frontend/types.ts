// What a frontend is (docs/architecture.md): a stream of graphs for the agent to run. A frontend
// knows its input format; the agent knows nothing of it.

import type { Observable } from 'rxjs';
import type { Graph } from '../graph/graph.js';
import type { EventLog } from '../log/events.js';
import type { Registry } from '../core/registry.js';
import type { ExportSpec, World } from '../world/types.js';

/** GraphInput is one graph a frontend hands the agent: compiled and validated whole, with its exports. */
export interface GraphInput {
  readonly graph: Graph;
  /** Problems that did not stop the graph, formatted for people. */
  readonly warnings: readonly string[];
  /** The resources this host exports; the agent writes them to the World after the swap. */
  readonly exports: readonly ExportSpec[];
  /** Whether the graph exports or collects: it then needs the World, and is not converged before the World is up. */
  readonly usesWorld: boolean;
  /**
   * Whether the frontend emits this graph again, collected anew, once this first graph's exports
   * are written (export-then-collect): the agent does not count the run converged before it.
   */
  readonly recollects: boolean;
}

/**
 * FrontendEvent is what a frontend emits: a graph to swap in, or an input it could not turn into
 * one (a broken edit), which the agent logs while the running graph keeps running.
 */
export type FrontendEvent = { readonly graph: GraphInput } | { readonly error: Error };

/** FrontendContext is what the agent lends a frontend. */
export interface FrontendContext {
  /** What hosts share: a frontend collects from it. */
  readonly world: World;
  /** The agent's event log, for what a frontend reports besides its graphs (what it collected). */
  readonly log: EventLog;
  /** Requests to read the input again, as a change would (SIGHUP). */
  readonly reloads: Observable<void>;
  /** watchPath watches a file through the agent's shared watcher; its first emission says "ready". */
  watchPath(path: string): Observable<void>;
  /**
   * firstExported resolves once the first graph is running, its exports are written and the World
   * is up; a frontend reloads nothing before it (it never resolves when the run stops first).
   */
  readonly firstExported: Promise<void>;
}

/**
 * Frontend is a source of graphs: subscribed once per run, its first emission is the first graph
 * (an error notification instead means there is nothing to run: the run exits with it), and each
 * later one a new graph or an error event.
 */
export type Frontend = (context: FrontendContext) => Observable<FrontendEvent>;

/** FrontendFlags are a frontend command's parsed flags by name, defaults filled in. */
export type FrontendFlags = Readonly<Record<string, string | number | boolean | string[] | undefined>>;

/** RunSettings are the run-wide settings `mgmt run` hands every frontend besides its own flags. */
export interface RunSettings {
  /** `--noop`: check only, change nothing. */
  readonly noop: boolean;
  /** `--sema`: at most N checkApply runs at once (-1 = no limit). */
  readonly sema: number;
  /** The run's kinds, built once with its run-wide options (`--pkg-backend`); default: the built-in kinds with auto. */
  readonly registry?: Registry;
}

/** FrontendSetup is a frontend made from its flags, and what it reads (for the agent's start event). */
export interface FrontendSetup {
  readonly frontend: Frontend;
  readonly origin: Readonly<Record<string, string>>;
}

/**
 * FrontendFactory makes a frontend from its command's flags and positional arguments; a bad one
 * throws a UsageError before anything runs. Each frontend module exports one (docs/adding-a-frontend.md).
 */
export type FrontendFactory = (flags: FrontendFlags, positional: readonly string[], settings: RunSettings) => FrontendSetup;
