// Pure rxjs operators the engine composes; each lives in its own file with its own marble test.
export { bufferBurst } from './buffer-burst.js';
export { convergedAfter } from './converged-after.js';
export { onceTick } from './once-tick.js';
export { parentGate, type ParentGateConfig } from './parent-gate.js';
export { pollTicks } from './poll-ticks.js';
export { rateLimit } from './rate-limit.js';
export { backoffDelay, retryWithBackoff, type RetryWithBackoffConfig } from './retry-with-backoff.js';
export { retryWithDelay, type RetryWithDelayConfig } from './retry-with-delay.js';
export { whenAllReady } from './when-all-ready.js';
export { whenSettled, type WhenSettledConfig } from './when-settled.js';
