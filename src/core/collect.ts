/**
 * COLLECT_ALLOWANCES are what a collect entry's `allow` may lift, each a privilege another host's
 * export does not get by default: `anypath` keeps a collected file's own path (no `pattern`),
 * `source` lets it copy a file of this host, `setuid` lets its mode set set-uid/set-gid bits,
 * `owner` lets it set `owner`/`group`, `exec` lets collected commands run here, and `accounts` lets
 * collected users and groups be created or removed here.
 */
export const COLLECT_ALLOWANCES = ['anypath', 'source', 'setuid', 'owner', 'exec', 'accounts'] as const;

/** CollectAllowance is one privilege a collect entry grants the resources it collects. */
export type CollectAllowance = (typeof COLLECT_ALLOWANCES)[number];

/** PrivilegeUse is one field of a collected resource that needs an allowance. */
export interface PrivilegeUse {
  /** The parameter that asks for it. */
  readonly field: string;
  /** The allowance that would let it through. */
  readonly allowance: CollectAllowance;
  /** What it would do, for the `collect` event. */
  readonly reason: string;
}

/** Rehomed is a collected resource's parameters placed under its collect entry's pattern, or why it cannot be. */
export type Rehomed<P> = { readonly params: P } | { readonly refused: string; readonly field: string };

/**
 * RehomeRule places a collected resource of a kind that writes somewhere (a file) under its collect
 * entry's `pattern`, so another host's export cannot choose where on this host it lands. Without a
 * pattern a resource keeps its own place only with `allow: [anypath]`.
 */
export interface RehomeRule<P> {
  /** field is the parameter that says where a resource lands (a file's `path`), named in refusals. */
  readonly field: string;
  /** pattern says what a collect entry's `pattern` is for this kind, for messages ("the directory collected files land in"). */
  readonly pattern: string;
  /** patternProblems lists what is wrong with a pattern (a directory the kind itself would refuse). */
  patternProblems(pattern: string): string[];
  /** place returns the parameters re-homed under a non-empty `pattern`, or why they cannot be. */
  place(params: P, pattern: string): Rehomed<P>;
}

/**
 * Claim is what a resource holds alone on this host beside its id (a file's path): a collected
 * resource may not take one of this host's, and two exports that claim one differently are both
 * refused. `what` names it in messages.
 */
export interface Claim {
  readonly what: string;
  readonly key: string;
}

/**
 * CollectTrait says how another host's exported resource of this kind is held here: collected
 * resources are hostile input. A kind without it is collected as exported, needing no allowance.
 */
export interface CollectTrait<P> {
  /** allowances are those that concern this kind; any other in a collect entry of it has no effect. */
  readonly allowances: readonly CollectAllowance[];
  /** privileges lists the fields of a collected resource that need an allowance. */
  privileges?(params: P): PrivilegeUse[];
  /** rehome, when given, places collected resources under their entry's pattern. */
  readonly rehome?: RehomeRule<P>;
  /** claim names what a resource holds alone (checked for collected and own resources alike). */
  claim?(params: P): Claim | undefined;
}
