import { StringDecoder } from 'node:string_decoder';
import { OUTPUT_TAIL_BYTES } from '../os/tail.js';

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
