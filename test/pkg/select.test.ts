import { afterEach, describe, expect, it } from 'vitest';
import { packageKitAnswers } from '../../src/pkg/probe.js';
import { BACKENDS, selectBackend } from '../../src/pkg/select.js';

describe('selectBackend', () => {
  const saved = BACKENDS.packagekit;
  afterEach(() => {
    (BACKENDS as { packagekit: typeof saved }).packagekit = saved;
  });

  it('GIVEN apt THEN the apt backend', async () => {
    const backend = await selectBackend('apt');
    expect(backend.name).toBe('apt');
    await backend.close();
  });

  it('GIVEN packagekit WHILE it is not implemented THEN a clear error says what to use instead', async () => {
    (BACKENDS as { packagekit: typeof saved }).packagekit = undefined;
    await expect(selectBackend('packagekit')).rejects.toThrow(/not implemented yet: use --pkg-backend apt/);
  });

  it('GIVEN auto WHILE PackageKit is not implemented THEN apt, without probing the bus', async () => {
    (BACKENDS as { packagekit: typeof saved }).packagekit = undefined;
    const started = performance.now();
    const backend = await selectBackend('auto');
    expect(backend.name).toBe('apt');
    expect(performance.now() - started).toBeLessThan(500);
    await backend.close();
  });

  it('GIVEN a choice that is not one THEN the error quotes it and its type', async () => {
    await expect(selectBackend('yum' as never)).rejects.toThrow('unknown package backend "yum" (string): one of auto, packagekit, apt');
  });
});

describe('packageKitAnswers', () => {
  it('GIVEN no system bus at an address THEN false, quickly, never an exception', async () => {
    const saved = process.env.DBUS_SYSTEM_BUS_ADDRESS;
    process.env.DBUS_SYSTEM_BUS_ADDRESS = 'unix:path=/nonexistent/mgmt-test-bus';
    try {
      const started = performance.now();
      expect(await packageKitAnswers(1000)).toBe(false);
      expect(performance.now() - started).toBeLessThan(1000);
    } finally {
      if (saved === undefined) delete process.env.DBUS_SYSTEM_BUS_ADDRESS;
      else process.env.DBUS_SYSTEM_BUS_ADDRESS = saved;
    }
  });
});
