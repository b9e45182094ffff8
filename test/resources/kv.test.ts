import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { kv, type KvParams } from '../../src/resources/kv.js';
import { LocalWorld } from '../../src/world/local.js';
import { runMgmt } from '../helpers/cli.js';
import { makeContext } from '../helpers/context.js';
import { useTempDirs } from '../helpers/tmp.js';
import { record } from '../watchers/recorder.js';

const never = new AbortController().signal;
const tempDir = useTempDirs();
const opened: LocalWorld[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((w) => w.close()));
});

async function newWorld(hostname = 'test-host'): Promise<LocalWorld> {
  const world = new LocalWorld({ hostname, dir: join(await tempDir(), 'world') });
  opened.push(world);
  return world;
}

/** start validates a kv resource named `kv1` with `params` and runs it against `world`. */
function start(world: LocalWorld, params: Partial<KvParams>) {
  const ctx = makeContext('kv', 'kv1', { world, hostname: world.hostname });
  const full = { ...kv.defaults('kv1'), ...params };
  expect(kv.validate(full)).toEqual([]);
  return { ctx, live: kv.init(full, ctx) };
}

describe('kv', () => {
  it('GIVEN a missing key WHEN applied THEN it is set, and the next run finds it correct', async () => {
    const world = await newWorld();
    const { live } = start(world, { key: 'hello', value: 'world' });
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await world.strGet('hello')).toBe('world');
    expect(await live.checkApply(true, never)).toBe(true);
  });

  it('GIVEN the key already holds the value WHEN checked THEN it is correct and left alone', async () => {
    const world = await newWorld();
    await world.strSet('kv1', 'v');
    const { live } = start(world, { value: 'v' });
    expect(await live.checkApply(true, never)).toBe(true);
  });

  it('GIVEN no value WHEN applied THEN the key is deleted, and a missing key is already correct', async () => {
    const world = await newWorld();
    await world.strSet('iamdeleted', 'x');
    const { live } = start(world, { key: 'iamdeleted' });
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await world.strGet('iamdeleted')).toBeUndefined();
    expect(await live.checkApply(true, never)).toBe(true);
  });

  it('GIVEN an empty string value WHEN applied THEN the key holds "" (it is not deleted)', async () => {
    const world = await newWorld();
    const { live } = start(world, { value: '' });
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await world.strGet('kv1')).toBe('');
  });

  it('issue 11 point 8: GIVEN mapped WHEN applied THEN the key is _mapped/<hostname>/<key>, host first, and unset deletes it', async () => {
    const world = await newWorld('h7');
    const { live } = start(world, { key: 'stage', value: '1', mapped: true });
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await world.strGet('_mapped/h7/stage')).toBe('1');
    expect(await world.strGet('stage')).toBeUndefined();
    expect(await world.strGet('stage/h7')).toBeUndefined();
    expect(await live.checkApply(true, never)).toBe(true);
    expect(await start(world, { key: 'stage', mapped: true }).live.checkApply(true, never)).toBe(false);
    expect(await world.strGet('_mapped/h7/stage')).toBeUndefined();
  });

  it('GIVEN skiplessthan with integer compare WHEN the key holds a larger number THEN it is accepted; a smaller one is raised', async () => {
    const world = await newWorld();
    await world.strSet('stage', '10');
    const { live } = start(world, { key: 'stage', value: '9', skiplessthan: true });
    // As integers 10 > 9, though as strings "10" < "9".
    expect(await live.checkApply(true, never)).toBe(true);
    expect(await world.strGet('stage')).toBe('10');
    await world.strSet('stage', '2');
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await world.strGet('stage')).toBe('9');
  });

  it('GIVEN skiplessthan with string compare WHEN the key holds a larger string THEN it is accepted; a smaller one is replaced', async () => {
    const world = await newWorld();
    await world.strSet('stage', 'b');
    const { live } = start(world, { key: 'stage', value: 'a', skiplessthan: true, skipcmpstyle: 1 });
    expect(await live.checkApply(true, never)).toBe(true);
    await world.strSet('stage', '10');
    // "10" < "a" as strings.
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await world.strGet('stage')).toBe('a');
  });

  it('GIVEN skiplessthan with integer compare WHEN the key holds a non-integer THEN it is replaced with a warning', async () => {
    const world = await newWorld();
    await world.strSet('stage', 'garbage');
    const { ctx, live } = start(world, { key: 'stage', value: '3', skiplessthan: true });
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await world.strGet('stage')).toBe('3');
    expect(ctx.logs.some((e) => e.level === 'warn' && e.message?.includes('not an integer'))).toBe(true);
  });

  it('GIVEN skiplessthan and a larger value WHEN a refresh is pending THEN the exact value is forced', async () => {
    const world = await newWorld();
    await world.strSet('stage', '3');
    const { ctx, live } = start(world, { key: 'stage', value: '1', skiplessthan: true });
    ctx.setRefresh(true);
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await world.strGet('stage')).toBe('1');
  });

  it('GIVEN a wrong key WHEN checked with apply=false THEN it reports the change and changes nothing', async () => {
    const world = await newWorld();
    await world.strSet('a', 'old');
    await world.strSet('b', 'keep');
    expect(await start(world, { key: 'a', value: 'new' }).live.checkApply(false, never)).toBe(false);
    expect(await start(world, { key: 'b' }).live.checkApply(false, never)).toBe(false);
    expect(await world.strGet('a')).toBe('old');
    expect(await world.strGet('b')).toBe('keep');
  });

  it('GIVEN an aborted signal WHEN checked THEN it throws and changes nothing', async () => {
    const world = await newWorld();
    const { live } = start(world, { value: 'v' });
    await expect(live.checkApply(true, AbortSignal.abort())).rejects.toThrow();
    expect(await world.strGet('kv1')).toBeUndefined();
  });

  it('GIVEN a mapped key WHEN the World key _mapped/<hostname>/<key> changes THEN the watch fires after its ready event', async () => {
    const world = await newWorld('h1');
    const { live } = start(world, { key: 'stage', value: '1', mapped: true });
    const rec = record(live.watch());
    if (rec.count === 0) await rec.next();
    const seen = rec.next();
    await world.strSet('_mapped/h1/stage', '5');
    await seen;
    rec.unsubscribe();
  });

  it('GIVEN a context without a World WHEN checked or watched THEN it fails with a clear error', async () => {
    const ctx = makeContext('kv', 'kv1');
    const live = kv.init({ ...kv.defaults('kv1'), value: 'v' }, ctx);
    await expect(live.checkApply(true, never)).rejects.toThrow(/kv\[kv1\]: kv needs a World/);
    const rec = record(live.watch());
    expect(String(await rec.failed())).toMatch(/needs a World/);
  });

  it('GIVEN bad parameters WHEN validated THEN every problem is named', () => {
    const base = kv.defaults('kv1');
    expect(base).toEqual({ key: 'kv1', value: undefined, mapped: false, skiplessthan: false, skipcmpstyle: 0 });
    expect(kv.validate({ ...base, key: '' })).toEqual([{ param: 'key', reason: 'must not be empty' }]);
    expect(kv.validate({ ...base, skipcmpstyle: 2 }).map((p) => p.param)).toEqual(['skipcmpstyle']);
    expect(kv.validate({ ...base, skiplessthan: true, value: 'abc' })).toEqual([
      { param: 'value', reason: expect.stringContaining('"abc"') as unknown as string },
    ]);
    expect(kv.validate({ ...base, skiplessthan: true, value: '-12' })).toEqual([]);
    expect(kv.validate({ ...base, skiplessthan: true, skipcmpstyle: 1, value: 'abc' })).toEqual([]);
    expect(kv.validate({ ...base, value: 'abc' })).toEqual([]);
    expect(kv.refreshable).toBe(true);
  });

  it('issue 11 point 8: GIVEN a key under _mapped/ WHEN validated THEN a kv that is not mapped is refused (those are the hosts\' mapped keys); a mapped one, and keys that only look alike, are not', () => {
    const base = kv.defaults('kv1');
    expect(kv.validate({ ...base, key: '_mapped/h1/stage', value: 'forged' })).toEqual([
      { param: 'key', reason: '"_mapped/h1/stage" is refused: keys under _mapped/ are the hosts\' mapped keys; use mapped: true for this host\'s own' },
    ]);
    expect(kv.validate({ ...base, key: '_mapped/h1/stage' }).map((p) => p.param)).toEqual(['key']);
    expect(kv.validate({ ...base, key: '_mapped/stage', mapped: true })).toEqual([]);
    expect(kv.validate({ ...base, key: '_mapped' })).toEqual([]);
    expect(kv.validate({ ...base, key: 'stage/_mapped/h1' })).toEqual([]);
  });

  it('issue 11 point 8: GIVEN a graph whose plain kv names another host\'s mapped key WHEN checked THEN exit 2 with one line naming file:line and kv[forge]', async () => {
    const yaml = join(await tempDir(), 'g.yaml');
    await writeFile(yaml, 'graph: g\nresources:\n  kv:\n  - {name: mine, key: stage, value: "1", mapped: true}\n  - {name: forge, key: _mapped/h1/stage, value: "9"}\n');
    const result = await runMgmt(['check', '--yaml', yaml]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`${yaml}:5:\\d+: kv\\[forge\\].*"_mapped/h1/stage" is refused: keys under _mapped/ are the hosts' mapped keys`));
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});
