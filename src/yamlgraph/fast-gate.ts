// The fast path (js-yaml) agrees with the exact path (the `yaml` package) on the plain YAML graph
// files are made of, but not on every corner of YAML. This gate sends a file down the exact path
// when its text contains anything from such a corner, or merely looks as if it might: it scans
// characters, not YAML, so a false alarm (a `*` inside a quoted string) only costs speed.
// Each pattern is linear: no nested quantifiers that could backtrack on hostile text.

/** OBSTACLES are the constructs the fast path leaves to the exact path, each with why. */
const OBSTACLES: readonly (readonly [RegExp, string])[] = [
  // Anchors, aliases and tags start a node: after a line start, a space, a flow indicator or `:`.
  [/(?:^|[\s[\]{},:])[&*!]/m, 'an anchor, alias or tag'],
  [/<</, 'a merge key'],
  [/^%/m, 'a directive'],
  // A leading `---` line is allowed (most upstream examples start with one); see fastPathObstacle.
  [/^(?:---|\.\.\.)/m, 'a document marker'],
  // js-yaml turns a list or map used as a key into a string; `yaml` reports it.
  [/(?:^|[\s[{,])\?(?:[ \t\r\n]|$)/m, 'an explicit key `?`'],
  [/[\]}][ \t\r\n]*:/, 'a flow collection used as a key'],
  [/^[ \t]*:/m, 'a line starting with `:`'],
  // js-yaml reads an empty key as "null"; FastTree also declines any key "null".
  [/[{,][ \t\r\n]*:/, 'an empty key in a flow map'],
  // `yaml` warns when a multi-line flow collection closes at its parent's indentation.
  [/^[ \t]*[\]}]/m, 'a line starting with `]` or `}`'],
  // `yaml` wants a space before a comment; js-yaml takes `"a"#c` and `[a]#c` as a value and a comment.
  [/["'\]},]#/, 'a `#` right after a quote, bracket or comma'],
  // In a double-quoted string, the two disagree on an escaped line break followed by an empty line.
  [/\\ *\r?\n *\r?\n/, 'a backslash at the end of a line before an empty one'],
  // A keep (`|+`) block scalar at the very end counts a last line of spaces differently.
  [/\n +$/, 'a last line of only spaces'],
  // The two parsers differ on where tabs may separate and indent, and on a lone CR.
  [/\t/, 'a tab'],
  [/\r(?!\n)/, 'a carriage return without a line feed'],
];

/** LEADING_DOCUMENT_START is a bare `---` on the first line, which starts the one document. */
const LEADING_DOCUMENT_START = /^---[ \t]*\r?\n/;

/**
 * fastPathObstacle names the first construct in `text` that only the exact path reads faithfully
 * (an anchor, a tag, a merge key, a second document...), or returns undefined when the fast path
 * may try the file. Trying is still not accepting: the fast path also gives up on any parse error
 * and any diagnostic.
 */
export function fastPathObstacle(text: string): string | undefined {
  const body = text.replace(LEADING_DOCUMENT_START, '');
  for (const [pattern, what] of OBSTACLES) {
    if (pattern.test(body)) return what;
  }
  return undefined;
}
