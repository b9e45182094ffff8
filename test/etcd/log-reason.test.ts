import { describe, expect, it } from 'vitest';
import { etcdReason, oneLine, REMOVED_MEMBER } from '../../src/etcd/log-reason.js';

// etcd's reasons as etcd 3.4 logs them (zap JSON lines, copied from real runs, shortened).
const info = (msg: string) => JSON.stringify({ level: 'info', ts: '2026-12-06T21:52:11.909Z', caller: 'x.go:1', msg });
const REMOVED_LOG = [
  info('starting an etcd server'),
  JSON.stringify({ level: 'warn', msg: 'simple token is not cryptographically signed' }),
  JSON.stringify({ level: 'warn', caller: 'etcdserver/server.go:1078', msg: 'server error', error: REMOVED_MEMBER }),
  JSON.stringify({ level: 'warn', caller: 'etcdserver/server.go:1079', msg: 'data-dir used by this member must be removed' }),
  JSON.stringify({ level: 'warn', msg: 'stopped TCP streaming connection with remote peer', 'remote-peer-id': '4557359565f74599' }),
  info('stopped remote peer'),
].join('\n');
const BIND_LOG = [
  info('configuring peer listeners'),
  JSON.stringify({ level: 'warn', msg: 'failed to start etcd', error: 'listen tcp 127.0.0.1:23012: bind: address already in use' }),
  JSON.stringify({ level: 'fatal', msg: 'discovery failed', error: 'listen tcp 127.0.0.1:23012: bind: address already in use', stacktrace: 'go.etcd.io/etcd/etcdmain.startEtcdOrProxyV2\n\tetcd.go:271' }),
].join('\n');

describe('etcdReason', () => {
  it('issue 11 point 7: GIVEN a member the cluster removed WHEN its log ends with stream teardowns THEN the reason is the server error before them', () => {
    expect(etcdReason(REMOVED_LOG)).toBe(REMOVED_MEMBER);
  });

  it('GIVEN a fatal line WHEN read THEN the reason is its message and error, whatever came before', () => {
    expect(etcdReason(BIND_LOG)).toBe('discovery failed: listen tcp 127.0.0.1:23012: bind: address already in use');
    expect(etcdReason(`${REMOVED_LOG}\n${BIND_LOG}`)).toBe('discovery failed: listen tcp 127.0.0.1:23012: bind: address already in use');
  });

  it('GIVEN an error line and a Go panic WHEN read THEN the panic wins; an error line alone is the reason', () => {
    const error = JSON.stringify({ level: 'error', msg: 'failed to save', error: 'disk full' });
    expect(etcdReason(error)).toBe('failed to save: disk full');
    expect(etcdReason(`${error}\npanic: runtime error: index out of range\n\ngoroutine 1 [running]:`)).toBe('panic: runtime error: index out of range');
  });

  it('GIVEN only info and warn lines, garbage, or nothing WHEN read THEN there is no reason', () => {
    expect(etcdReason(info('ready to serve client requests'))).toBeUndefined();
    expect(etcdReason('{"level":"fatal", not json\nplain text')).toBeUndefined();
    expect(etcdReason('')).toBeUndefined();
  });

  it('GIVEN a very long reason WHEN read THEN it is cut to a bounded length', () => {
    const reason = etcdReason(JSON.stringify({ level: 'fatal', msg: 'x'.repeat(2000) }));
    expect(reason).toHaveLength(403);
    expect(reason?.endsWith('...')).toBe(true);
  });
});

describe('oneLine', () => {
  it('GIVEN a message over several lines WHEN joined THEN every non-empty line is kept, in order', () => {
    expect(oneLine('13 INTERNAL: failed\n  etcdserver: request timed out\n\n')).toBe('13 INTERNAL: failed | etcdserver: request timed out');
    expect(oneLine('one line')).toBe('one line');
  });
});
