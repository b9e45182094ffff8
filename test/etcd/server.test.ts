import { stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { EtcdServer, EtcdStartError, isHealthy } from '../../src/etcd/server.js';
import { etcdGet, etcdPut, freePort, processAlive, skipEtcdReason, useEtcd } from '../helpers/etcd.js';
import { useTempDirs } from '../helpers/tmp.js';

describe('EtcdServer without an etcd binary', () => {
  const tempDir = useTempDirs();

  it('fails to start with an error naming the Debian package etcd-server', async () => {
    // GIVEN a server whose binary does not exist
    const server = new EtcdServer({ prefix: await tempDir(), binary: '/nonexistent/etcd' });
    // WHEN it starts THEN the error says what to install
    await expect(server.start()).rejects.toThrow(/etcd-server/);
    expect(server.pid).toBeUndefined();
  });

  it('names etcd-server when etcd is not on PATH', async () => {
    const saved = process.env.PATH;
    process.env.PATH = await tempDir();
    try {
      const server = new EtcdServer({ prefix: await tempDir() });
      await expect(server.start()).rejects.toThrow(/`etcd` was not found on PATH.*etcd-server/);
    } finally {
      process.env.PATH = saved;
    }
  });

  it('builds its argument array from the options, with etcd defaults for timing', () => {
    const server = new EtcdServer({ prefix: '/var/lib/mgmt', name: 'h1' });
    expect(server.args()).toEqual([
      '--name', 'h1',
      '--data-dir', '/var/lib/mgmt/etcd',
      '--listen-client-urls', 'http://127.0.0.1:2379',
      '--advertise-client-urls', 'http://127.0.0.1:2379',
      '--listen-peer-urls', 'http://127.0.0.1:2380',
      '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
      '--initial-cluster', 'h1=http://127.0.0.1:2380',
      '--initial-cluster-state', 'new',
      '--logger=zap',
      '--pre-vote=true',
      '--log-outputs=stderr',
      '--heartbeat-interval=100',
      '--election-timeout=1000',
      '--auto-compaction-mode=periodic',
      '--auto-compaction-retention=1m',
    ]);
  });
});

describe.skipIf(skipEtcdReason !== undefined)(`EtcdServer with a real etcd${skipEtcdReason ? ` (skipped: ${skipEtcdReason})` : ''}`, () => {
  const makeEtcd = useEtcd();

  it('starts, answers /health and keeps its data in <prefix>/etcd with mode 0700', async () => {
    // GIVEN a server on free loopback ports
    const etcd = await makeEtcd();
    // WHEN it starts
    await etcd.server.start();
    // THEN it is healthy, reported started, and its data dir is private
    expect(await isHealthy(`${etcd.clientUrl}/health`)).toBe(true);
    expect(etcd.events.map((e) => e.type)).toEqual(['started']);
    expect(etcd.server.pid).toBeTypeOf('number');
    expect((await stat(etcd.server.dataDir)).mode & 0o777).toBe(0o700);
    await etcdPut(etcd.clientUrl, 'k', 'v');
    expect(await etcdGet(etcd.clientUrl, 'k')).toBe('v');
  });

  it('stop() ends the process and reports stopped', async () => {
    const etcd = await makeEtcd();
    await etcd.server.start();
    const pid = etcd.server.pid!;
    // WHEN it stops
    await etcd.server.stop();
    // THEN the process is gone and nobody answers
    expect(processAlive(pid)).toBe(false);
    expect(etcd.server.pid).toBeUndefined();
    expect(await isHealthy(`${etcd.clientUrl}/health`, 200)).toBe(false);
    expect(etcd.events.map((e) => e.type)).toEqual(['started', 'stopped']);
  });

  it('stop({ discard }) of a removed member does not wait out the grace a graceful stop gets', { timeout: 20_000 }, async () => {
    // GIVEN an etcd that would be given a minute to stop gracefully, frozen so that SIGTERM does nothing
    const etcd = await makeEtcd({ stopTimeoutMs: 60_000 });
    await etcd.server.start();
    const pid = etcd.server.pid!;
    process.kill(pid, 'SIGSTOP');
    // WHEN it is stopped as a member whose data is discarded
    await etcd.server.stop({ discard: true });
    // THEN it is gone at once (SIGKILL), reported stopped
    expect(processAlive(pid)).toBe(false);
    expect(etcd.events.map((e) => e.type)).toEqual(['started', 'stopped']);
  });

  it('restarts etcd after a crash, healthy again with its data intact', async () => {
    // GIVEN a running server holding a key
    const etcd = await makeEtcd();
    await etcd.server.start();
    await etcdPut(etcd.clientUrl, 'survivor', 'still here');
    const pid = etcd.server.pid!;
    // WHEN etcd is killed behind the supervisor's back
    process.kill(pid, 'SIGKILL');
    // THEN the crash is reported and a new process serves the same data
    const crashed = await etcd.waitFor('crashed');
    expect(crashed).toMatchObject({ type: 'crashed', pid, reason: 'killed by SIGKILL' });
    const restarted = await etcd.waitFor('restarted');
    expect(restarted).toMatchObject({ type: 'restarted', attempt: 1 });
    expect(etcd.server.pid).not.toBe(pid);
    expect(processAlive(pid)).toBe(false);
    expect(await isHealthy(`${etcd.clientUrl}/health`)).toBe(true);
    expect(await etcdGet(etcd.clientUrl, 'survivor')).toBe('still here');
  });

  it('backs off and keeps retrying while a restart fails, then recovers', async () => {
    // GIVEN a running server whose client port gets taken right after it crashes
    const etcd = await makeEtcd({ restartDelayMs: 200 });
    await etcd.server.start();
    process.kill(etcd.server.pid!, 'SIGKILL');
    await etcd.waitFor('crashed');
    const squatter = createServer();
    squatter.listen(Number(new URL(etcd.clientUrl).port), '127.0.0.1');
    await once(squatter, 'listening');
    // WHEN the first restart runs into the taken port
    const failed = await etcd.waitFor('crashed', 1);
    squatter.close();
    // THEN it is reported as another crash with a doubled delay, and the next restart succeeds
    expect(failed).toMatchObject({ reason: expect.stringMatching(/^restart 1 failed: .*already in use/), restartInMs: 400 });
    expect(await etcd.waitFor('restarted')).toMatchObject({ attempt: 2 });
    expect(await isHealthy(`${etcd.clientUrl}/health`)).toBe(true);
  });

  it('never restarts after stop()', async () => {
    const etcd = await makeEtcd({ restartDelayMs: 10 });
    await etcd.server.start();
    await etcd.server.stop();
    // Longer than several restart delays: a stray restart would have happened by now.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(etcd.events.map((e) => e.type)).toEqual(['started', 'stopped']);
    expect(etcd.server.pid).toBeUndefined();
  });

  it('fails to start with a clear error naming the client port when it is in use, without starting etcd', async () => {
    // GIVEN something already listening on the client port
    const port = await freePort();
    const squatter = createServer();
    squatter.listen(port, '127.0.0.1');
    await once(squatter, 'listening');
    try {
      const etcd = await makeEtcd({ clientUrls: [`http://127.0.0.1:${port}`] });
      // WHEN etcd starts THEN the error names the URL and the port, in one line
      const error = await etcd.server.start().then(
        () => undefined,
        (err: unknown) => err as Error,
      );
      expect(error).toBeInstanceOf(EtcdStartError);
      expect(error?.message).toBe(
        `etcd server test: cannot listen on client URL http://127.0.0.1:${port}: port 127.0.0.1:${port} already in use (another etcd or mgmt agent?); stop it or choose free ports`,
      );
      expect(etcd.server.pid).toBeUndefined();
      expect(etcd.events).toEqual([]);
    } finally {
      squatter.close();
    }
  });
});
