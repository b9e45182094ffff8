import { FAST_MAX_DEPTH, FastPathDeclined, plainScalar, type FastNode } from './fast-tree.js';
import { leadingDocumentStart, suspectChars } from './scan-chars.js';
import {
  badLineStart,
  canStartPlain,
  decline,
  flowPlainEnd,
  isBreakOrEnd,
  plainEnd,
  readBlockScalar,
  readDoubleQuoted,
  readSingleQuoted,
  ScanDeclined,
} from './scan-scalars.js';
import { ScanSource } from './scan-source.js';

// Graph files are block maps and lists laid out by indentation, with plain or quoted scalars on
// one line, some `|` blocks and small one-line `{...}`/`[...]` collections. This scanner reads
// exactly that shape in one pass and builds what loadFast (js-yaml) builds from it: the same
// objects with the same keys in the same order, plain scalars through the same plainScalar.
// Whatever else it meets (an anchor, a tag, a scalar or collection that goes on to the next line,
// a duplicate key, an odd indentation, anything suspectChars flags) it declines rather than
// guess, and the file is read the old way, so what is reported about it does not change.

/** SCAN_MAX_DEPTH bounds the scanner's nesting well inside js-yaml's FAST_MAX_DEPTH, which counts more levels per collection. */
const SCAN_MAX_DEPTH = FAST_MAX_DEPTH / 2;

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const COLON = 0x3a;
const HASH = 0x23;
const DASH = 0x2d;
const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;

/**
 * scanBlock reads a graph file's text into the FastNode tree loadFast would give, or returns
 * undefined when the text holds anything it does not vouch for (then read it with the fast gate
 * and loadFast, as before). It runs in time linear in the text and nests at most SCAN_MAX_DEPTH.
 */
export function scanBlock(text: string): FastNode | undefined {
  if (suspectChars(text)) return undefined;
  const last = text.charCodeAt(text.length - 1);
  // js-yaml adds a final line break when there is none.
  const src = last === LF || last === CR ? text : `${text}\n`;
  try {
    return new BlockScanner(src).document(leadingDocumentStart(text));
  } catch (err) {
    if (err instanceof ScanDeclined || err instanceof FastPathDeclined) return undefined;
    throw err;
  }
}

/** setProperty stores a pair as js-yaml does: an own `__proto__` property, never the prototype. */
function setProperty(map: Record<string, FastNode>, key: string, value: FastNode): void {
  if (key === '__proto__') Object.defineProperty(map, key, { configurable: true, enumerable: true, writable: true, value });
  else map[key] = value;
}

/** KEY_MEMO_LIMIT bounds the memo of plain keys: a file has few distinct keys, used again and again. */
const KEY_MEMO_LIMIT = 4096;
const keyMemo = new Map<string, string>();

/** keyText is a plain key as js-yaml stores it, the String of its node (a null key is ""), remembered for the first KEY_MEMO_LIMIT keys. */
function keyText(text: string): string {
  let key = keyMemo.get(text);
  if (key === undefined) {
    key = String(plainScalar(text));
    if (keyMemo.size < KEY_MEMO_LIMIT) keyMemo.set(text, key);
  }
  return key;
}

/** BlockScanner walks one source; after each value the cursor stands on the next content line. */
class BlockScanner extends ScanSource {
  /** The indentation of the content line the cursor is on; -1 at the end of the source. */
  private indent = 0;
  private lineStart = 0;
  private depth = 0;
  /** The texts of recent plain keys and their keys, by the text's first character (see repeatedKey). */
  private readonly keyTexts: string[] = new Array<string>(64).fill('');
  private readonly keys: string[] = new Array<string>(64).fill('');

  /** document reads the root, which must be a block map starting in column 0. */
  document(start: number): FastNode {
    this.pos = start;
    this.nextContentLine();
    if (this.indent !== 0) decline();
    return this.blockMap(0, this.key());
  }

  /**
   * nextContentLine moves from a line's start past blank and comment lines to the first
   * non-space of the next other line. It checks the fast gate's patterns anchored at a line's
   * start: `%`, `---` or `...` in column 0, and `:`, `]` or `}` first.
   */
  private nextContentLine(): void {
    const src = this.src;
    let at = this.pos;
    for (;;) {
      const lineStart = at;
      let code = src.charCodeAt(at);
      while (code === SPACE) code = src.charCodeAt(++at);
      if (code === HASH) {
        at = this.lineEnd(at);
        code = src.charCodeAt(at);
      }
      if (code === LF) {
        at++;
      } else if (code === CR) {
        at += 2;
      } else {
        this.pos = at;
        this.lineStart = lineStart;
        if (code !== code) {
          this.indent = -1;
          return;
        }
        if (at === lineStart && (code === 0x25 || this.documentMarker(at))) decline();
        if (badLineStart(src, at)) decline();
        this.indent = at - lineStart;
        return;
      }
    }
  }

  /** documentMarker says whether `---` or `...` starts at `at`. */
  private documentMarker(at: number): boolean {
    const code = this.src.charCodeAt(at);
    return (code === DASH || code === 0x2e) && this.src.charCodeAt(at + 1) === code && this.src.charCodeAt(at + 2) === code;
  }

  /** endLine finishes a line after its value: spaces, maybe a comment, the line break; then finds the next content line. */
  private endLine(): void {
    const src = this.src;
    let at = this.pos;
    let code = src.charCodeAt(at);
    while (code === SPACE) code = src.charCodeAt(++at);
    if (code === HASH && src.charCodeAt(at - 1) === SPACE) {
      at = this.lineEnd(at);
      code = src.charCodeAt(at);
    }
    if (code === LF) at++;
    else if (code === CR) at += 2;
    else if (code === code) decline();
    this.pos = at;
    this.nextContentLine();
  }

  /** afterScalar ends the line of a one-line value; a next line indented past the value's collection would continue it or be an error. */
  private afterScalar(owner: number): void {
    this.endLine();
    if (this.indent > owner) decline();
  }

  private enter(): void {
    if (++this.depth > SCAN_MAX_DEPTH) decline();
  }

  /** atDash says whether the cursor is on a list item's `-`. */
  private atDash(): boolean {
    return this.src.charCodeAt(this.pos) === DASH && isSpaceOrEnd(this.src.charCodeAt(this.pos + 1));
  }

  /** blockMap reads the pairs of a map whose keys stand in column `indent`; the cursor is after the first key's `:`. */
  private blockMap(indent: number, first: string): FastNode {
    this.enter();
    const out: Record<string, FastNode> = {};
    let key = first;
    for (;;) {
      if (Object.hasOwn(out, key)) decline();
      setProperty(out, key, this.value(indent, true));
      if (this.indent !== indent) break;
      key = this.key();
    }
    if (this.indent > indent) decline();
    this.depth--;
    return out;
  }

  /** blockSeq reads the items of a list whose dashes stand in column `indent`, the cursor on the first dash. */
  private blockSeq(indent: number): FastNode {
    this.enter();
    const out: FastNode[] = [];
    do {
      this.pos++;
      const item = this.value(indent, false);
      // After an empty item js-yaml takes a dash indented less as this list's next item.
      if (item === null && this.indent < indent && this.atDash()) decline();
      out.push(item);
    } while (this.indent === indent && this.atDash());
    if (this.indent > indent) decline();
    this.depth--;
    return out;
  }

  /** key reads a block map's key and its `:`. */
  private key(): string {
    const src = this.src;
    const code = src.charCodeAt(this.pos);
    if (code === DOUBLE_QUOTE || code === SINGLE_QUOTE) return this.keyColon(this.quoted(code));
    if (!canStartPlain(src, this.pos, false)) decline();
    const start = this.pos;
    return this.repeatedKey(start) ?? this.keyColon(this.plainKey(src.slice(start, plainEnd(this, start))));
  }

  /**
   * repeatedKey is the plain key at `start` when its text is that of the last plain key with the
   * same first character and a `:` and a space or the line's end follow it; the cursor then moves
   * past the `:`. plainEnd would stop at that same `:`: the text held no stop when it was read. A
   * graph repeats a few keys thousands of times, and matching them in place spares a slice and a
   * lookup each (the 10,000-file graph: 0.8x the CPU of a warm scan, 0.97x of the first, cold one).
   */
  private repeatedKey(start: number): string | undefined {
    const src = this.src;
    const slot = src.charCodeAt(start) & 63;
    const text = this.keyTexts[slot]!;
    const end = start + text.length;
    if (text === '' || src.charCodeAt(end) !== COLON || !isSpaceOrEnd(src.charCodeAt(end + 1)) || !src.startsWith(text, start)) return undefined;
    this.pos = end + 1;
    return this.keys[slot];
  }

  /** plainKey is keyText of a plain key's text, remembered for repeatedKey. */
  private plainKey(text: string): string {
    const key = keyText(text);
    const slot = text.charCodeAt(0) & 63;
    this.keyTexts[slot] = text;
    this.keys[slot] = key;
    return key;
  }

  /** keyColon moves past the `:` after a key, which a space or the line's end must follow, and returns the key. */
  private keyColon(key: string): string {
    const src = this.src;
    let code = src.charCodeAt(this.pos);
    while (code === SPACE) code = src.charCodeAt(++this.pos);
    if (code !== COLON || !isSpaceOrEnd(src.charCodeAt(++this.pos))) decline();
    return key;
  }

  private quoted(code: number): string {
    return code === DOUBLE_QUOTE ? readDoubleQuoted(this) : readSingleQuoted(this);
  }

  /**
   * value reads what follows a map key's `:` or a list item's `-` in a collection at column
   * `owner`, and leaves the cursor on the next content line. A list item may be a map whose first
   * key is on the dash's line (`- name: x`).
   */
  private value(owner: number, inMap: boolean): FastNode {
    const src = this.src;
    let code = src.charCodeAt(this.pos);
    while (code === SPACE) code = src.charCodeAt(++this.pos);
    const start = this.pos;
    let node: FastNode;
    if (code === HASH || isBreakOrEnd(code)) {
      this.endLine();
      return this.nested(owner, inMap);
    } else if (code === 0x7c || code === 0x3e) {
      node = readBlockScalar(this, owner + 1);
      this.nextContentLine();
      if (this.indent > owner) decline();
      return node;
    } else if (code === 0x5b || code === 0x7b) {
      node = this.flow();
    } else if (code === DOUBLE_QUOTE || code === SINGLE_QUOTE) {
      const text = this.quoted(code);
      if (!inMap && this.colonAhead()) return this.blockMap(start - this.lineStart, this.keyColon(text));
      node = text;
    } else {
      if (!canStartPlain(src, start, false)) decline();
      const repeated = inMap ? undefined : this.repeatedKey(start);
      if (repeated !== undefined) return this.blockMap(start - this.lineStart, repeated);
      const text = src.slice(start, plainEnd(this, start));
      // plainEnd stops at a `:` only before a space or the line's end: this is a key.
      if (!inMap && src.charCodeAt(this.pos) === COLON) return this.blockMap(start - this.lineStart, this.keyColon(this.plainKey(text)));
      node = plainScalar(text);
    }
    this.afterScalar(owner);
    return node;
  }

  /** colonAhead says whether a `:` follows the cursor after any spaces. */
  private colonAhead(): boolean {
    let at = this.pos;
    while (this.src.charCodeAt(at) === SPACE) at++;
    return this.src.charCodeAt(at) === COLON;
  }

  /**
   * nested reads a value that starts on a later line: a collection indented past `owner`, a list
   * in the owner's own column when the owner is a map, else nothing (null). A scalar alone on the
   * next line is declined.
   */
  private nested(owner: number, inMap: boolean): FastNode {
    const indent = this.indent;
    if (indent > owner) return this.atDash() ? this.blockSeq(indent) : this.blockMap(indent, this.key());
    if (inMap && indent === owner && this.atDash()) return this.blockSeq(indent);
    return null;
  }

  /** skipSpaces moves past spaces and returns the code unit it stops at. */
  private skipSpaces(): number {
    const src = this.src;
    let code = src.charCodeAt(this.pos);
    while (code === SPACE) code = src.charCodeAt(++this.pos);
    return code;
  }

  /** flow reads a `[...]` or `{...}` collection that closes on its line, the cursor on its bracket. */
  private flow(): FastNode {
    this.enter();
    const isMap = this.src.charCodeAt(this.pos) === 0x7b;
    this.pos++;
    const node = isMap ? this.flowMap() : this.flowSeq();
    this.depth--;
    return node;
  }

  /** flowMap reads the pairs of a `{...}` after its brace, each with a key, a `:` and a value. */
  private flowMap(): FastNode {
    const out: Record<string, FastNode> = {};
    let code = this.skipSpaces();
    while (code !== 0x7d) {
      const key = this.flowKey(code);
      if (this.skipSpaces() !== COLON) decline();
      this.pos++;
      code = this.skipSpaces();
      if (code === 0x2c || code === 0x7d) decline();
      const value = this.flowValue(code);
      if (Object.hasOwn(out, key)) decline();
      setProperty(out, key, value);
      code = this.flowNext(0x7d);
    }
    this.pos++;
    return out;
  }

  /** flowSeq reads the items of a `[...]` after its bracket; an item that is a pair is declined. */
  private flowSeq(): FastNode {
    const out: FastNode[] = [];
    let code = this.skipSpaces();
    while (code !== 0x5d) {
      if (code === 0x2c) decline();
      out.push(this.flowValue(code));
      if (this.skipSpaces() === COLON) decline();
      code = this.flowNext(0x5d);
    }
    this.pos++;
    return out;
  }

  /** flowNext moves past the `,` after an entry and returns the code unit after it, or the closing one. */
  private flowNext(close: number): number {
    const code = this.skipSpaces();
    if (code === close) return code;
    if (code !== 0x2c) decline();
    this.pos++;
    return this.skipSpaces();
  }

  /** flowValue reads an item or value inside a flow collection, starting with `code`. */
  private flowValue(code: number): FastNode {
    if (code === DOUBLE_QUOTE || code === SINGLE_QUOTE) return this.quoted(code);
    if (code === 0x5b || code === 0x7b) return this.flow();
    return plainScalar(this.flowPlain());
  }

  /** flowKey reads a key inside a flow map, starting with `code`: quoted or plain, never a collection. */
  private flowKey(code: number): string {
    if (code === DOUBLE_QUOTE || code === SINGLE_QUOTE) return this.quoted(code);
    return keyText(this.flowPlain());
  }

  /** flowPlain reads the text of a plain scalar inside a flow collection. */
  private flowPlain(): string {
    const start = this.pos;
    if (!canStartPlain(this.src, start, true)) decline();
    return this.src.slice(start, flowPlainEnd(this, start));
  }
}

/** isSpaceOrEnd says whether a code unit may follow a key's `:` or a list's `-`: a space, a line break or the end. */
function isSpaceOrEnd(code: number): boolean {
  return code === SPACE || isBreakOrEnd(code);
}
