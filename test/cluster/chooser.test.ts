import { describe, expect, it } from 'vitest';
import { Chooser, type ChooserOptions, type ClusterAction, type ClusterMember, type ClusterView } from '../../src/cluster/chooser.js';

// The etcd leader's decision, step by step on one Chooser with a made-up clock. Hosts are h1..h9;
// h1 is the leader unless a case says otherwise.

const JOIN_MS = 1000;
const SELF_REMOVE_MS = 500;

/** peers is a host's peer URLs (two of them, so the unstarted-member match must ignore their order). */
const peers = (host: string): string[] => [`http://${host}.a:2380`, `http://${host}.b:2380`];

/** Shape is a cluster in a line: who is a started member, who was added but not started, who volunteers, who is nominated. */
interface Shape {
  readonly me?: string;
  readonly ideal: number;
  readonly members: readonly string[];
  /** Members added for these hosts' peer URLs but not started yet (empty name). */
  readonly unstarted?: readonly string[];
  readonly volunteers: readonly string[];
  readonly nominated?: readonly string[];
}

function view(shape: Shape): ClusterView {
  const members: ClusterMember[] = [
    ...shape.members.map((name) => ({ id: `id-${name}`, name, peerUrls: peers(name) })),
    // Added with the URLs in the other order than the nomination holds them.
    ...(shape.unstarted ?? []).map((host) => ({ id: `new-${host}`, name: '', peerUrls: [...peers(host)].reverse() })),
  ];
  return {
    me: shape.me ?? 'h1',
    idealClusterSize: shape.ideal,
    members,
    volunteers: new Map(shape.volunteers.map((host) => [host, peers(host)])),
    nominated: new Map((shape.nominated ?? []).map((host) => [host, peers(host)])),
  };
}

const nominate = (host: string): ClusterAction => ({ action: 'nominate', host, peerUrls: peers(host) });
const unnominate = (host: string, reason: string): ClusterAction => ({ action: 'unnominate', host, reason });
const remove = (id: string, host: string, reason: string): ClusterAction => ({ action: 'member-remove', id, host, reason });

const GONE = 'no longer volunteers';
const NEVER_STARTED = 'added but never started';

/** Step is one decision: the view at time `at` and exactly the actions expected, in order. */
interface Step {
  readonly at: number;
  readonly shape: Shape;
  readonly actions: readonly ClusterAction[];
}

interface Case {
  readonly given: string;
  readonly when: string;
  readonly then: string;
  readonly options?: ChooserOptions;
  readonly steps: readonly Step[];
}

const cases: Case[] = [
  // --- growing ---------------------------------------------------------------------------------
  {
    given: 'a one-member cluster with idealClusterSize 3 and two candidates listed out of order',
    when: 'the leader decides',
    then: 'it nominates only the lowest-sorted candidate, with its peer URLs',
    steps: [{ at: 0, shape: { ideal: 3, members: ['h1'], volunteers: ['h1', 'h3', 'h2'] }, actions: [nominate('h2')] }],
  },
  {
    given: 'a nominee that has not joined yet',
    when: 'the leader decides again before joinTimeoutMs, with and without its member added',
    then: 'nothing else is nominated',
    steps: [
      { at: 0, shape: { ideal: 5, members: ['h1'], volunteers: ['h1', 'h2', 'h3'], nominated: ['h2'] }, actions: [] },
      { at: 10, shape: { ideal: 5, members: ['h1'], unstarted: ['h2'], volunteers: ['h1', 'h2', 'h3'], nominated: ['h2'] }, actions: [] },
      { at: JOIN_MS - 1, shape: { ideal: 5, members: ['h1'], unstarted: ['h2'], volunteers: ['h1', 'h2', 'h3'], nominated: ['h2'] }, actions: [] },
    ],
  },
  {
    given: 'the nominee h2 joined as a started member',
    when: 'the leader decides',
    then: 'it nominates the next candidate',
    steps: [
      { at: 0, shape: { ideal: 5, members: ['h1'], volunteers: ['h1', 'h2', 'h3'], nominated: ['h2'] }, actions: [] },
      { at: 50, shape: { ideal: 5, members: ['h1', 'h2'], volunteers: ['h1', 'h2', 'h3'], nominated: ['h2'] }, actions: [nominate('h3')] },
    ],
  },
  {
    given: 'as many active members as idealClusterSize (the leader counts though never nominated)',
    when: 'another host volunteers',
    then: 'nothing is nominated',
    steps: [{ at: 0, shape: { ideal: 3, members: ['h1', 'h2', 'h3'], volunteers: ['h1', 'h2', 'h3', 'h4'], nominated: ['h2', 'h3'] }, actions: [] }],
  },
  {
    given: 'a leader alone with idealClusterSize 5',
    when: 'no other host volunteers',
    then: 'nothing is done',
    steps: [{ at: 0, shape: { ideal: 5, members: ['h1'], volunteers: ['h1'] }, actions: [] }],
  },
  {
    given: 'a nominee with its member added that stays unstarted',
    when: 'joinTimeoutMs has passed since it was first seen joining',
    then: 'it is unnominated, its unstarted member removed, and the next candidate nominated',
    steps: [
      { at: 100, shape: { ideal: 5, members: ['h1'], unstarted: ['h2'], volunteers: ['h1', 'h2', 'h3'], nominated: ['h2'] }, actions: [] },
      {
        at: 100 + JOIN_MS,
        shape: { ideal: 5, members: ['h1'], unstarted: ['h2'], volunteers: ['h1', 'h2', 'h3'], nominated: ['h2'] },
        actions: [unnominate('h2', `did not join within ${JOIN_MS} ms`), remove('new-h2', 'h2', 'did not join'), nominate('h3')],
      },
    ],
  },
  {
    given: 'a nominee that never added its member',
    when: 'joinTimeoutMs has passed',
    then: 'it is unnominated and nothing is member-removed',
    steps: [
      { at: 0, shape: { ideal: 2, members: ['h1'], volunteers: ['h1', 'h2'], nominated: ['h2'] }, actions: [] },
      { at: JOIN_MS, shape: { ideal: 2, members: ['h1'], volunteers: ['h1', 'h2'], nominated: ['h2'] }, actions: [unnominate('h2', `did not join within ${JOIN_MS} ms`)] },
    ],
  },
  {
    given: 'the default options',
    when: 'a nominee stays unjoined for 30 s',
    then: 'it is unnominated at 30 s and not before',
    options: {},
    steps: [
      { at: 0, shape: { ideal: 2, members: ['h1'], volunteers: ['h1', 'h2'], nominated: ['h2'] }, actions: [] },
      { at: 29_999, shape: { ideal: 2, members: ['h1'], volunteers: ['h1', 'h2'], nominated: ['h2'] }, actions: [] },
      { at: 30_000, shape: { ideal: 2, members: ['h1'], volunteers: ['h1', 'h2'], nominated: ['h2'] }, actions: [unnominate('h2', 'did not join within 30000 ms')] },
    ],
  },

  // --- dead and stray hosts --------------------------------------------------------------------
  {
    given: 'a started, nominated member h2 that no longer volunteers (a dead host) and a candidate h4',
    when: 'the leader decides',
    then: 'h2 is unnominated and member-removed before h4 is nominated',
    steps: [
      {
        at: 0,
        shape: { ideal: 3, members: ['h1', 'h2', 'h3'], volunteers: ['h1', 'h3', 'h4'], nominated: ['h2', 'h3'] },
        actions: [unnominate('h2', GONE), remove('id-h2', 'h2', GONE), nominate('h4')],
      },
    ],
  },
  {
    given: 'a started member that was never nominated and no longer volunteers',
    when: 'the leader decides',
    then: 'it is member-removed without an unnominate',
    steps: [{ at: 0, shape: { ideal: 3, members: ['h1', 'h2'], volunteers: ['h1'] }, actions: [remove('id-h2', 'h2', GONE)] }],
  },
  {
    given: 'a leader whose own volunteer key is gone',
    when: 'it decides',
    then: 'it does not remove itself',
    steps: [{ at: 0, shape: { ideal: 3, members: ['h1'], volunteers: [] }, actions: [] }],
  },
  {
    given: 'an unstarted member whose peer URLs match no nomination',
    when: 'the leader decides',
    then: 'it is member-removed (with no host) and growth goes on in the same decision',
    steps: [
      {
        at: 0,
        shape: { ideal: 3, members: ['h1'], unstarted: ['h9'], volunteers: ['h1', 'h2'] },
        actions: [remove('new-h9', '', NEVER_STARTED), nominate('h2')],
      },
    ],
  },
  {
    given: 'an unstarted member of a nominee h2 that no longer volunteers',
    when: 'the leader decides',
    then: 'the member is removed, h2 unnominated, and the next candidate nominated',
    steps: [
      {
        at: 0,
        shape: { ideal: 3, members: ['h1'], unstarted: ['h2'], volunteers: ['h1', 'h3'], nominated: ['h2'] },
        actions: [remove('new-h2', 'h2', NEVER_STARTED), unnominate('h2', GONE), nominate('h3')],
      },
    ],
  },
  {
    given: 'stale nominations of hosts that neither volunteer nor are members',
    when: 'the leader decides',
    then: 'each is unnominated (sorted) and a candidate is nominated after them',
    steps: [
      {
        at: 0,
        shape: { ideal: 3, members: ['h1'], volunteers: ['h1', 'h2'], nominated: ['h7', 'h5'] },
        actions: [unnominate('h5', GONE), unnominate('h7', GONE), nominate('h2')],
      },
    ],
  },

  // --- shrinking -------------------------------------------------------------------------------
  {
    given: 'four active members and idealClusterSize 2',
    when: 'the leader h1 decides',
    then: 'it unnominates one member, the lowest-sorted other than itself',
    steps: [
      {
        at: 0,
        shape: { ideal: 2, members: ['h1', 'h2', 'h3', 'h4'], volunteers: ['h1', 'h2', 'h3', 'h4'], nominated: ['h2', 'h3', 'h4'] },
        actions: [unnominate('h2', 'members 4 > idealClusterSize 2')],
      },
    ],
  },
  {
    given: 'a leader h3 that is not the lowest-sorted member',
    when: 'the cluster is above idealClusterSize 1',
    then: 'it unnominates h1, never itself',
    steps: [
      {
        at: 0,
        shape: { me: 'h3', ideal: 1, members: ['h1', 'h2', 'h3'], volunteers: ['h1', 'h2', 'h3'], nominated: ['h1', 'h2'] },
        actions: [unnominate('h1', 'members 3 > idealClusterSize 1')],
      },
    ],
  },
  {
    given: 'an unnominated member h2 that still volunteers (departing) and a candidate h4',
    when: 'the leader decides before selfRemoveTimeoutMs and then at it',
    then: 'nothing happens meanwhile; then h2 is member-removed and h4 nominated',
    steps: [
      { at: 0, shape: { ideal: 5, members: ['h1', 'h2', 'h3'], volunteers: ['h1', 'h2', 'h3', 'h4'], nominated: ['h3'] }, actions: [] },
      { at: SELF_REMOVE_MS - 1, shape: { ideal: 5, members: ['h1', 'h2', 'h3'], volunteers: ['h1', 'h2', 'h3', 'h4'], nominated: ['h3'] }, actions: [] },
      {
        at: SELF_REMOVE_MS,
        shape: { ideal: 5, members: ['h1', 'h2', 'h3'], volunteers: ['h1', 'h2', 'h3', 'h4'], nominated: ['h3'] },
        actions: [remove('id-h2', 'h2', `did not remove itself within ${SELF_REMOVE_MS} ms`), nominate('h4')],
      },
    ],
  },
  {
    given: 'a departing member h2 while the cluster is still above idealClusterSize 1',
    when: 'the leader decides',
    then: 'it shrinks no further until h2 is removed',
    steps: [
      { at: 0, shape: { ideal: 1, members: ['h1', 'h2', 'h3'], volunteers: ['h1', 'h2', 'h3'], nominated: ['h3'] }, actions: [] },
      {
        at: SELF_REMOVE_MS,
        shape: { ideal: 1, members: ['h1', 'h2', 'h3'], volunteers: ['h1', 'h2', 'h3'], nominated: ['h3'] },
        actions: [remove('id-h2', 'h2', `did not remove itself within ${SELF_REMOVE_MS} ms`), unnominate('h3', 'members 2 > idealClusterSize 1')],
      },
    ],
  },
  {
    given: 'a nominee joining while the cluster is above idealClusterSize',
    when: 'the leader decides',
    then: 'it does not shrink meanwhile',
    steps: [{ at: 0, shape: { ideal: 1, members: ['h1', 'h2'], volunteers: ['h1', 'h2', 'h3'], nominated: ['h2', 'h3'] }, actions: [] }],
  },

  // --- idealClusterSize below 1 ----------------------------------------------------------------
  {
    given: 'idealClusterSize 0 with candidates',
    when: 'the leader decides',
    then: 'nothing is nominated',
    steps: [{ at: 0, shape: { ideal: 0, members: ['h1'], volunteers: ['h1', 'h2'] }, actions: [] }],
  },
  {
    given: 'idealClusterSize -1 with three active members',
    when: 'the leader decides',
    then: 'nothing is unnominated',
    steps: [{ at: 0, shape: { ideal: -1, members: ['h1', 'h2', 'h3'], volunteers: ['h1', 'h2', 'h3'], nominated: ['h2', 'h3'] }, actions: [] }],
  },
  {
    given: 'idealClusterSize 0 and a dead member',
    when: 'the leader decides',
    then: 'the dead member is still removed, and nothing more',
    steps: [{ at: 0, shape: { ideal: 0, members: ['h1', 'h2'], volunteers: ['h1', 'h3'] }, actions: [remove('id-h2', 'h2', GONE)] }],
  },

  // --- first-seen timers -----------------------------------------------------------------------
  {
    given: 'a nominee whose joining is interrupted (unnominated, then nominated again)',
    when: 'joinTimeoutMs has passed since it was first seen, but not since it was seen again',
    then: 'the join timer restarted, and only runs out a full joinTimeoutMs after the second nomination',
    steps: [
      { at: 0, shape: { ideal: 2, members: ['h1'], volunteers: ['h1', 'h2'], nominated: ['h2'] }, actions: [] },
      { at: 600, shape: { ideal: 2, members: ['h1'], volunteers: ['h1', 'h2'] }, actions: [nominate('h2')] },
      { at: 700, shape: { ideal: 2, members: ['h1'], volunteers: ['h1', 'h2'], nominated: ['h2'] }, actions: [] },
      { at: 700 + JOIN_MS - 1, shape: { ideal: 2, members: ['h1'], volunteers: ['h1', 'h2'], nominated: ['h2'] }, actions: [] },
      { at: 700 + JOIN_MS, shape: { ideal: 2, members: ['h1'], volunteers: ['h1', 'h2'], nominated: ['h2'] }, actions: [unnominate('h2', `did not join within ${JOIN_MS} ms`)] },
    ],
  },
  {
    given: 'a departing member that leaves the member list and later departs again',
    when: 'selfRemoveTimeoutMs has passed since it was first seen departing, but not since the second time',
    then: 'the departure timer restarted',
    steps: [
      { at: 0, shape: { ideal: 2, members: ['h1', 'h2', 'h3'], volunteers: ['h1', 'h2', 'h3'], nominated: ['h3'] }, actions: [] },
      { at: 300, shape: { ideal: 2, members: ['h1', 'h3'], volunteers: ['h1', 'h2', 'h3'], nominated: ['h3'] }, actions: [] },
      { at: 400, shape: { ideal: 2, members: ['h1', 'h2', 'h3'], volunteers: ['h1', 'h2', 'h3'], nominated: ['h3'] }, actions: [] },
      { at: 400 + SELF_REMOVE_MS - 1, shape: { ideal: 2, members: ['h1', 'h2', 'h3'], volunteers: ['h1', 'h2', 'h3'], nominated: ['h3'] }, actions: [] },
      {
        at: 400 + SELF_REMOVE_MS,
        shape: { ideal: 2, members: ['h1', 'h2', 'h3'], volunteers: ['h1', 'h2', 'h3'], nominated: ['h3'] },
        actions: [remove('id-h2', 'h2', `did not remove itself within ${SELF_REMOVE_MS} ms`)],
      },
    ],
  },
  {
    given: 'a nominee that was still joining when its timer ran out',
    when: 'it is seen joining again in the next decision (the unnominate not yet visible)',
    then: 'it is unnominated again rather than given a fresh timeout',
    steps: [
      { at: 0, shape: { ideal: 2, members: ['h1'], volunteers: ['h1', 'h2'], nominated: ['h2'] }, actions: [] },
      { at: JOIN_MS, shape: { ideal: 2, members: ['h1'], volunteers: ['h1', 'h2'], nominated: ['h2'] }, actions: [unnominate('h2', `did not join within ${JOIN_MS} ms`)] },
      { at: JOIN_MS + 1, shape: { ideal: 2, members: ['h1'], volunteers: ['h1', 'h2'], nominated: ['h2'] }, actions: [unnominate('h2', `did not join within ${JOIN_MS} ms`)] },
    ],
  },
];

describe('Chooser.choose', () => {
  it.each(cases)('GIVEN $given WHEN $when THEN $then', ({ options, steps }) => {
    const chooser = new Chooser(options ?? { joinTimeoutMs: JOIN_MS, selfRemoveTimeoutMs: SELF_REMOVE_MS });
    for (const step of steps) {
      expect(chooser.choose(view(step.shape), step.at), `at ${step.at} ms`).toEqual(step.actions);
    }
  });

  it('GIVEN two Choosers WHEN one has seen a nominee joining for a long time THEN the other starts its own timer (no state is shared)', () => {
    const shape: Shape = { ideal: 2, members: ['h1'], volunteers: ['h1', 'h2'], nominated: ['h2'] };
    const first = new Chooser({ joinTimeoutMs: JOIN_MS });
    const second = new Chooser({ joinTimeoutMs: JOIN_MS });
    expect(first.choose(view(shape), 0)).toEqual([]);
    expect(second.choose(view(shape), JOIN_MS)).toEqual([]);
    expect(first.choose(view(shape), JOIN_MS)).toEqual([unnominate('h2', `did not join within ${JOIN_MS} ms`)]);
  });
});
