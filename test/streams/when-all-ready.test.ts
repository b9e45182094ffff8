import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { whenAllReady } from '../../streams/when-all-ready.js';

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('whenAllReady', () => {
  it('emits once and completes when there are no sources', () => {
    newScheduler().run(({ expectObservable }) => {
      expectObservable(whenAllReady([])).toBe('(x|)', { x: undefined });
    });
  });

  it('never emits while one source never becomes ready', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(whenAllReady([cold('a-b'), cold('-')])).toBe('-');
    });
  });

  it('completes without emitting when every source is empty', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(whenAllReady([cold('|'), cold('--|')])).toBe('--|');
    });
  });

  it('emits once when the last source becomes ready, then once per later event of any source', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      // GIVEN a ready at 0 (with a change at 1, covered by the ready emission) and b ready at 3
      const a = cold('ab----c');
      const b = cold('---d-e');
      // THEN ready at 3, then b's e at 5 and a's c at 6
      expectObservable(whenAllReady([a, b])).toBe('---x-xx', { x: undefined });
    });
  });

  it('passes one source through (the single-member case)', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(whenAllReady([cold('a-b-c|')])).toBe('x-x-x|', { x: undefined });
    });
  });

  it('errors as soon as any source errors and unsubscribes the others', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const a = cold('a----');
      const b = cold('a-#');
      expectObservable(whenAllReady([a, b])).toBe('x-#', { x: undefined });
      expectSubscriptions(a.subscriptions).toBe('^-!');
    });
  });

  it('completes only when every source has completed', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(whenAllReady([cold('a|'), cold('a---|')])).toBe('x---|', { x: undefined });
    });
  });

  it('unsubscribes every source on early unsubscribe', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const a = cold('a-b-c-d');
      const b = cold('a-----e');
      expectObservable(whenAllReady([a, b]), '^--!').toBe('x-x', { x: undefined });
      expectSubscriptions(a.subscriptions).toBe('^--!');
      expectSubscriptions(b.subscriptions).toBe('^--!');
    });
  });
});
