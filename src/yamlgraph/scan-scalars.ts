import type { ScanSource } from './scan-source.js';

// The scalar readers of the block scanner (scan-block.ts). Each follows js-yaml's loader
// (lib/loader.js, the function of the same name) on the one-line forms it accepts, so that it
// yields the very string js-yaml would, and declines everything else (a quoted scalar that goes
// on to the next line, an unknown escape, an explicit indentation indicator). suspectChars has
// already refused control characters, tabs and the like.

/** ScanDeclined is thrown, as one shared instance, when the scanner will not vouch for its reading. */
export class ScanDeclined {}

const DECLINED_SIGNAL = new ScanDeclined();

/** decline stops the scan: the file is read the old way. */
export function decline(): never {
  throw DECLINED_SIGNAL;
}

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;

/** isBreakOrEnd says whether a code unit ends a line: a line break, or NaN past the source's end. */
export function isBreakOrEnd(code: number): boolean {
  return code === LF || code === CR || code !== code;
}

/** ESCAPES maps the character after a backslash to what js-yaml puts for it (its simpleEscapeSequence). */
const ESCAPES: readonly (string | undefined)[] = (() => {
  const table: (string | undefined)[] = [];
  const pairs: [string, string][] = [
    ['0', '\x00'], ['a', '\x07'], ['b', '\x08'], ['t', '\x09'], ['\t', '\x09'], ['n', '\x0A'], ['v', '\x0B'],
    ['f', '\x0C'], ['r', '\x0D'], ['e', '\x1B'], [' ', ' '], ['"', '"'], ['/', '/'], ['\\', '\\'],
    ['N', '\x85'], ['_', '\xA0'], ['L', '\u2028'], ['P', '\u2029'],
  ];
  for (const [escape, value] of pairs) table[escape.charCodeAt(0)] = value;
  return table;
})();

/** readDoubleQuoted reads a double-quoted scalar that ends on its line; the cursor is at its `"`. */
export function readDoubleQuoted(s: ScanSource): string {
  const src = s.src;
  let at = s.pos + 1;
  const lineEnd = s.newline.after(at);
  // The text before the first escape and the escape, then the pieces after it: most scalars have
  // no escape or one (a final "\n"), which need no array.
  let head = '';
  let pieces: string[] | undefined;
  for (;;) {
    const quote = s.doubleQuote.after(at);
    const backslash = s.backslash.after(at);
    if (backslash < quote && backslash < lineEnd) {
      const code = src.charCodeAt(backslash + 1);
      const piece = src.slice(at, backslash) + escaped(src, backslash + 1, code);
      if (at === s.pos + 1) head = piece;
      else (pieces ??= []).push(piece);
      at = backslash + 1 + escapeLength(code);
      continue;
    }
    // A quote after the line break: the scalar goes on to the next line.
    if (quote >= lineEnd) decline();
    s.pos = quote + 1;
    return head + joined(pieces, src.slice(at, quote));
  }
}

/**
 * joined is the pieces and then the last one as one string. Pieces are joined once, not added one
 * by one: a million escapes made a rope whose build took 10 times longer for 4 times the text.
 */
function joined(pieces: string[] | undefined, last: string): string {
  if (pieces === undefined) return last;
  pieces.push(last);
  return pieces.join('');
}

/** escapeLength is how many characters an escape starting with `code` takes after its backslash. */
function escapeLength(code: number): number {
  if (code === 0x78) return 3;
  if (code === 0x75) return 5;
  if (code === 0x55) return 9;
  return 1;
}

/** escaped is the text of the escape whose first character, `code`, is at `at`, computed as js-yaml computes it. */
function escaped(src: string, at: number, code: number): string {
  const simple = code < 256 ? ESCAPES[code] : undefined;
  if (simple !== undefined) return simple;
  const digits = escapeLength(code) - 1;
  // An unknown escape, or a backslash at the line's end (the scalar goes on): js-yaml's business.
  if (digits === 0) decline();
  let value = 0;
  for (let i = 1; i <= digits; i++) {
    const digit = fromHexCode(src.charCodeAt(at + i));
    if (digit < 0) decline();
    // The same 32-bit arithmetic as js-yaml, so an out-of-range \U gives what it gives.
    value = (value << 4) + digit;
  }
  return charFromCodepoint(value);
}

function fromHexCode(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

function charFromCodepoint(code: number): string {
  if (code <= 0xffff) return String.fromCharCode(code);
  return String.fromCharCode(((code - 0x010000) >> 10) + 0xd800, ((code - 0x010000) & 0x03ff) + 0xdc00);
}

/** readSingleQuoted reads a single-quoted scalar that ends on its line; the cursor is at its `'`. */
export function readSingleQuoted(s: ScanSource): string {
  const start = s.pos + 1;
  // The scalar ends at the first quote that is not doubled: a doubled quote stands for one.
  let quote = s.singleQuote.after(start);
  while (s.src.charCodeAt(quote + 1) === 0x27) quote = s.singleQuote.after(quote + 2);
  if (quote >= s.newline.after(start)) decline();
  s.pos = quote + 1;
  // Between the quotes there are only other characters and doubled quotes.
  const text = s.src.slice(start, quote);
  return text.includes("''") ? text.replaceAll("''", "'") : text;
}

/** PLAIN_START_REFUSED marks the characters a plain scalar may not start with (js-yaml's readPlainScalar), plus `:`. */
const PLAIN_START_REFUSED = new Uint8Array(128);
for (const char of ' \t\r\n\0,[]{}#&*!|>\'"%@`:') PLAIN_START_REFUSED[char.charCodeAt(0)] = 1;

/** FLOW_INDICATOR marks `,[]{}`. */
const FLOW_INDICATOR = new Uint8Array(128);
for (const char of ',[]{}') FLOW_INDICATOR[char.charCodeAt(0)] = 1;

function isFlowIndicator(code: number): boolean {
  return code < 128 && FLOW_INDICATOR[code] === 1;
}

/** isSpaceOrBreak is js-yaml's isWsOrEol without the tab, which suspectChars refused, and true past the end. */
function isSpaceOrBreak(code: number): boolean {
  return code === SPACE || isBreakOrEnd(code);
}

/** canStartPlain says whether a plain scalar may start at `at`: js-yaml's test, and no `:`, which it leaves to its gate. */
export function canStartPlain(src: string, at: number, inFlow: boolean): boolean {
  const code = src.charCodeAt(at);
  if (code !== code || (code < 128 && PLAIN_START_REFUSED[code] === 1)) return false;
  if (code === 0x3f || code === 0x2d) {
    const next = src.charCodeAt(at + 1);
    if (isSpaceOrBreak(next) || (inFlow && isFlowIndicator(next))) return false;
  }
  return true;
}

/**
 * plainEnd finds where a one-line plain scalar in block context that starts at `at` stops (js-yaml's
 * readPlainScalar loop): at `: ` or a `:` ending the line, at ` #`, or at the line's end. The
 * cursor moves to that stop; the scalar is the text up to the returned end, without trailing spaces.
 */
export function plainEnd(s: ScanSource, at: number): number {
  const src = s.src;
  let stop = s.lineEnd(at);
  for (let colon = s.colon.after(at); colon < stop; colon = s.colon.after(colon + 1)) {
    if (isSpaceOrBreak(src.charCodeAt(colon + 1))) {
      stop = colon;
      break;
    }
  }
  for (let hash = s.hash.after(at); hash < stop; hash = s.hash.after(hash + 1)) {
    if (src.charCodeAt(hash - 1) === SPACE) {
      stop = hash;
      break;
    }
  }
  s.pos = stop;
  return trimEnd(src, at, stop);
}

/**
 * flowPlainEnd is plainEnd inside a flow collection, where a plain scalar also stops at `,[]{}` and
 * at a `:` before one of them. Flow scalars are short: it walks them character by character.
 */
export function flowPlainEnd(s: ScanSource, at: number): number {
  const src = s.src;
  let stop = at;
  for (;;) {
    const code = src.charCodeAt(stop);
    if (isBreakOrEnd(code) || isFlowIndicator(code)) break;
    if (code === 0x3a) {
      const next = src.charCodeAt(stop + 1);
      if (isSpaceOrBreak(next) || isFlowIndicator(next)) break;
    } else if (code === 0x23 && src.charCodeAt(stop - 1) === SPACE) {
      break;
    }
    stop++;
  }
  s.pos = stop;
  return trimEnd(src, at, stop);
}

/** trimEnd is `stop` moved back over the spaces before it, but not before `at`. */
function trimEnd(src: string, at: number, stop: number): number {
  while (stop > at && src.charCodeAt(stop - 1) === SPACE) stop--;
  return stop;
}

/** badLineStart says whether a line whose first non-space is at `at` starts as the fast gate refuses: with `:`, `]` or `}`. */
export function badLineStart(src: string, at: number): boolean {
  const code = src.charCodeAt(at);
  return code === 0x3a || code === 0x5d || code === 0x7d;
}

const CLIP = 1;
const STRIP = 2;
const KEEP = 3;

/**
 * readBlockScalar reads a `|` or `>` block scalar whose content is indented at least `nodeIndent`
 * (js-yaml's readBlockScalar with the same chomping and folding), the cursor at its indicator. It
 * leaves the cursor at the start of the first line that is not its content.
 */
export function readBlockScalar(s: ScanSource, nodeIndent: number): string {
  const src = s.src;
  let at = s.pos;
  const folding = src.charCodeAt(at) === 0x3e;
  let chomping = CLIP;
  let code = src.charCodeAt(++at);
  if (code === 0x2b || code === 0x2d) {
    chomping = code === 0x2b ? KEEP : STRIP;
    code = src.charCodeAt(++at);
  }
  // An indentation digit, a second chomping sign or anything but a comment after the header: declined.
  if (code === SPACE) {
    while (code === SPACE) code = src.charCodeAt(++at);
    if (code === 0x23) {
      at = s.lineEnd(at);
      code = src.charCodeAt(at);
    }
  }
  if (code !== LF && code !== CR) decline();

  const pieces: string[] = [];
  let didReadContent = false;
  let detectedIndent = false;
  let textIndent = nodeIndent;
  let emptyLines = 0;
  let atMoreIndented = false;
  let lineStart = at;
  for (;;) {
    // The line break: "\r\n" or "\n" (suspectChars refused a lone "\r").
    at += code === CR ? 2 : 1;
    lineStart = at;
    let lineIndent = 0;
    code = src.charCodeAt(at);
    while ((!detectedIndent || lineIndent < textIndent) && code === SPACE) {
      lineIndent++;
      code = src.charCodeAt(++at);
    }
    if (!detectedIndent && lineIndent > textIndent) textIndent = lineIndent;
    if (code === LF || code === CR) {
      emptyLines++;
      continue;
    }
    // The end of the source (js-yaml's "\0") ends the scalar like a line indented less.
    if (lineIndent < textIndent || code !== code) {
      if (chomping === KEEP) pieces.push('\n'.repeat(didReadContent ? 1 + emptyLines : emptyLines));
      else if (chomping === CLIP && didReadContent) pieces.push('\n');
      break;
    }
    let first = at;
    while (src.charCodeAt(first) === SPACE) first++;
    if (badLineStart(src, first)) decline();
    if (folding) {
      if (code === SPACE) {
        atMoreIndented = true;
        pieces.push('\n'.repeat(didReadContent ? 1 + emptyLines : emptyLines));
      } else if (atMoreIndented) {
        atMoreIndented = false;
        pieces.push('\n'.repeat(emptyLines + 1));
      } else if (emptyLines === 0) {
        if (didReadContent) pieces.push(' ');
      } else {
        pieces.push('\n'.repeat(emptyLines));
      }
    } else {
      pieces.push('\n'.repeat(didReadContent ? 1 + emptyLines : emptyLines));
    }
    didReadContent = true;
    detectedIndent = true;
    emptyLines = 0;
    const end = s.lineEnd(at);
    pieces.push(src.slice(at, end));
    at = end;
    code = src.charCodeAt(at);
  }
  s.pos = lineStart;
  return pieces.join('');
}
