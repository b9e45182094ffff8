import { describe, expect, it } from 'vitest';
import { atTurnEnd, eventLoopTurn } from '../../src/os/turn.js';

describe('atTurnEnd', () => {
  it('GIVEN callbacks asked for in one turn THEN they run once, in order, after its microtasks, in the next turn number', async () => {
    const seen: string[] = [];
    const turn = eventLoopTurn();
    atTurnEnd(() => seen.push(`first ${eventLoopTurn() - turn}`));
    queueMicrotask(() => seen.push('microtask'));
    atTurnEnd(() => seen.push('second'));
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual(['microtask', 'first 1', 'second']);
  });
});
