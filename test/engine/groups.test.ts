import { of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ResourceKind } from '../../src/core/kind.js';
import { buildGraph, makeProbeWorld } from '../helpers/graph.js';
import { idle, useEngines } from '../helpers/engine.js';
import { waitFor } from '../helpers/log.js';

const makeEngine = useEngines();

describe('grouped execution', () => {
  it('GIVEN a group of three WHEN started THEN it is one vertex that checks every member, each reported on its own', async () => {
    const world = makeProbeWorld();
    const { engine, eventsOf } = makeEngine();
    world.probe('b').script.push(false);
    await engine.swap(buildGraph([{ name: 'a', def: world.kind, members: ['b', 'c'] }]));
    await idle(engine);
    expect([...engine.statuses().keys()]).toEqual(['probe[autogroup:(a,b,c)]']);
    expect(world.calls.map((call) => call.name)).toEqual(['a', 'b', 'c']);
    expect(eventsOf('apply').map((e) => [e.resource, e.group])).toEqual([['probe[b]', 'probe[autogroup:(a,b,c)]']]);
    expect(eventsOf('check').map((e) => e.resource)).toEqual(['probe[a]', 'probe[c]']);
  });

  it('GIVEN a running group WHEN several members get events in one burst THEN the group runs once', async () => {
    const world = makeProbeWorld();
    const { engine } = makeEngine();
    await engine.swap(buildGraph([{ name: 'a', def: world.kind, members: ['b', 'c'] }]));
    await idle(engine);
    expect(world.calls).toHaveLength(3);
    // Events a tick apart: without buffering, each would find the group idle and start a run.
    for (const name of ['a', 'b', 'c', 'a']) {
      world.probe(name).events.next();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor(() => world.calls.length >= 6, 'the group to run again');
    await idle(engine);
    await new Promise((resolve) => setTimeout(resolve, 50)); // nothing else may follow
    expect(world.calls).toHaveLength(6);
  });

  it('GIVEN a kind with its own group runner THEN the engine hands it every member at once', async () => {
    const seen: string[][] = [];
    const batch: ResourceKind<{ tag: string }> = {
      kind: 'batch',
      doc: 'test kind that applies its group in one transaction',
      params: { tag: { type: 'string', doc: 'unused' } },
      defaults: () => ({ tag: '' }),
      validate: () => [],
      init: () => ({ watch: () => of(undefined), checkApply: async () => true }),
      group: {
        compatible: () => true,
        init: (members) => ({
          watch: () => of(undefined),
          async checkApply() {
            seen.push(members.map((member) => member.ctx.id));
            return members.map((member) => member.name !== 'y');
          },
        }),
      },
    };
    const { engine, eventsOf } = makeEngine();
    await engine.swap(buildGraph([{ name: 'x', def: batch, members: ['y', 'z'] }]));
    await idle(engine);
    expect(seen).toEqual([['batch[x]', 'batch[y]', 'batch[z]']]);
    expect(eventsOf('apply').map((e) => e.resource)).toEqual(['batch[y]']);
  });

  it('GIVEN a group WHEN a member watch is not ready THEN the group does not run until every member is ready', async () => {
    const world = makeProbeWorld({ readyAtOnce: false });
    const { engine } = makeEngine();
    await engine.swap(buildGraph([{ name: 'a', def: world.kind, members: ['b'] }]));
    world.probe('a').events.next();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(world.calls).toHaveLength(0);
    world.probe('b').events.next();
    await waitFor(() => world.calls.length === 2, 'the group to run');
  });
});

