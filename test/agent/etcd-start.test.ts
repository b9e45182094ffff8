import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { etcdStartDue } from '../../src/agent/etcd-start.js';

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const idle = { t: true, f: false };

describe('etcdStartDue', () => {
  it('GIVEN a run that keeps going WHEN the engine settles idle for 10 ms THEN etcd is due once', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      // idle at 21 ms (for 6 ms only), then at 48 ms for good: due 10 ms later.
      const idle$ = cold('f 20ms t 5ms f 20ms t 50ms f', idle);
      expectObservable(etcdStartDue(idle$, -1)).toBe('58ms (x|)', { x: true });
    });
  });

  it('GIVEN a run that keeps going WHEN the engine never settles THEN etcd is due after 2 s', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(etcdStartDue(cold('f', idle), 5)).toBe('2000ms (x|)', { x: 0 });
    });
  });

  it('GIVEN a one-shot run (timeout 0) WHEN the engine stays idle THEN etcd is never due', () => {
    // The run exits on its first idle; a start racing that exit loaded etcd3, made a CA and spawned etcd.
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(etcdStartDue(cold('f 20ms t', idle), 0), '^ 5000ms !').toBe('');
    });
  });
});
