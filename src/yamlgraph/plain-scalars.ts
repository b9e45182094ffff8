import { Document, isScalar, type ScalarTag } from 'yaml';

// The exact path gets a plain (unquoted) scalar's meaning from the `yaml` package's YAML 1.1
// schema; the fast path must give the same answer, so it asks the very same tag objects, picked
// the way the `yaml` composer picks them (the first default tag whose test matches, else a string).

/** The schema and options `parseAllDocuments(text, {version: '1.1'})` composes with. */
const YAML_11 = new Document(null, { version: '1.1' });

/** The scalar tags the composer tries on a plain scalar, in its order; the string tag has no test and is the fallback. */
const IMPLICIT_TAGS: readonly ScalarTag[] = YAML_11.schema.tags.filter(
  (tag): tag is ScalarTag => tag.default === true && tag.test instanceof RegExp,
);

/**
 * ANY_IMPLICIT matches exactly the texts that some implicit tag's test matches, in one pass
 * instead of a dozen: most scalars (names, paths) match none. It is only built when every test
 * is anchored at the start and has no flags, which makes "anchored at 0" lose nothing.
 */
const ANY_IMPLICIT: RegExp | undefined = IMPLICIT_TAGS.every((tag) => tag.test!.source.startsWith('^') && tag.test!.flags === '')
  ? new RegExp(`^(?:${IMPLICIT_TAGS.map((tag) => `(?:${tag.test!.source})`).join('|')})`)
  : undefined;

/** Resolved is a plain scalar's YAML 1.1 value, or `unresolvable` when the tag's resolver reports a problem. */
export type Resolved = { readonly value: unknown } | 'unresolvable';

/** isPlainString says whether YAML 1.1 reads a plain scalar with this text as the string itself (`/tmp/x`, `hello`). */
export function isPlainString(text: string): boolean {
  return ANY_IMPLICIT !== undefined ? !ANY_IMPLICIT.test(text) : !IMPLICIT_TAGS.some((tag) => tag.test!.test(text));
}

/**
 * resolvePlain gives the value a plain scalar with this (already folded) text has under YAML 1.1,
 * exactly as the `yaml` package composes it: `yes` → true, `0644` → 420, `~` and `` → null,
 * `.inf` → Infinity, `2001-12-14` → a Date, anything else → the text itself.
 */
export function resolvePlain(text: string): Resolved {
  const tag = isPlainString(text) ? undefined : IMPLICIT_TAGS.find((candidate) => candidate.test!.test(text));
  if (!tag) return { value: text };
  let failed = false;
  try {
    const resolved: unknown = tag.resolve(text, () => (failed = true), YAML_11.options);
    if (failed) return 'unresolvable';
    return { value: isScalar(resolved) ? resolved.value : resolved };
  } catch {
    return 'unresolvable';
  }
}
