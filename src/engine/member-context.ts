import { join } from 'node:path';
import type { Observable } from 'rxjs';
import type { Member } from '../graph/graph.js';
import type { EventLog } from '../log/events.js';
import type { ResourceContext, WatchPathOptions } from '../core/context.js';
import type { ResourceLogger } from '../core/logger.js';
import type { World } from '../world/types.js';

/** PathWatcher is the part of the shared file watcher the engine hands to resources. */
export interface PathWatcher {
  watchPath(path: string, options?: WatchPathOptions): Observable<void>;
}

/** ContextShared is what every member's context of one engine shares. */
export interface ContextShared {
  readonly log: EventLog;
  readonly hostname: string;
  /** The agent's working directory; resources get scratch space below it. */
  readonly prefix: string;
  readonly watcher: PathWatcher;
  /** What hosts share; handed to resources (kv). */
  readonly world?: World;
}

/** RefreshSource says whether a refresh waits for the checkApply in progress (a member's worker). */
export interface RefreshSource {
  readonly refreshing: boolean;
}

/**
 * MemberContext is the ResourceContext of one member: its own id, kind, name and refresh flag,
 * and the engine's shared part read through it. The logger is built on first use and the
 * scratch path each time it is read: most resources never log, and only a few kinds take scratch
 * space. A context object
 * literal with all eight fields was 3% of a 10,000-file re-check's CPU (makeContext, self time).
 * Resources may take a field off it (`const { watchPath } = ctx`): watchPath is a field holding
 * the engine's one function, not a method.
 */
export class MemberContext implements ResourceContext {
  readonly id: string;
  readonly kind: string;
  readonly name: string;
  readonly watchPath: (path: string, options?: WatchPathOptions) => Observable<void>;
  private readonly refresh: RefreshSource;
  private readonly shared: ContextShared;
  private logger: ResourceLogger | undefined;

  constructor(member: Member, refresh: RefreshSource, shared: ContextShared, watchPath: PathWatcher['watchPath']) {
    this.id = member.id;
    this.kind = member.kind;
    this.name = member.name;
    this.refresh = refresh;
    this.shared = shared;
    this.watchPath = watchPath;
  }

  /** refreshPending reads the worker's flag: a method, not a closure per context (call it on the context). */
  refreshPending(): boolean {
    return this.refresh.refreshing;
  }

  get hostname(): string {
    return this.shared.hostname;
  }

  get world(): World | undefined {
    return this.shared.world;
  }

  get log(): ResourceLogger {
    return (this.logger ??= this.shared.log.forResource(this.id, this.kind, this.name));
  }

  get scratchDir(): string {
    return join(this.shared.prefix, 'resources', this.kind, scratchName(this.name));
  }
}

/**
 * scratchName is a resource name as one path component: percent-encoded, and its dots too when it
 * is all dots, which encodeURIComponent keeps (a collected resource named `..` must not get the
 * kind's parent as its scratch directory).
 */
function scratchName(name: string): string {
  const encoded = encodeURIComponent(name);
  return /^\.*$/.test(encoded) ? encoded.replaceAll('.', '%2E') : encoded;
}

/** memberContexts returns the context factory of one engine: what its members share is made once. */
export function memberContexts(shared: ContextShared): (member: Member, refresh: RefreshSource) => ResourceContext {
  const watchPath: PathWatcher['watchPath'] = (path, options) => shared.watcher.watchPath(path, options);
  return (member, refresh) => new MemberContext(member, refresh, shared, watchPath);
}
