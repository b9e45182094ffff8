import { describe, expect, it } from 'vitest';
import { agentWorkMs, eventTime, type MgmtEvent } from '../bench/lib/events.js';

const at = (ms: number, event: string, extra: Record<string, unknown> = {}): MgmtEvent => ({ ts: new Date(Date.UTC(2026, 0, 1) + ms).toISOString(), event, ...extra });

describe('agentWorkMs', () => {
  it('adds the compile stages logged with the graph to start -> converged', () => {
    // GIVEN a run that compiled in 10 + 2 + 3 + 5 ms before `start`, then converged 200 ms after it
    const events = [
      at(1000, 'start'),
      at(1050, 'graph', { ms: { parse: 10, autoedges: 2, autogroup: 3, toposort: 5 }, swap: { ms: 40 } }),
      at(1200, 'converged'),
      at(1230, 'exit'),
    ];
    // THEN its work is 220 ms: the swap is inside start -> converged already, the exit is not work
    expect(agentWorkMs(events)).toBe(220);
  });

  it('is unknown for a run that never converged', () => {
    expect(agentWorkMs([at(0, 'start'), at(5, 'graph', { ms: { parse: 1 } })])).toBeUndefined();
  });
});

describe('eventTime', () => {
  it('is the first event of that name', () => {
    expect(eventTime([at(5, 'apply'), at(7, 'apply')], 'apply')).toBe(Date.UTC(2026, 0, 1) + 5);
    expect(eventTime([], 'apply')).toBeUndefined();
  });
});
