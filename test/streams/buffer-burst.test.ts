import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { bufferBurst } from '../../streams/buffer-burst.js';

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('bufferBurst', () => {
  it('emits nothing for a source that never emits', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('-').pipe(bufferBurst(50, scheduler))).toBe('-');
    });
  });

  it('completes with an empty source and emits no empty window', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('|').pipe(bufferBurst(50, scheduler))).toBe('|');
    });
  });

  it('emits one event alone when its window closes', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('a').pipe(bufferBurst(50, scheduler))).toBe('50ms x', { x: ['a'] });
    });
  });

  it('opens a window at the first event of each burst and emits the whole burst once', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      // GIVEN bursts starting at 0, 103 and 205
      const source = cold('abc 100ms de 100ms f');
      // THEN each burst comes out once, 50 ms after its first event
      expectObservable(source.pipe(bufferBurst(50, scheduler))).toBe('50ms x 102ms y 101ms z', {
        x: ['a', 'b', 'c'],
        y: ['d', 'e'],
        z: ['f'],
      });
      // AND the source is subscribed once, however many windows open
      expectSubscriptions(source.subscriptions).toBe('^');
    });
  });

  it('collects only the events of the same tick when the window is 0', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('(ab)c').pipe(bufferBurst(0, scheduler))).toBe('x---y', { x: ['a', 'b'], y: ['c'] });
    });
  });

  it('flushes the open window at once when the source completes', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('ab|').pipe(bufferBurst(50, scheduler))).toBe('--(x|)', { x: ['a', 'b'] });
    });
  });

  it('drops the open window on error', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('ab#').pipe(bufferBurst(50, scheduler))).toBe('--#');
    });
  });

  it('keeps coalescing a never-ending stream of events', () => {
    const scheduler = newScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      // an event every 20 ms: each 50 ms window holds three of them
      const source = hot('a 19ms b 19ms c 19ms d 19ms e 19ms f 19ms g 19ms h 19ms i');
      expectObservable(source.pipe(bufferBurst(50, scheduler)), '^ 200ms !').toBe('50ms x 59ms y 59ms z', {
        x: ['a', 'b', 'c'],
        y: ['d', 'e', 'f'],
        z: ['g', 'h', 'i'],
      });
    });
  });

  it('drops the open window and unsubscribes on early unsubscribe', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('abc');
      expectObservable(source.pipe(bufferBurst(50, scheduler)), '^ 20ms !').toBe('-');
      expectSubscriptions(source.subscriptions).toBe('^ 20ms !');
    });
  });

  it.each([[-1], [Number.NaN], [2 ** 31], [null]])('rejects window %j', (windowMs) => {
    expect(() => bufferBurst(windowMs as number)).toThrow(
      /^bufferBurst: windowMs must be a number of milliseconds from 0 to 2147483647, got /,
    );
  });
});
