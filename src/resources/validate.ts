import type { AnyResourceKind } from '../core/kind.js';
import type { ParamProblem } from '../core/params.js';
import { nulProblems } from './values.js';

/**
 * validateResource returns every problem of a resource named `name` with `params` (the kind's
 * defaults with the input's values over them): the rules every kind shares (no NUL byte anywhere),
 * then the kind's own validate and validateName. The YAML frontend and the collector both call it,
 * so a collected resource is held to exactly what `mgmt check` holds a written one to. `nulFree`
 * says that neither the name nor any value taken from the input can hold a NUL.
 */
export function validateResource(def: AnyResourceKind, name: string, params: Readonly<Record<string, unknown>>, nulFree = false): ParamProblem[] {
  const own = def.validateName === undefined ? def.validate(params) : [...def.validate(params), ...def.validateName(name, params)];
  // A caller that knows its input holds no NUL is spared the walk: the kinds' defaults add none (a
  // test holds every kind to that), and the walk was ~10% of reading a 10,000-file graph.
  if (nulFree) return own;
  const shared = nulProblems(name, params);
  if (shared.length === 0) return own;
  // A value with a NUL is wrong whatever else the kind finds in it: one problem says so.
  const withNul = new Set(shared.map((problem) => problem.param));
  return [...shared, ...own.filter((problem) => !withNul.has(problem.param))];
}
