// The block scanner (scan-block.ts) stands in for the fast gate and js-yaml together, so it must
// never read a file the gate would send to the exact path. This pass checks the gate's character
// patterns (fast-gate.ts), erring on the side of "suspect": a false alarm only sends the file
// down the old path. The gate's patterns anchored at a line's start are checked by the scanner,
// which sees every line start (badLineStart). This pass also refuses every character js-yaml would
// reject or treat specially (controls, the tab, NEL, line separators, a BOM, unpaired
// surrogates), so the scanner never has to look for them. Three expressions and a few indexOf
// searches take ~3 ms over the 10,000-resource bench graph, where the gate's 14 expressions take
// ~10.5 ms.

/** NON_TEXT matches a character js-yaml refuses or reads specially, and the gate's tab. */
// eslint-disable-next-line no-control-regex
const NON_TEXT = /[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]/;
const LONE_CR = /\r(?!\n)/;
const SURROGATE = /[\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;

/** nodePropertyBefore matches the gate's `(?:^|[\s[\]{},:])` before `&`, `*`, `!` or `?` (any `?` so placed is suspect here). */
function nodePropertyBefore(text: string, at: number): boolean {
  const before = at === 0 ? LF : text.charCodeAt(at - 1);
  return before <= SPACE || before >= 0x7f || '[]{},:'.includes(text[at - 1]!);
}

/**
 * FOLLOWED is the gate's own patterns for what follows a character: a `:` after a bracket, brace
 * or comma and whitespace, a `#` right after a quote, bracket or comma, and a backslash ending a
 * line before an empty one. One expression scans the text once at native speed: looking at each
 * such character from JavaScript cost 14 ms on a 10,000-edge chain (`{`, `,` and `}` on every line).
 */
const FOLLOWED = /[\]}{,][ \t\r\n]*:|["'\]},]#|\\ *\r?\n *\r?\n/;

/** NODE_PROPERTIES are the characters the gate reads as an anchor, alias, tag or explicit key after a space or an indicator: rare in a graph. */
const NODE_PROPERTIES = ['&', '*', '!', '?'];

/** leadingDocumentStart is where text starts after the one `---` line the gate allows (the first, with only spaces after it), else 0. */
export function leadingDocumentStart(text: string): number {
  if (!text.startsWith('---')) return 0;
  let at = 3;
  while (text.charCodeAt(at) === SPACE) at++;
  if (text.charCodeAt(at) === CR) at++;
  return text.charCodeAt(at) === LF ? at + 1 : 0;
}

/**
 * suspectChars says whether text holds a character the fast gate might flag (outside a line's
 * start) or js-yaml might read specially; false means the block scanner may read it. It runs in
 * time linear in the text.
 */
export function suspectChars(text: string): boolean {
  if (NON_TEXT.test(text) || FOLLOWED.test(text) || text.includes('<<')) return true;
  if (text.includes('\r') && LONE_CR.test(text)) return true;
  if (SURROGATE.test(text) && LONE_SURROGATE.test(text)) return true;
  for (const char of NODE_PROPERTIES) {
    for (let at = text.indexOf(char); at >= 0; at = text.indexOf(char, at + 1)) {
      if (nodePropertyBefore(text, at)) return true;
    }
  }
  return endsWithSpaceLine(text);
}

/** endsWithSpaceLine matches the gate's `\n +$`: a last line of only spaces. */
function endsWithSpaceLine(text: string): boolean {
  let at = text.length;
  while (at > 0 && text.charCodeAt(at - 1) === SPACE) at--;
  return at < text.length && at > 0 && text.charCodeAt(at - 1) === LF;
}
