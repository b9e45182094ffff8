// The block scanner (scan-block.ts) stands in for the fast gate and js-yaml together, so it must
// never read a file the gate would send to the exact path. This pass checks the gate's character
// patterns (fast-gate.ts), erring on the side of "suspect": a false alarm only sends the file
// down the old path. The gate's patterns anchored at a line's start are checked by the scanner,
// which sees every line start (badLineStart). This pass also refuses every character js-yaml would
// reject or treat specially (controls, the tab, NEL, line separators, a BOM, unpaired
// surrogates), so the scanner never has to look for them. It finds each indicator with
// String.indexOf: ~2.5 ms over the 10,000-resource bench graph, where the gate's 14 regular
// expressions take ~10.5 ms.

/** NON_TEXT matches a character js-yaml refuses or reads specially, and the gate's tab. */
// eslint-disable-next-line no-control-regex
const NON_TEXT = /[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]/;
const LONE_CR = /\r(?!\n)/;
const SURROGATE = /[\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const COLON = 0x3a;

/** nodePropertyBefore matches the gate's `(?:^|[\s[\]{},:])` before `&`, `*`, `!` or `?` (any `?` so placed is suspect here). */
function nodePropertyBefore(text: string, at: number): boolean {
  const before = at === 0 ? LF : text.charCodeAt(at - 1);
  return before <= SPACE || before >= 0x7f || '[]{},:'.includes(text[at - 1]!);
}

/** colonAfterSpace matches the gate's `[ \t\r\n]*:` after a bracket, brace or comma. */
function colonAfterSpace(text: string, at: number): boolean {
  for (at++; ; at++) {
    const code = text.charCodeAt(at);
    if (code === COLON) return true;
    if (code !== SPACE && code !== LF && code !== CR && code !== 0x09) return false;
  }
}

/** backslashBeforeEmptyLine matches the gate's `\\ *\r?\n *\r?\n`. */
function backslashBeforeEmptyLine(text: string, at: number): boolean {
  at++;
  for (let breaks = 0; breaks < 2; breaks++) {
    while (text.charCodeAt(at) === SPACE) at++;
    if (text.charCodeAt(at) === CR) at++;
    if (text.charCodeAt(at) !== LF) return false;
    at++;
  }
  return true;
}

/**
 * INDICATORS are the characters of the gate's unanchored patterns, each with the test of its
 * surroundings. Every test looks at a bounded neighbourhood or walks whitespace that follows the
 * character, which no other occurrence walks: the whole pass stays linear.
 */
const INDICATORS: readonly (readonly [string, (text: string, at: number) => boolean])[] = [
  ['&', nodePropertyBefore],
  ['*', nodePropertyBefore],
  ['!', nodePropertyBefore],
  ['?', nodePropertyBefore],
  ['<', (text, at) => text.charCodeAt(at + 1) === 0x3c],
  [']', colonAfterSpace],
  ['}', colonAfterSpace],
  ['{', colonAfterSpace],
  [',', colonAfterSpace],
  ['#', (text, at) => at > 0 && '"\']},'.includes(text[at - 1]!)],
  ['\\', backslashBeforeEmptyLine],
];

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
  if (NON_TEXT.test(text)) return true;
  if (text.includes('\r') && LONE_CR.test(text)) return true;
  if (SURROGATE.test(text) && LONE_SURROGATE.test(text)) return true;
  for (const [char, suspect] of INDICATORS) {
    for (let at = text.indexOf(char); at >= 0; at = text.indexOf(char, at + 1)) {
      if (suspect(text, at)) return true;
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
