// Vitest's global setup: the whole run gets one temp directory of its own as TMPDIR, set before
// the test workers start, so they and every agent they spawn make their temp files there; it is
// removed when the run ends. A test that SIGKILLs an agent leaves that agent's `--tmp-prefix`
// (`mgmt-<host>-*`, which only a living agent removes), and a hook that races a still-writing
// agent can leave a `mgmt-test-*` directory: without this, every full run left a few in /tmp.

import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default async function setup(): Promise<() => Promise<void>> {
  const previous = process.env.TMPDIR;
  const root = await mkdtemp(join(tmpdir(), 'mgmt-tests-'));
  // What /tmp is (sticky, everyone's): tests run code as other users (nobody, _apt) and lean on
  // the rules for a sticky world-writable ancestor.
  await chmod(root, 0o1777);
  process.env.TMPDIR = root;
  return async () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  };
}
