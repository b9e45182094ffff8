import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createExporter } from '../../src/agent/exporter.js';
import { LocalWorld } from '../../src/world/local.js';
import { collectLog } from '../helpers/log.js';
import { useTempDirs } from '../helpers/tmp.js';

const SET = [{ kind: 'file', name: 'f1', params: { path: '/tmp/f1' } }];

describe('createExporter', () => {
  const tempDir = useTempDirs();
  const worlds: LocalWorld[] = [];
  afterEach(async () => Promise.all(worlds.splice(0).map((world) => world.close())));

  async function setUp(options: { noop?: boolean; stopping?: () => boolean } = {}) {
    const dir = join(await tempDir(), 'world');
    const world = new LocalWorld({ hostname: 'h1', dir });
    worlds.push(world);
    const { log, eventsOf } = collectLog();
    const exporter = createExporter({ world, log, noop: options.noop ?? false, stopping: options.stopping ?? (() => false) });
    return { dir, world, exporter, eventsOf };
  }

  it('GIVEN a set THEN it is written once: the same set again is not written', async () => {
    const { world, exporter, eventsOf } = await setUp();
    await exporter.exportSet(SET);
    await exporter.exportSet(SET);
    expect(await world.collectResources(['file'])).toEqual([{ host: 'h1', ...SET[0] }]);
    expect(eventsOf('export')).toHaveLength(1);
    await exporter.exportSet([]);
    expect(await world.collectResources(['file'])).toEqual([]);
    expect(eventsOf('export').map((e) => e.count)).toEqual([1, 0]);
    expect(exporter.failed).toBe(false);
  });

  it('GIVEN a noop run THEN nothing is exported', async () => {
    const { world, exporter, eventsOf } = await setUp({ noop: true });
    await exporter.exportSet(SET);
    expect(await world.collectResources(['file'])).toEqual([]);
    expect(eventsOf('export')).toEqual([]);
  });

  it('GIVEN a World that cannot be written THEN the failure is logged and remembered, not thrown; WHEN stopping THEN nothing is written and nothing failed', async () => {
    const { dir, exporter, eventsOf } = await setUp();
    await rm(dir, { recursive: true, force: true });
    await exporter.exportSet(SET);
    expect(exporter.failed).toBe(true);
    expect(eventsOf('error')).toMatchObject([{ level: 'error', phase: 'export' }]);

    let stopping = false;
    const quiet = await setUp({ stopping: () => stopping });
    await rm(quiet.dir, { recursive: true, force: true });
    stopping = true;
    await quiet.exporter.exportSet(SET);
    expect(quiet.exporter.failed).toBe(false);
    expect(quiet.eventsOf('error')).toEqual([]);
  });
});
