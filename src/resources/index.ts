import { createRegistry, type Registry } from '../core/registry.js';
import type { AnyResourceKind } from '../core/kind.js';
import type { PkgBackendChoice } from '../pkg/select.js';
import { exec } from './exec.js';
import { file } from './file.js';
import { group } from './group.js';
import { kv } from './kv.js';
import { msg } from './msg.js';
import { noop } from './noop.js';
import { createPkgKind } from './pkg.js';
import { print } from './print.js';
import { svc } from './svc.js';
import { timer } from './timer.js';
import { user } from './user.js';

/** KindOptions are the run-wide options kinds close over, given once at start-up. */
export interface KindOptions {
  /** `--pkg-backend`: the package manager `pkg` resources and their automatic edges use (auto when absent). */
  readonly pkgBackend?: PkgBackendChoice;
}

/** builtinKinds lists every kind this agent implements, made for `options` (a fixed order: registries keep it). */
export function builtinKinds(options: KindOptions = {}): AnyResourceKind[] {
  return [noop, file, exec, timer, msg, print, kv, svc, createPkgKind({ backend: options.pkgBackend }), user, group];
}

/** builtinRegistry is the registry of all built-in kinds for a run with `options`; the CLI builds it once. */
export function builtinRegistry(options: KindOptions = {}): Registry {
  return createRegistry(builtinKinds(options));
}

/** defaultRegistry is the registry of all built-in kinds with default options (`mgmt check`, tests). */
export const defaultRegistry: Registry = builtinRegistry();
