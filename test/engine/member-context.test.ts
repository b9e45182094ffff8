import { NEVER } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { memberContexts, type ContextShared } from '../../src/engine/member-context.js';
import type { Member } from '../../src/graph/graph.js';
import { collectLog } from '../helpers/log.js';

const member = { id: 'file[a b]', kind: 'file', name: 'a b', params: {}, meta: {} } as unknown as Member;

function sharedWithCountedLoggers(): { shared: ContextShared; loggers: () => number } {
  const { log } = collectLog();
  let loggers = 0;
  const counted = { ...log, forResource: (...args: Parameters<typeof log.forResource>) => (loggers++, log.forResource(...args)) };
  const shared: ContextShared = { log: counted, hostname: 'h1', prefix: '/var/lib/mgmt', watcher: { watchPath: () => NEVER } };
  return { shared, loggers: () => loggers };
}

describe('memberContexts', () => {
  it("GIVEN a member THEN its context names it and reads the engine's shared part", () => {
    const { shared } = sharedWithCountedLoggers();
    const ctx = memberContexts(shared)(member, { refreshing: true });
    expect([ctx.id, ctx.kind, ctx.name, ctx.hostname, ctx.world, ctx.refreshPending()]).toEqual(['file[a b]', 'file', 'a b', 'h1', undefined, true]);
    expect(ctx.scratchDir).toBe('/var/lib/mgmt/resources/file/a%20b');
  });

  it.each([
    ['..', '%2E%2E'],
    ['.', '%2E'],
    ['../../etc', '..%2F..%2Fetc'],
    ['a.b', 'a.b'],
  ])('GIVEN a member named %j THEN its scratch directory is %j inside its kind\'s, never a parent', (name, component) => {
    const { shared } = sharedWithCountedLoggers();
    const ctx = memberContexts(shared)({ ...member, id: `file[${name}]`, name }, { refreshing: false });
    expect(ctx.scratchDir).toBe(`/var/lib/mgmt/resources/file/${component}`);
  });

  it('GIVEN fields taken off a context THEN they work on their own, as on a plain object', () => {
    const { shared } = sharedWithCountedLoggers();
    const { watchPath, log, hostname } = memberContexts(shared)(member, { refreshing: false });
    expect(hostname).toBe('h1');
    expect(() => log.info('detached')).not.toThrow();
    expect(watchPath('/etc/hosts')).toBe(NEVER);
  });

  it('GIVEN a context WHEN nobody logs THEN no logger is built, and the first use builds one for good', () => {
    const { shared, loggers } = sharedWithCountedLoggers();
    const ctx = memberContexts(shared)(member, { refreshing: false });
    expect(loggers()).toBe(0);
    ctx.log.info('one');
    ctx.log.warn('two');
    expect(loggers()).toBe(1);
  });
});
