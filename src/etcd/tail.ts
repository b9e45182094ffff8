/** OutputTail keeps the last `limit` bytes of a stream, so error messages can quote a process's final words. */
export class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit = 4096) {}

  /** push appends a chunk, dropping the oldest bytes beyond the limit. */
  push(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.chunks.push(buf);
    this.size += buf.length;
    // Drop whole chunks first (cheap), then trim the head of the survivor.
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.limit && this.chunks.length > 1) {
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

  /** text returns the kept bytes as text, starting at a line boundary when the head was cut. */
  text(): string {
    const text = Buffer.concat(this.chunks).toString('utf8');
    const cut = this.size >= this.limit ? text.indexOf('\n') : -1;
    return (cut >= 0 ? text.slice(cut + 1) : text).trimEnd();
  }
}
