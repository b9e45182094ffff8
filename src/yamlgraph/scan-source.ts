// The block scanner finds the characters that end a scalar or a line with String.indexOf, which
// runs at native speed, instead of testing every character in JavaScript: a charCodeAt loop over
// the 1.7 MB bench graph takes ~3.5 ms warm and ~8 ms cold, the indexOf searches a tenth of that.

/** Occurrences finds the next place of one character at or after a position, remembering it, so a forward scan searches each stretch of text once. */
export class Occurrences {
  private from = 0;
  private next = -1;

  constructor(
    private readonly src: string,
    private readonly char: string,
  ) {}

  /** after is the first index >= at holding the character, or the source's length when none does. */
  after(at: number): number {
    if (at > this.next || at < this.from) {
      const found = this.src.indexOf(this.char, at);
      this.next = found < 0 ? this.src.length : found;
      this.from = at;
    }
    return this.next;
  }
}

/** ScanSource is the text being scanned (ending with a line break), the cursor, and the searches the readers share. */
export class ScanSource {
  /** pos is the cursor: the readers start here and leave it after what they read. */
  pos = 0;
  readonly length: number;
  readonly newline: Occurrences;
  readonly doubleQuote: Occurrences;
  readonly singleQuote: Occurrences;
  readonly backslash: Occurrences;
  readonly colon: Occurrences;
  readonly hash: Occurrences;

  constructor(readonly src: string) {
    this.length = src.length;
    this.newline = new Occurrences(src, '\n');
    this.doubleQuote = new Occurrences(src, '"');
    this.singleQuote = new Occurrences(src, "'");
    this.backslash = new Occurrences(src, '\\');
    this.colon = new Occurrences(src, ':');
    this.hash = new Occurrences(src, '#');
  }

  /** lineEnd is where the line holding `at` ends: its "\r\n" or "\n". */
  lineEnd(at: number): number {
    const newline = this.newline.after(at);
    return this.src.charCodeAt(newline - 1) === 0x0d && newline - 1 >= at ? newline - 1 : newline;
  }
}
