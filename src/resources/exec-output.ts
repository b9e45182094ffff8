import { StringDecoder } from 'node:string_decoder';

/** OUTPUT_TAIL_BYTES is how much of a command's stdout and stderr we keep: the end, where errors are. */
export const OUTPUT_TAIL_BYTES = 64 * 1024;

/** TailBuffer keeps the last `limit` bytes written to it, so a chatty command cannot exhaust memory. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit: number = OUTPUT_TAIL_BYTES) {}

  /** push appends a chunk and forgets whole chunks that fall out of the window. */
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.chunks.length > 1 && this.size - this.chunks[0]!.length >= this.limit) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  /** toString decodes the kept tail as UTF-8 (a character cut at the window's edge becomes U+FFFD). */
  toString(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

/** LineSplitter turns a byte stream into lines (without `\n` or `\r\n`), decoding UTF-8 across chunk edges. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private rest = '';

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine: number = OUTPUT_TAIL_BYTES,
  ) {}

  /** push feeds a chunk and reports every line it completes. */
  push(chunk: Buffer): void {
    const parts = (this.rest + this.decoder.write(chunk)).split('\n');
    this.rest = parts.pop() ?? '';
    for (const line of parts) this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    // A process that never prints a newline must not grow this buffer without bound.
    if (this.rest.length >= this.maxLine) this.flush();
  }

  /** flush reports the unfinished last line, if any (call it at end of stream). */
  flush(): void {
    const line = this.rest + this.decoder.end();
    this.rest = '';
    if (line !== '') this.onLine(line);
  }
}

/** tailLines returns the last few non-empty lines of `text`, short enough for a one-line error message. */
export function tailLines(text: string, maxLines = 5, maxChars = 1000): string {
  const lines = text.split('\n').map((line) => line.trimEnd()).filter((line) => line !== '');
  const tail = lines.slice(-maxLines).join(' | ');
  return tail.length > maxChars ? `...${tail.slice(tail.length - maxChars)}` : tail;
}
