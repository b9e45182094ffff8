// Live pkg resources for tests that drive the kind's checkApply on a chosen backend (apt or
// PackageKit), kept for cleanup after each test; and the hooks of a block on a real PackageKit.

import { afterAll, afterEach, beforeAll } from 'vitest';
import { errorMessage } from '../../src/errors.js';
import { createPkgKind, type PkgParams } from '../../src/resources/pkg.js';
import type { GroupLiveResource } from '../../src/core/group.js';
import type { LiveResource } from '../../src/core/kind.js';
import type { PkgBackendChoice } from '../../src/pkg/select.js';
import { createAptRepo, useAptConfig, type AptRepo, type AptRepoOptions, type DebSpec } from './apt-repo.js';
import { makeContext, type TestContext } from './context.js';
import { startPackageKit, type TestPackageKit } from './packagekit.js';

/** PkgResources starts pkg resources and groups on one backend and cleans them up. */
export class PkgResources {
  private readonly lives: Array<LiveResource | GroupLiveResource> = [];
  private readonly pkg: ReturnType<typeof createPkgKind>;

  constructor(
    backend: PkgBackendChoice,
    // Parameters every resource gets (PackageKit tests: allowunsupported, for the local repository).
    private readonly base: Partial<PkgParams> = {},
  ) {
    this.pkg = createPkgKind({ backend });
  }

  start(name: string, overrides: Partial<PkgParams> = {}): { live: LiveResource; ctx: TestContext } {
    const ctx = makeContext('pkg', name);
    const live = this.pkg.init({ ...this.pkg.defaults(name), ...this.base, ...overrides }, ctx);
    this.lives.push(live);
    return { live, ctx };
  }

  /** startGroup starts a group of `names`; ctx is its first member's, where the group logs. */
  startGroup(names: readonly string[], overrides: Partial<PkgParams> = {}): { group: GroupLiveResource; ctx: TestContext } {
    const members = names.map((name) => ({ name, params: { ...this.pkg.defaults(name), ...this.base, ...overrides }, ctx: makeContext('pkg', name) }));
    const group = this.pkg.group!.init!(members);
    this.lives.push(group);
    return { group, ctx: members[0]!.ctx };
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.lives.splice(0).map((live) => live.cleanup?.()));
  }
}

/** transactions are the summaries of the package transactions a resource logged. */
export function transactions(ctx: TestContext): Array<string | undefined> {
  return ctx.logs.filter((e) => e.transaction !== undefined).map((e) => e.message);
}

/** failure is how a checkApply failed, or 'no error'. */
export function failure(work: Promise<unknown>): Promise<string> {
  return work.then(
    () => 'no error',
    (err: unknown) => errorMessage(err),
  );
}

// A real PackageKit on a 2-core machine shared with other tests: setting up takes seconds.
const SETUP_TIMEOUT_MS = 180_000;

/** PackageKitFixture is what usePackageKitRepo sets up; repo and pk are there from beforeAll on. */
export interface PackageKitFixture {
  readonly repo: AptRepo;
  readonly pk: TestPackageKit;
  /** Resources on PackageKit, with allowunsupported (the local repository is not the distribution's). */
  readonly packagekit: PkgResources;
  /** Resources on apt, reading the same repository (this worker's APT_CONFIG), for what PackageKit must do alike. */
  readonly apt: PkgResources;
}

/**
 * usePackageKitRepo registers the hooks of a describe block that drives a real PackageKit: a local
 * repository of `debs` that PackageKit and this worker's apt read, purged after each test, and
 * everything undone after the block.
 */
export function usePackageKitRepo(debs: readonly DebSpec[], options: AptRepoOptions = {}): PackageKitFixture {
  let repo: AptRepo | undefined;
  let pk: TestPackageKit | undefined;
  let restoreAptConfig = (): void => {};
  const packagekit = new PkgResources('packagekit', { allowunsupported: true });
  const apt = new PkgResources('apt');
  beforeAll(async () => {
    repo = await createAptRepo(debs, options);
    restoreAptConfig = useAptConfig(repo.aptConfig);
    pk = await startPackageKit(repo);
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    restoreAptConfig();
    await pk?.close();
    await repo?.close();
  }, SETUP_TIMEOUT_MS);
  afterEach(async () => {
    await packagekit.cleanup();
    await apt.cleanup();
    await repo?.purge();
  }, SETUP_TIMEOUT_MS);
  return {
    get repo() {
      return repo!;
    },
    get pk() {
      return pk!;
    },
    packagekit,
    apt,
  };
}
