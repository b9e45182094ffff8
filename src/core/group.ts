import type { Observable } from 'rxjs';
import type { ResourceContext } from './context.js';

/** GroupMember is one resource inside a group: its name, parameters and context. */
export interface GroupMember<P> {
  readonly name: string;
  readonly params: P;
  readonly ctx: ResourceContext;
}

/**
 * GroupLiveResource is the running part of a group: one watch for all members and one checkApply
 * that handles them together (three packages in one transaction), reporting each member's result.
 */
export interface GroupLiveResource {
  watch(): Observable<void>;
  /** Resolves to one result per member, in member order (true = that member was already right). */
  checkApply(apply: boolean, signal: AbortSignal): Promise<readonly boolean[]>;
  cleanup?(): Promise<void>;
}

/** GroupTrait lets a kind's resources be grouped automatically and run as one. */
export interface GroupTrait<P> {
  /** compatible says whether two resources of this kind may share a group. */
  compatible(a: P, b: P): boolean;
  /**
   * key, when given, buckets resources so `compatible` is only asked within a bucket (thousands of
   * resources that mostly cannot group cost O(n), not O(n²)); it must never separate two resources
   * `compatible` would group. undefined = this resource never groups.
   */
  key?(params: P): string | undefined;
  /**
   * init runs a whole group at once. Without it the engine runs each member's own checkApply in
   * turn, with their watches merged: right for kinds that group for fewer runs, not transactions.
   */
  init?(members: readonly GroupMember<P>[]): GroupLiveResource;
}
