import { describe, expect, it } from 'vitest';
import { semaphoreSize, Semaphores } from '../../src/os/semaphores.js';

/** stateOf says whether a promise has settled once every pending microtask has run. */
async function stateOf(promise: Promise<unknown>): Promise<'resolved' | 'rejected' | 'pending'> {
  const pending = new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending')));
  return Promise.race([
    promise.then(
      () => 'resolved' as const,
      () => 'rejected' as const,
    ),
    pending,
  ]);
}

describe('semaphoreSize', () => {
  it.each([
    ['some_id', 1],
    ['hello:42', 42],
    [':13', 13],
    ['not:smart:4', 4],
    ['zero:0', 1],
  ])('reads %j as %i', (id, size) => {
    expect(semaphoreSize(id)).toBe(size);
  });
});

describe('Semaphores', () => {
  it('GIVEN a 1-slot semaphore held WHEN another takes it THEN it waits until the holder releases', async () => {
    const semaphores = new Semaphores();
    const release = await semaphores.acquire(['lock:1']);
    const second = semaphores.acquire(['lock:1']);
    expect(await stateOf(second)).toBe('pending');
    release();
    expect(await stateOf(second)).toBe('resolved');
  });

  it('GIVEN a waiter WHEN its signal aborts THEN it rejects with the reason and takes nothing', async () => {
    const semaphores = new Semaphores();
    const release = await semaphores.acquire(['lock:1']);
    const controller = new AbortController();
    const waiting = semaphores.acquire(['lock:1'], controller.signal);
    controller.abort(new Error('stopping'));
    await expect(waiting).rejects.toThrow('stopping');
    // THEN the holder's release frees the one slot: one more taker gets it, the next waits
    release();
    expect(await stateOf(semaphores.acquire(['lock:1']))).toBe('resolved');
    expect(await stateOf(semaphores.acquire(['lock:1']))).toBe('pending');
  });

  it('GIVEN a waiter holding its first semaphore WHEN it aborts waiting for the second THEN it releases the first, and only that', async () => {
    const semaphores = new Semaphores();
    const holdB = await semaphores.acquire(['b:1']);
    const controller = new AbortController();
    const waiting = semaphores.acquire(['b:1', 'a:1'], controller.signal); // sorted: takes a, waits for b
    expect(await stateOf(waiting)).toBe('pending');
    const takerOfA = semaphores.acquire(['a:1']);
    expect(await stateOf(takerOfA)).toBe('pending');
    controller.abort(new Error('stopping'));
    await expect(waiting).rejects.toThrow('stopping');
    // THEN the taker of a gets it now, and b is still held by its holder alone
    expect(await stateOf(takerOfA)).toBe('resolved');
    expect(await stateOf(semaphores.acquire(['b:1']))).toBe('pending');
    holdB();
  });

  it('GIVEN an aborted signal THEN acquire rejects at once, even for a free semaphore, and takes nothing', async () => {
    const semaphores = new Semaphores();
    const controller = new AbortController();
    controller.abort(new Error('already stopped'));
    await expect(semaphores.acquire(['lock:1'], controller.signal)).rejects.toThrow('already stopped');
    expect(await stateOf(semaphores.acquire(['lock:1']))).toBe('resolved');
  });

  it('GIVEN a granted wait WHEN the signal aborts later THEN the slot stays taken until released', async () => {
    const semaphores = new Semaphores();
    const controller = new AbortController();
    const release = await semaphores.acquire(['lock:1'], controller.signal);
    controller.abort(new Error('late'));
    const next = semaphores.acquire(['lock:1']);
    expect(await stateOf(next)).toBe('pending');
    release();
    expect(await stateOf(next)).toBe('resolved');
  });
});

describe('Semaphores.take and wait', () => {
  it('GIVEN every semaphore free THEN take takes them all at once, and its release gives them back once', () => {
    const semaphores = new Semaphores();
    const release = semaphores.take(['b:1', 'a:1', 'a:1']);
    expect(release).toBeDefined();
    expect(semaphores.take(['a:1'])).toBeUndefined();
    release!();
    release!();
    expect(semaphores.take(['a:1'])).toBeDefined();
    expect(semaphores.take(['a:1'])).toBeUndefined();
  });

  it('GIVEN one semaphore busy THEN take takes nothing, not even the free ones', () => {
    const semaphores = new Semaphores();
    semaphores.take(['b:1']);
    expect(semaphores.take(['a:1', 'b:1'])).toBeUndefined();
    expect(semaphores.take(['a:1'])).toBeDefined();
  });

  it('GIVEN no ids THEN take always succeeds', () => {
    expect(new Semaphores().take([])).toBeDefined();
  });

  it('GIVEN a wait holding its first semaphore WHEN cancelled THEN it rejects with the reason and the next waiter gets the first', async () => {
    const semaphores = new Semaphores();
    const holdB = semaphores.take(['b:1'])!;
    const waiting = semaphores.wait(['a:1', 'b:1']);
    const takerOfA = semaphores.wait(['a:1']);
    waiting.cancel(new Error('stopping'));
    await expect(waiting.granted).rejects.toThrow('stopping');
    expect(await stateOf(takerOfA.granted)).toBe('resolved');
    // THEN a cancel after the grant changes nothing
    takerOfA.cancel(new Error('late'));
    expect(semaphores.take(['a:1'])).toBeUndefined();
    holdB();
  });

  it('GIVEN waiters WHEN the middle one is cancelled THEN the others are granted first come, first served', async () => {
    const semaphores = new Semaphores();
    const hold = semaphores.take(['lock:1'])!;
    const [first, middle, last] = [semaphores.wait(['lock:1']), semaphores.wait(['lock:1']), semaphores.wait(['lock:1'])];
    middle.cancel(new Error('gone'));
    await expect(middle.granted).rejects.toThrow('gone');
    hold();
    expect([await stateOf(first.granted), await stateOf(last.granted)]).toEqual(['resolved', 'pending']);
    (await first.granted)();
    expect(await stateOf(last.granted)).toBe('resolved');
  });

  it('GIVEN 1,000 queued waiters, most of them cancelled WHEN the slot is released THEN the live ones are granted in order, one per release', () => {
    const semaphores = new Semaphores();
    const hold = semaphores.take(['lock:1'])!;
    const granted: number[] = [];
    const releases: Array<() => void> = [];
    const waits = Array.from({ length: 1000 }, (_, i) =>
      semaphores.queue(['lock:1'], { slotsGranted: (release) => void (granted.push(i), releases.push(release)) }),
    );
    waits.forEach((wait, i) => i % 10 !== 9 && expect(wait.cancel()).toBe(true));
    hold();
    for (let turn = 0; turn < 100; turn++) {
      expect(granted).toHaveLength(turn + 1);
      releases[turn]!();
    }
    expect(granted).toEqual(Array.from({ length: 100 }, (_, i) => i * 10 + 9));
    expect(semaphores.take(['lock:1'])).toBeDefined();
  });

  it('GIVEN 100,000 parked waiters WHEN each release grants the next THEN the last grants cost what the first did (a queue scanned from its start made each grant dearer than the one before)', () => {
    const WAITERS = 100_000;
    const CHUNK = 20_000;
    /**
     * grantAll parks WAITERS waiters on a 1-slot semaphore and releases until every one was
     * granted; it returns the CPU time (ms) of the first CHUNK grants and of the last CHUNK. One
     * run compared with itself: two runs of different sizes compared CPU times that garbage
     * collection grows faster than the work (a linear queue once looked 45x at 10x the waiters).
     */
    const grantAll = (): { first: number; last: number } => {
      const semaphores = new Semaphores();
      const first = semaphores.take(['lock:1'])!;
      let granted = 0;
      const releases: Array<() => void> = [];
      const grantee = { slotsGranted: (release: () => void) => void (granted++, releases.push(release)) };
      for (let i = 0; i < WAITERS; i++) semaphores.queue(['lock:1'], grantee);
      const cpuMs = (since: NodeJS.CpuUsage): number => {
        const used = process.cpuUsage(since);
        return (used.user + used.system) / 1000;
      };
      first();
      let started = process.cpuUsage();
      while (granted < CHUNK) releases.pop()!();
      const firstMs = cpuMs(started);
      while (granted < WAITERS - CHUNK) releases.pop()!();
      started = process.cpuUsage();
      while (releases.length > 0) releases.pop()!();
      const lastMs = cpuMs(started);
      expect(granted).toBe(WAITERS);
      return { first: firstMs, last: lastMs };
    };
    grantAll(); // warm-up
    const runs = [grantAll(), grantAll(), grantAll()];
    const first = Math.min(...runs.map((run) => run.first));
    const last = Math.min(...runs.map((run) => run.last));
    // Linear is ~1x; scanning from the start, the last grants pass ~90,000 served entries each
    // against ~10,000 for the first: ~9x.
    expect(last / Math.max(first, 0.5)).toBeLessThan(3);
  });
});
