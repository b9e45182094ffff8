// The choice of `--pkg-backend auto|packagekit|apt`, apart from backend.ts: the backends import
// backend.ts's types and helpers, and only this file imports the backends (lazily).

import type { BackendEnv, PkgBackend } from './backend.js';

/** PkgBackendChoice is `--pkg-backend`: PackageKit over D-Bus, apt/dpkg, or auto (PackageKit when it answers on the system bus). */
export type PkgBackendChoice = 'auto' | 'packagekit' | 'apt';

/** BackendFactory creates one backend. */
export type BackendFactory = (env: BackendEnv) => Promise<PkgBackend>;

/**
 * BACKENDS are the implementations by name, each imported lazily (apt needs no D-Bus). A build
 * without a `packagekit` factory fails `--pkg-backend packagekit` with "not implemented yet", and
 * its `auto` uses apt without probing the bus.
 */
export const BACKENDS: { readonly apt: BackendFactory; readonly packagekit: BackendFactory | undefined } = {
  apt: async (env) => new (await import('./apt.js')).AptBackend(env),
  packagekit: async (env) => new (await import('./packagekit.js')).PackageKitBackend(env),
};

/** PACKAGEKIT_PROBE_MS bounds how long `auto` waits for PackageKit to answer on the system bus. */
export const PACKAGEKIT_PROBE_MS = 1500;

let probed: Promise<boolean> | undefined;

/**
 * selectBackend creates the backend `choice` names: `apt`, `packagekit`, or `auto` = PackageKit
 * when org.freedesktop.PackageKit answers on the system bus within PACKAGEKIT_PROBE_MS, else apt.
 * The probe runs once per process.
 */
export async function selectBackend(choice: PkgBackendChoice = 'auto', env: BackendEnv = {}): Promise<PkgBackend> {
  const packagekit = BACKENDS.packagekit;
  switch (choice) {
    case 'apt':
      return BACKENDS.apt(env);
    case 'packagekit':
      if (!packagekit) throw new Error('the PackageKit backend is not implemented yet: use --pkg-backend apt (or auto)');
      return packagekit(env);
    case 'auto': {
      if (!packagekit) return BACKENDS.apt(env);
      probed ??= import('./probe.js').then((probe) => probe.packageKitAnswers(PACKAGEKIT_PROBE_MS));
      return (await probed) ? packagekit(env) : BACKENDS.apt(env);
    }
    default:
      throw new Error(`unknown package backend ${JSON.stringify(choice)} (${typeof choice}): one of auto, packagekit, apt`);
  }
}
