import { describe, expect, it } from 'vitest';
import { print, type PrintParams } from '../../src/resources/print.js';
import { makeContext } from '../helpers/context.js';

const never = new AbortController().signal;

function start(params: Partial<PrintParams>) {
  const ctx = makeContext('print', 'p');
  const full = { ...print.defaults('p'), ...params };
  expect(print.validate(full)).toEqual([]);
  return { ctx, live: print.init(full, ctx) };
}

const printed = (ctx: ReturnType<typeof makeContext>) =>
  ctx.logs.filter((e) => e.message?.startsWith('Msg: ')).map((e) => e.message);

describe('print', () => {
  it('prints once, as a change, then stays quiet', async () => {
    const { ctx, live } = start({ msg: 'hi' });
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await live.checkApply(true, never)).toBe(true);
    expect(printed(ctx)).toEqual(['Msg: hi']);
  });

  it('prints again on refresh', async () => {
    const { ctx, live } = start({ msg: 'hi' });
    await live.checkApply(true, never);
    ctx.setRefresh(true);
    expect(await live.checkApply(true, never)).toBe(false);
    expect(printed(ctx)).toEqual(['Msg: hi', 'Msg: hi']);
  });

  it('with refresh_only prints only when refreshed', async () => {
    const { ctx, live } = start({ msg: 'hi', refresh_only: true });
    expect(await live.checkApply(true, never)).toBe(true);
    expect(printed(ctx)).toEqual([]);
    ctx.setRefresh(true);
    expect(await live.checkApply(true, never)).toBe(false);
    ctx.setRefresh(false);
    expect(await live.checkApply(true, never)).toBe(true);
    expect(printed(ctx)).toEqual(['Msg: hi']);
  });

  it('accepts any parameters', () => {
    expect(print.validate(print.defaults('p'))).toEqual([]);
    expect(print.refreshable).toBe(true);
  });
});
