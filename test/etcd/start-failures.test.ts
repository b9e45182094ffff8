import { describe, expect, it } from 'vitest';
import { EtcdStartError } from '../../src/etcd/server.js';
import { freePort, skipEtcdReason, useEtcd } from '../helpers/etcd.js';

// Starts of a real etcd that cannot succeed (issue 11 point 7): each fails at once, in one line
// that says why, instead of leaving the agent running without a World.
describe.skipIf(skipEtcdReason !== undefined)('EtcdServer start failures', () => {
  const makeEtcd = useEtcd();

  const failureOf = (start: Promise<void>): Promise<EtcdStartError> =>
    start.then(
      () => {
        throw new Error('etcd started, but it should not have');
      },
      (err: unknown) => err as EtcdStartError,
    );

  it('issue 11 point 7: GIVEN another etcd serving on the client port WHEN a second one starts there THEN start fails naming the port instead of taking the other\'s health for its own', async () => {
    // GIVEN a healthy etcd: it answers /health on its client URL
    const first = await makeEtcd();
    await first.server.start();
    // WHEN a second etcd is started on the same client URL (with a free peer URL)
    const peerUrl = `http://127.0.0.1:${await freePort()}`;
    const second = await makeEtcd({ clientUrls: [first.clientUrl], peerUrls: [peerUrl] });
    const error = await failureOf(second.server.start());
    // THEN it failed, naming the client URL, and the first etcd is untouched
    expect(error).toBeInstanceOf(EtcdStartError);
    expect(error.message).toContain(`cannot listen on client URL ${first.clientUrl}`);
    expect(error.message).toContain('already in use');
    expect(error.takenPorts.map((port) => port.role)).toEqual(['client']);
    expect(second.server.pid).toBeUndefined();
    expect(first.server.pid).toBeTypeOf('number');
  });

  it('issue 11 point 7: GIVEN a configuration etcd refuses WHEN it starts THEN the one-line error carries etcd\'s own reason, not only its exit code', async () => {
    // GIVEN an initial cluster that does not name this member
    const etcd = await makeEtcd({ initialCluster: `someone-else=http://127.0.0.1:${await freePort()}` });
    // WHEN it starts
    const error = await failureOf(etcd.server.start());
    // THEN the first (and only) line says what etcd said; its stderr is kept apart
    expect(error.message.split('\n')).toEqual([
      'etcd server test: etcd exited with code 1: discovery failed: couldn\'t find local name "test" in the initial cluster configuration',
    ]);
    expect(error.etcdReason).toBe('discovery failed: couldn\'t find local name "test" in the initial cluster configuration');
    expect(error.stderrTail).toContain('"level":"fatal"');
  });
});
