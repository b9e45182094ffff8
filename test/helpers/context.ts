import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogEvent } from '../../src/log/events.js';
import type { ResourceContext } from '../../src/core/context.js';
import type { ResourceLogger } from '../../src/core/logger.js';
import { createFsWatcher } from '../../src/watchers/fs.js';

/** TestContext is a ResourceContext that records what the resource logged. */
export interface TestContext extends ResourceContext {
  /** Every message logged, in order. */
  readonly logs: LogEvent[];
  /** Set whether a refresh is pending for the next checkApply. */
  setRefresh(pending: boolean): void;
}

// Every context's scratch directory lives under one directory per test process, made on first
// use and removed when the process exits (one left per context filled /tmp with 10,000 of them).
let scratchRoot: string | undefined;
function newScratchDir(): string {
  if (scratchRoot === undefined) {
    const root = mkdtempSync(join(tmpdir(), 'mgmt-scratch-'));
    process.once('exit', () => rmSync(root, { recursive: true, force: true }));
    scratchRoot = root;
  }
  return mkdtempSync(join(scratchRoot, 'r-'));
}

/** makeContext builds a context for driving one resource directly in a test. */
export function makeContext(kind: string, name: string, overrides: Partial<ResourceContext> = {}): TestContext {
  const logs: LogEvent[] = [];
  const id = `${kind}[${name}]`;
  const at =
    (level: LogEvent['level']) =>
    (message: string, fields?: Record<string, unknown>): void => {
      logs.push({ level, event: 'log', resource: id, message, ...fields });
    };
  const log: ResourceLogger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  let refresh = false;
  const fsWatcher = createFsWatcher();
  let scratchDir: string | undefined;
  return {
    id,
    kind,
    name,
    hostname: 'test-host',
    log,
    get scratchDir(): string {
      return (scratchDir ??= newScratchDir());
    },
    refreshPending: () => refresh,
    watchPath: (path, options) => fsWatcher.watchPath(path, options),
    ...overrides,
    logs,
    setRefresh: (pending: boolean) => {
      refresh = pending;
    },
  };
}
