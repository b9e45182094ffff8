// The agent's promise-side waits: one delay, one abort race and one timeout race, so every wait
// honours an AbortSignal the same way and cleans up its timer.

/**
 * delay resolves after `ms`; an abort rejects it at once with the signal's reason. Only a wait given
 * a signal keeps the process alive (it is part of an operation someone awaits and may cancel);
 * without one it is a pause or a grace raced against something else, and must not hold up exit.
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (signal === undefined) timer.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** abortable settles like `promise`, or rejects with the signal's reason once it aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    // Nobody waits for the promise now: its own rejection, later, must not go unhandled (a shared
    // lookup failing after an aborted caller left would crash the agent).
    promise.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** withTimeout settles like `promise`, or rejects with `timed out after <ms> ms` once `ms` pass first. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
