/** ParamType is the YAML type a parameter accepts; the frontend checks it before `validate`. */
export type ParamType =
  | 'string' // any YAML scalar, taken as its source text (so `mode: 0644` stays "0644")
  | 'bool'
  | 'int' // a whole number, negative allowed
  | 'uint' // a whole number >= 0
  | 'number' // any number, `.inf` allowed
  | 'stringList' // a sequence of scalars
  | 'stringMap'; // a mapping of scalar keys to scalar values

/** ParamValues maps each ParamType to the TypeScript type of its values. */
export interface ParamValues {
  readonly string: string;
  readonly bool: boolean;
  readonly int: number;
  readonly uint: number;
  readonly number: number;
  readonly stringList: readonly string[];
  readonly stringMap: Readonly<Record<string, string>>;
}

/** ParamDefault is a parameter's value before the input's: fixed, or computed from the resource name (a file's path). */
export type ParamDefault<V> = V | ((name: string) => V);

interface ParamBase<T extends ParamType> {
  readonly type: T;
  /** One line saying what the parameter does. */
  readonly doc: string;
}

/** ParamSpecOf describes one parameter of type T: with a default, optional (unset = undefined), or a dead upstream key. */
export type ParamSpecOf<T extends ParamType> =
  | (ParamBase<T> & { readonly default: ParamDefault<ParamValues[T]>; readonly optional?: undefined; readonly deprecated?: undefined })
  | (ParamBase<T> & { readonly optional: true; readonly default?: undefined; readonly deprecated?: undefined })
  // Dead upstream keys are accepted with a warning that they have no effect; they have no value.
  | (ParamBase<T> & { readonly deprecated: string; readonly default?: undefined; readonly optional?: undefined });

/** ParamSpec describes one parameter of a resource kind. */
export type ParamSpec = { [T in ParamType]: ParamSpecOf<T> }[ParamType];

/**
 * ParamInfo is what readers of a kind's parameters see of one (the YAML frontend, the collector,
 * docs): a ParamSpec without its default, which only defaultsOf reads.
 */
export interface ParamInfo {
  readonly type: ParamType;
  readonly doc: string;
  readonly deprecated?: string | undefined;
}

/** ParamTable is a kind's parameters by YAML key: each declared once, with its type, doc line and default. */
export type ParamTable = Readonly<Record<string, ParamSpec>>;

type ValueOf<S> = S extends ParamBase<infer T> ? ParamValues[T] | (S extends { readonly optional: true } ? undefined : never) : never;

/** ParamsOf is the parameters' TypeScript type a ParamTable declares (dead upstream keys have none). */
export type ParamsOf<T extends ParamTable> = {
  readonly [K in keyof T as T[K] extends { readonly deprecated: string } ? never : K]: ValueOf<T[K]>;
};

/** paramTable returns its argument, typed exactly, so ParamsOf can derive a kind's parameter type from it. */
export function paramTable<const T extends ParamTable>(table: T): T {
  return table;
}

/** defaultsOf returns the `defaults(name)` of a kind whose parameters `table` declares. */
export function defaultsOf<T extends ParamTable>(table: T): (name: string) => ParamsOf<T> {
  // Defaults run once per resource, thousands of times per compile: a copy of the fixed values
  // (every key, in table order) with the name's own filled in costs little more than a literal.
  const fixed: Record<string, unknown> = {};
  const byName: Array<[string, (name: string) => unknown]> = [];
  for (const [key, spec] of Object.entries(table)) {
    if (spec.deprecated !== undefined) continue;
    fixed[key] = spec.default;
    if (typeof spec.default === 'function') byName.push([key, spec.default]);
  }
  return (name) => {
    const out: Record<string, unknown> = { ...fixed };
    // Indexed, not `for (const [key, compute] of ...)`: before V8 optimizes this, each step of
    // that made an iterator result and unpacked the pair through another iterator.
    for (let i = 0; i < byName.length; i++) out[byName[i]![0]] = byName[i]![1](name);
    return out as ParamsOf<T>;
  };
}

/** ParamProblem is one reason a set of parameters is invalid. */
export interface ParamProblem {
  readonly param: string;
  readonly reason: string;
}
