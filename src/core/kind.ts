import type { Observable } from 'rxjs';
import type { AutoEdgeTrait } from './autoedge.js';
import type { CollectTrait } from './collect.js';
import type { ResourceContext } from './context.js';
import type { GroupTrait } from './group.js';
import type { ParamInfo, ParamProblem } from './params.js';

/** LiveResource is the running part of a resource, created by `init`. */
export interface LiveResource {
  /**
   * watch emits once when the resource's watches are established (ready), then once per possible
   * change. A spurious emission is fine; a missed change is a bug. An error is a watch failure
   * (retried by the engine with the retry/delay meta params).
   */
  watch(): Observable<void>;
  /**
   * checkApply returns true when the state was already correct; false when it was wrong and, if
   * `apply`, is now fixed. It throws on failure and honours `signal` (abort = stop promptly).
   */
  checkApply(apply: boolean, signal: AbortSignal): Promise<boolean>;
  /**
   * checkOKSync, when a kind has it, says true when synchronous calls alone show the state correct
   * and, with `apply`, nothing else to do: the engine then counts the check as OK without calling
   * checkApply. False (anything unsure) = the engine calls checkApply. It must not throw or change
   * anything, and it runs only where checkApply would (the same semaphores, no refresh waiting).
   */
  checkOKSync?(apply: boolean): boolean;
  /** cleanup releases whatever init took (processes, handles). */
  cleanup?(): Promise<void>;
}

/**
 * ResourceKind is the definition of one kind, in lifecycle order (docs/adding-a-kind.md). Its
 * parameters are declared once, in `params`; P is derived from it with ParamsOf and `defaults`
 * made from it with defaultsOf.
 */
export interface ResourceKind<P extends object = Record<string, unknown>> {
  readonly kind: string;
  /** One line saying what the kind manages. */
  readonly doc: string;
  /** The parameters the kind accepts, by YAML key: a kind's paramTable (a test's kind may list them alone). */
  readonly params: Readonly<Record<string, ParamInfo>>;
  /** defaults returns the parameters a resource named `name` has before the YAML's are applied, as a new object the caller may change. */
  defaults(name: string): P;
  /** validate returns every problem with the parameters; empty = valid. */
  validate(params: P): ParamProblem[];
  /**
   * validateName, for kinds whose name is what they manage (a package, an account), returns every
   * problem with the name given the parameters, as `name` problems; validateResource calls both.
   */
  validateName?(name: string, params: P): ParamProblem[];
  /** init creates the live resource. It must not touch the system (checkApply does that). */
  init(params: P, ctx: ResourceContext): LiveResource;
  /** refreshable: a pending refresh over a `notify` edge makes the engine run checkApply again. */
  readonly refreshable?: boolean;
  /**
   * notifiesAllEdges: a change of this resource refreshes its children over every outgoing edge,
   * not only `notify` edges (a timer tick re-runs the exec it points at).
   */
  readonly notifiesAllEdges?: boolean;
  /**
   * parallelism caps how many checkApplys of this kind run at once. For kinds whose work queues on
   * libuv's small thread pool anyway (file I/O), thousands in flight only cost memory and GC.
   */
  readonly parallelism?: number;
  /**
   * ignoresSignal: checkApply never reads its AbortSignal (it does nothing that could be stopped),
   * so the engine hands it one shared signal that never aborts instead of making one per check; an
   * abort still settles the run at once.
   */
  readonly ignoresSignal?: boolean;
  /** autoedge: this kind's resources get automatic edges (meta autoedge and --no-autoedges turn it off). */
  readonly autoedge?: AutoEdgeTrait<P>;
  /** group: this kind's resources may be grouped (meta autogroup and --no-autogroup turn it off). */
  readonly group?: GroupTrait<P>;
  /** collect: how another host's exported resource of this kind is confined here (world/collect.ts). */
  readonly collect?: CollectTrait<P>;
}

/** AnyResourceKind is a kind whose parameter type is not known statically. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyResourceKind = ResourceKind<any>;
