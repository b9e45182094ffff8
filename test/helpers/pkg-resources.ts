// Live pkg resources for tests that drive the kind's checkApply on a chosen backend (apt or
// PackageKit), kept for cleanup after each test.

import { errorMessage } from '../../src/errors.js';
import { pkg, type PkgParams } from '../../src/resources/pkg.js';
import type { GroupLiveResource, LiveResource, PkgBackendChoice } from '../../src/resources/types.js';
import { makeContext, type TestContext } from './context.js';

/** PkgResources starts pkg resources and groups on one backend and cleans them up. */
export class PkgResources {
  private readonly lives: Array<LiveResource | GroupLiveResource> = [];

  constructor(
    private readonly backend: PkgBackendChoice,
    // Parameters every resource gets (PackageKit tests: allowunsupported, for the local repository).
    private readonly base: Partial<PkgParams> = {},
  ) {}

  start(name: string, overrides: Partial<PkgParams> = {}): { live: LiveResource; ctx: TestContext } {
    const ctx = makeContext('pkg', name, { pkgBackend: this.backend });
    const live = pkg.init({ ...pkg.defaults(name), ...this.base, ...overrides }, ctx);
    this.lives.push(live);
    return { live, ctx };
  }

  /** startGroup starts a group of `names`; ctx is its first member's, where the group logs. */
  startGroup(names: readonly string[], overrides: Partial<PkgParams> = {}): { group: GroupLiveResource; ctx: TestContext } {
    const members = names.map((name) => ({ name, params: { ...pkg.defaults(name), ...this.base, ...overrides }, ctx: makeContext('pkg', name, { pkgBackend: this.backend }) }));
    const group = pkg.group!.init!(members);
    this.lives.push(group);
    return { group, ctx: members[0]!.ctx };
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.lives.splice(0).map((live) => live.cleanup?.()));
  }
}

/** failure is how a checkApply failed, or 'no error'. */
export function failure(work: Promise<unknown>): Promise<string> {
  return work.then(
    () => 'no error',
    (err: unknown) => errorMessage(err),
  );
}
