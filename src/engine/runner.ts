import { connect, defer, map, merge, skip, take } from 'rxjs';
import { bufferBurst } from '../../streams/buffer-burst.js';
import { whenAllReady } from '../../streams/when-all-ready.js';
import type { Member, Vertex } from '../graph/graph.js';
import type { ResourceContext } from '../core/context.js';
import type { GroupLiveResource } from '../core/group.js';
import type { LiveResource } from '../core/kind.js';
import type { RefreshSource } from './member-context.js';

/** MemberContextFactory builds the context of one member of a vertex (its own id and logger), whose refresh flag `refresh` holds. */
export type MemberContextFactory = (member: Member, refresh: RefreshSource) => ResourceContext;

/**
 * VertexRunner is the live part of a vertex, whatever it stands for: one resource, or a group
 * run as one. checkApply resolves to one result per member, in member order; a one-resource
 * vertex whose kind can tell an OK state synchronously has checkOKSync (LiveResource.checkOKSync).
 */
export type VertexRunner = GroupLiveResource & { checkOKSync?(apply: boolean): boolean };

// Members of a group whose kind has no group runner change one by one; a burst of their events
// (a directory of files rewritten at once) within this window makes one run, not one per event.
const GROUP_BURST_MS = 5;

/** startRunner creates the live part of a vertex: the kind's own group runner when it has one. */
export function startRunner(vertex: Vertex, makeContext: MemberContextFactory, refresh: RefreshSource): VertexRunner {
  const { def, members } = vertex;
  if (members.length === 1) return single(def.init(vertex.params, makeContext(members[0]!, refresh)));
  const groupInit = def.group?.init;
  if (groupInit) {
    return groupInit(members.map((member) => ({ name: member.name, params: member.params, ctx: makeContext(member, refresh) })));
  }
  return memberByMember(members.map((member) => def.init(member.params, makeContext(member, refresh))));
}

/**
 * single runs a vertex of one resource: the runner is the resource itself, with its result in a
 * list. A class, not an object of three closures: 10,000 vertices make 10,000 of them.
 */
function single(live: LiveResource): VertexRunner {
  if (live.checkOKSync) return live.cleanup ? new SyncSingleWithCleanup(live) : new SyncSingle(live);
  return live.cleanup ? new SingleWithCleanup(live) : new Single(live);
}

// A one-resource vertex's result list is one of two shared lists: a list per check was garbage.
const OK_LIST: readonly boolean[] = Object.freeze([true]);
const CHANGED_LIST: readonly boolean[] = Object.freeze([false]);

function resultList(ok: boolean): readonly boolean[] {
  return ok ? OK_LIST : CHANGED_LIST;
}

class Single implements VertexRunner {
  protected readonly live: LiveResource;

  constructor(live: LiveResource) {
    this.live = live;
  }

  watch(): ReturnType<VertexRunner['watch']> {
    return this.live.watch();
  }

  checkApply(apply: boolean, signal: AbortSignal): Promise<readonly boolean[]> {
    // Promise.resolve returns a promise as it is, and keeps a resource that answers synchronously working.
    return Promise.resolve(this.live.checkApply(apply, signal)).then(resultList);
  }
}

// The engine skips cleanup for a runner without one: only a resource with a cleanup gets the method.
class SingleWithCleanup extends Single {
  async cleanup(): Promise<void> {
    await this.live.cleanup!();
  }
}

// Likewise the engine tries checkOKSync only on a runner whose resource has one.
class SyncSingle extends Single {
  checkOKSync(apply: boolean): boolean {
    return this.live.checkOKSync!(apply);
  }
}

class SyncSingleWithCleanup extends SyncSingle {
  async cleanup(): Promise<void> {
    await this.live.cleanup!();
  }
}

/**
 * memberByMember runs a group whose kind has no runner of its own: the members' watches merged
 * (ready when all are, later bursts buffered into one event) and their checkApplys in turn.
 */
function memberByMember(lives: readonly LiveResource[]): VertexRunner {
  return {
    watch: () =>
      whenAllReady(lives.map((live) => defer(() => live.watch()))).pipe(
        // The ready emission passes at once; later events are combined per burst.
        connect((events) => merge(events.pipe(take(1)), events.pipe(skip(1), bufferBurst(GROUP_BURST_MS), map(() => undefined)))),
      ),
    async checkApply(apply, signal) {
      const results: boolean[] = [];
      for (const live of lives) {
        signal.throwIfAborted();
        results.push(await live.checkApply(apply, signal));
      }
      return results;
    },
    async cleanup() {
      await Promise.all(lives.map((live) => live.cleanup?.()));
    },
  };
}
