import { describe, expect, it } from 'vitest';
import { AgentState } from '../../src/metrics/agent-state.js';

describe('AgentState', () => {
  it('GIVEN convergence WHEN time passes THEN the seconds converged grow, and drop to 0 when it is lost', () => {
    let now = 0;
    const state = new AgentState(() => now);
    expect(state.convergedSeconds()).toBe(0);
    now = 1000;
    state.setConverged(true);
    now = 3500;
    state.setConverged(true); // no change: still converged since 1000
    expect(state.convergedSeconds()).toBe(2.5);
    state.setConverged(false);
    expect(state.convergedSeconds()).toBe(0);
  });

  it('GIVEN cluster events THEN the role follows its etcd and the members its endpoints', () => {
    const state = new AgentState();
    expect(state.role).toBe('none');
    state.clusterEvent({ level: 'info', event: 'cluster', action: 'volunteer' });
    expect(state.role).toBe('client');
    state.clusterEvent({ level: 'info', event: 'cluster', action: 'server-start' });
    state.clusterEvent({ level: 'info', event: 'cluster', action: 'endpoints', endpoints: ['http://a:2379', 'http://b:2379'] });
    expect([state.role, state.members]).toEqual(['server', 2]);
    state.clusterEvent({ level: 'info', event: 'cluster', action: 'server-stop' });
    expect(state.role).toBe('client');
  });
});
