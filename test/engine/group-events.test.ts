import { describe, expect, it } from 'vitest';
import { buildGraph, makeProbeWorld } from '../helpers/graph.js';
import { idle, useEngines } from '../helpers/engine.js';

const makeEngine = useEngines();

// Large groups, apart from groups.test.ts: their garbage would delay the burst timing tested there.
describe('the events of a large group', () => {
  it("GIVEN groups of 100 and 1,000 members THEN the JSON of their events grows with the members, not with the square: no event repeats the whole group", async () => {
    const logBytes = async (size: number): Promise<number> => {
      const world = makeProbeWorld();
      const { engine, events } = makeEngine();
      const others = Array.from({ length: size - 1 }, (_, i) => `member-${i}`);
      await engine.swap(buildGraph([{ name: 'first', def: world.kind, members: others }]));
      await idle(engine);
      expect(events.filter((e) => e.event === 'check')).toHaveLength(size);
      await engine.stop();
      return events.reduce((bytes, event) => bytes + JSON.stringify(event).length, 0);
    };
    const small = await logBytes(100);
    const large = await logBytes(1000);
    expect(large / small).toBeLessThan(12);
  });

  it("GIVEN a group of 1,000 members THEN the group's own events name it in a few hundred characters, not all 1,000 names", async () => {
    const world = makeProbeWorld();
    const { engine, eventsOf } = makeEngine();
    const others = Array.from({ length: 999 }, (_, i) => `member-${i}`);
    await engine.swap(buildGraph([{ name: 'first', def: world.kind, members: others }]));
    await idle(engine);
    const [watch] = eventsOf('watch');
    expect(String(watch!.resource)).toMatch(/^probe\[autogroup:\(first,member-0,.*,\.\.\.\d+ more\)\]$/);
    expect(String(watch!.resource).length).toBeLessThan(300);
  });
});
