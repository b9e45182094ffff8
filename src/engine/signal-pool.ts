import { getEventListeners } from 'node:events';

// More than a kind's parallelism (the file kind's 32) is rarely in use at once; past this many
// free ones, a controller given back is left to the GC.
const MAX_FREE = 256;

/**
 * SignalPool lends AbortControllers to checks and takes back those a check left as it found them:
 * not aborted, with no abort listener. An AbortController took ~3 µs to make (10,000 files' first
 * converge made 10,000 of them, while the file kind's 32 slots keep at most 32 in use). A check
 * owns its signal only while it runs, so one given back is never read by the check that had it.
 */
export class SignalPool {
  private readonly free: AbortController[] = [];
  /** How many controllers the pool made (for tests). */
  made = 0;

  /** take lends a controller whose signal is not aborted and has no listener. */
  take(): AbortController {
    const reused = this.free.pop();
    if (reused) return reused;
    this.made++;
    return new AbortController();
  }

  /** give takes a controller back once its check settled; an aborted one, or one still listened to, is dropped. */
  give(controller: AbortController): void {
    const { signal } = controller;
    if (signal.aborted || this.free.length >= MAX_FREE || getEventListeners(signal, 'abort').length > 0) return;
    this.free.push(controller);
  }
}
