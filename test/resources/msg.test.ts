import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { msg, type MsgParams } from '../../src/resources/msg.js';
import { makeContext } from '../helpers/context.js';
import { waitFor } from '../helpers/log.js';

const never = new AbortController().signal;

function start(params: Partial<MsgParams>) {
  const ctx = makeContext('msg', 'm');
  const full = { ...msg.defaults('m'), ...params };
  expect(msg.validate(full)).toEqual([]);
  return { ctx, live: msg.init(full, ctx) };
}

const messages = (ctx: ReturnType<typeof makeContext>, level: string) =>
  ctx.logs.filter((e) => e.level === level).map((e) => e.message);

describe('msg', () => {
  it('logs the body once, as a change, then stays quiet', async () => {
    const { ctx, live } = start({ body: 'hello' });
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await live.checkApply(true, never)).toBe(true);
    expect(messages(ctx, 'info')).toEqual(['Body: hello']);
    expect(ctx.logs[0]?.priority).toBe('Info');
  });

  it('logs again on refresh', async () => {
    const { ctx, live } = start({ body: 'hello' });
    await live.checkApply(true, never);
    ctx.setRefresh(true);
    expect(await live.checkApply(true, never)).toBe(false);
    expect(messages(ctx, 'info')).toEqual(['Body: hello', 'Body: hello']);
  });

  it.skipIf(existsSync('/run/systemd/journal/socket'))('warns once and carries on when there is no journal', async () => {
    const { ctx, live } = start({ body: 'to the journal', journal: true });
    expect(await live.checkApply(false, never)).toBe(false); // noop: logs, would send
    expect(await live.checkApply(true, never)).toBe(false); // sends (here: cannot)
    expect(await live.checkApply(true, never)).toBe(true);
    ctx.setRefresh(true);
    expect(await live.checkApply(true, never)).toBe(false);
    expect(messages(ctx, 'warn')).toHaveLength(1);
    expect(messages(ctx, 'warn')[0]).toMatch(/journal is not available/);
  });

  // Runs where a journald listens: a systemd host, or a private mount namespace with
  // systemd-journald started on a tmpfs /run/systemd.
  it.runIf(existsSync('/run/systemd/journal/socket'))('sends body, priority and fields to the journal', async () => {
    const tag = randomUUID().replaceAll('-', '');
    const { ctx, live } = start({ body: 'to the journal\nsecond line', priority: 'Warning', journal: true, fields: { MGMT_TEST: tag } });
    expect(await live.checkApply(true, never)).toBe(false);
    expect(messages(ctx, 'warn')).toEqual([]);
    const entries = (): Array<Record<string, string>> =>
      execFileSync('journalctl', ['--no-pager', '-o', 'json', `MGMT_TEST=${tag}`], { encoding: 'utf8' })
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, string>);
    await waitFor(() => entries().length === 1, 'the journal entry');
    expect(entries()[0]).toMatchObject({ MESSAGE: 'to the journal second line', PRIORITY: '4', SYSLOG_IDENTIFIER: 'mgmt' });
  });

  it('emits once on watch (ready) and then nothing', async () => {
    const { live } = start({ body: 'x' });
    const events: unknown[] = [];
    live.watch().subscribe(() => events.push(1));
    expect(events).toEqual([1]);
  });

  it('defaults priority to Info, so upstream msg1.yaml (which omits it) validates', () => {
    const params = { ...msg.defaults('msg1'), body: 'mgmt logged this message', journal: true };
    expect(params.priority).toBe('Info');
    expect(msg.validate(params)).toEqual([]);
  });

  it('rejects an unknown priority and field names journald would refuse', () => {
    const problems = msg.validate({
      ...msg.defaults('m'),
      priority: 'Loud',
      fields: { GOOD_1: 'a', lower: 'b', _PROTECTED: 'c', '1ST': 'd', 'WITH-DASH': 'e' },
    });
    expect(problems.map((p) => p.param)).toEqual(['priority', 'fields', 'fields', 'fields', 'fields']);
    expect(problems[0]?.reason).toBe('must be one of Emerg, Alert, Crit, Err, Warning, Notice, Info, Debug, got "Loud"');
    expect(problems[1]?.reason).toMatch(/^"lower" is not a journal field name/);
  });

  it('declares the upstream syslog stub as deprecated', () => {
    expect(msg.params.syslog?.deprecated).toBeTruthy();
  });
});
