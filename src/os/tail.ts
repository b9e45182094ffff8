/** OUTPUT_TAIL_BYTES is how much of a process's stdout or stderr is kept by default: the end, where errors are. */
export const OUTPUT_TAIL_BYTES = 64 * 1024;

/**
 * OutputTail keeps the last `limit` bytes written to it, so a chatty process cannot exhaust memory
 * and an error message can still quote its final words; a limit of Infinity keeps everything.
 */
export class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit: number = OUTPUT_TAIL_BYTES) {}

  /** push appends a chunk, dropping the oldest bytes beyond the limit. */
  push(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.chunks.push(buf);
    this.size += buf.length;
    // Drop whole chunks first (cheap), then trim the head of the survivor.
    while (this.chunks.length > 1 && this.size - this.chunks[0]!.length >= this.limit) {
      this.size -= this.chunks.shift()!.length;
    }
    if (this.size > this.limit) {
      const joined = Buffer.concat(this.chunks).subarray(this.size - this.limit);
      this.chunks = [joined];
      this.size = joined.length;
    }
  }

  /** clear forgets everything kept so far (a restarted process starts a fresh tail). */
  clear(): void {
    this.chunks = [];
    this.size = 0;
  }

  /** toString decodes the kept bytes as UTF-8 (a character cut at the window's edge becomes U+FFFD). */
  toString(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  /** text returns the kept bytes as text without trailing blanks, starting at a line boundary when the head was cut. */
  text(): string {
    const text = this.toString();
    const cut = this.size >= this.limit ? text.indexOf('\n') : -1;
    return (cut >= 0 ? text.slice(cut + 1) : text).trimEnd();
  }
}
