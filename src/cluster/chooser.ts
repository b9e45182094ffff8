// The etcd leader's decision: who to nominate as a server and who to unnominate (docs/cluster.md). Pure apart from the first-seen times it keeps for slow joins and
// departures, so every rule is testable with a made-up clock.

import { sameUrls } from './keys.js';

/** ClusterMember is one etcd member as the chooser sees it. */
export interface ClusterMember {
  /** etcd's member ID (a decimal string). */
  readonly id: string;
  /** The member's name, which is its host; empty for a member added but not started yet. */
  readonly name: string;
  readonly peerUrls: readonly string[];
  /** The member's client URLs (empty until it started). */
  readonly clientUrls?: readonly string[];
}

/** ClusterView is the state the leader decides on, read fresh from etcd. */
export interface ClusterView {
  /** The leader's own host. */
  readonly me: string;
  /** `/_mgmt/idealClusterSize`. */
  readonly idealClusterSize: number;
  readonly members: readonly ClusterMember[];
  /** `/_mgmt/volunteers/$host` → peer URLs; leased, so a dead agent's entry vanishes. */
  readonly volunteers: ReadonlyMap<string, readonly string[]>;
  /** `/_mgmt/nominated/$host` → peer URLs. */
  readonly nominated: ReadonlyMap<string, readonly string[]>;
}

/** ClusterAction is one step the leader takes; they are carried out in the order given. */
export type ClusterAction =
  | { readonly action: 'nominate'; readonly host: string; readonly peerUrls: readonly string[] }
  | { readonly action: 'unnominate'; readonly host: string; readonly reason: string }
  | { readonly action: 'member-remove'; readonly id: string; readonly host: string; readonly reason: string };

/** ChooserOptions are the patience of the leader with hosts that do not act. */
export interface ChooserOptions {
  /** How long a nominee may take to join before it is unnominated; default 30 s. */
  readonly joinTimeoutMs?: number;
  /** How long an unnominated member may take to remove itself before the leader removes it; default 10 s (1.0.x SelfRemoveTimeout). */
  readonly selfRemoveTimeoutMs?: number;
}

/**
 * Chooser decides, on each change of the cluster, the next nominations and removals. It grows the
 * cluster one member at a time (a second joiner would leave a two-member quorum exposed), removes
 * dead members before adding, and shrinks one member at a time, never itself.
 */
export class Chooser {
  private readonly joinTimeoutMs: number;
  private readonly selfRemoveTimeoutMs: number;
  // When each slow condition was first seen, by `condition:host`; forgotten once it clears.
  private readonly firstSeen = new Map<string, number>();

  constructor(options: ChooserOptions = {}) {
    this.joinTimeoutMs = options.joinTimeoutMs ?? 30_000;
    this.selfRemoveTimeoutMs = options.selfRemoveTimeoutMs ?? 10_000;
  }

  choose(view: ClusterView, now: number): ClusterAction[] {
    const actions: ClusterAction[] = [];
    const seen = new Set<string>();
    const since = (key: string): number => {
      seen.add(key);
      const first = this.firstSeen.get(key);
      if (first !== undefined) return now - first;
      this.firstSeen.set(key, now);
      return 0;
    };
    const { me, volunteers, nominated } = view;
    const started = view.members.filter((m) => m.name !== '');
    const startedHosts = new Set(started.map((m) => m.name));
    const unstarted = view.members.filter((m) => m.name === '');
    // An unstarted member belongs to the nominee whose peer URLs it was added with.
    const nomineeOf = (member: ClusterMember): string | undefined =>
      sorted(nominated.keys()).find((host) => sameUrls(nominated.get(host)!, member.peerUrls));

    // Dead or departed hosts: they no longer volunteer, so they cannot act; the leader cleans up.
    for (const member of started) {
      if (member.name === me || volunteers.has(member.name)) continue;
      if (nominated.has(member.name)) actions.push({ action: 'unnominate', host: member.name, reason: 'no longer volunteers' });
      actions.push({ action: 'member-remove', id: member.id, host: member.name, reason: 'no longer volunteers' });
    }
    for (const member of unstarted) {
      const host = nomineeOf(member);
      if (host === undefined || !volunteers.has(host)) {
        actions.push({ action: 'member-remove', id: member.id, host: host ?? '', reason: 'added but never started' });
      }
    }
    for (const host of sorted(nominated.keys())) {
      if (!volunteers.has(host) && !startedHosts.has(host)) actions.push({ action: 'unnominate', host, reason: 'no longer volunteers' });
    }

    // One join at a time: while a nominee is joining, nothing else grows or shrinks.
    const joining = sorted(nominated.keys()).filter((host) => volunteers.has(host) && !startedHosts.has(host));
    let busy = false;
    for (const host of joining) {
      if (since(`join:${host}`) < this.joinTimeoutMs) {
        busy = true;
        continue;
      }
      actions.push({ action: 'unnominate', host, reason: `did not join within ${this.joinTimeoutMs} ms` });
      for (const member of unstarted) {
        if (nomineeOf(member) === host) actions.push({ action: 'member-remove', id: member.id, host, reason: 'did not join' });
      }
    }
    // Unnominated members remove themselves; one that does not is removed after a while.
    const departing = started.filter((m) => m.name !== me && volunteers.has(m.name) && !nominated.has(m.name));
    for (const member of departing) {
      if (since(`depart:${member.name}`) < this.selfRemoveTimeoutMs) {
        busy = true;
        continue;
      }
      actions.push({ action: 'member-remove', id: member.id, host: member.name, reason: `did not remove itself within ${this.selfRemoveTimeoutMs} ms` });
    }

    if (!busy && view.idealClusterSize >= 1) {
      const active = sorted(startedHosts).filter((host) => host === me || (volunteers.has(host) && nominated.has(host)));
      const candidates = sorted(volunteers.keys()).filter((host) => !startedHosts.has(host) && !nominated.has(host));
      if (active.length < view.idealClusterSize && candidates.length > 0) {
        const host = candidates[0]!;
        actions.push({ action: 'nominate', host, peerUrls: volunteers.get(host)! });
      } else if (active.length > view.idealClusterSize) {
        const host = active.find((h) => h !== me);
        if (host !== undefined) actions.push({ action: 'unnominate', host, reason: `members ${active.length} > idealClusterSize ${view.idealClusterSize}` });
      }
    }
    for (const key of [...this.firstSeen.keys()]) if (!seen.has(key)) this.firstSeen.delete(key);
    return actions;
  }
}

function sorted(values: Iterable<string>): string[] {
  return [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
