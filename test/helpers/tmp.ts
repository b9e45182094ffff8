import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

/** useTempDirs returns a function that makes a fresh temp directory, removed after each test. */
export function useTempDirs(): () => Promise<string> {
  const made: string[] = [];
  afterEach(async () => {
    // An agent still writing (killed only by a later hook) can race the removal: retry, and never
    // throw, as a throwing hook would skip the hooks that kill the agents.
    await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }).catch(() => undefined)));
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mgmt-test-'));
    made.push(dir);
    return dir;
  };
}
