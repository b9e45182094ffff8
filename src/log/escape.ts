// C0 controls, DEL, C1 controls, and the Unicode line and paragraph separators: anything a terminal
// or a line-based reader may take as a new line or an escape sequence.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

const HAS_CONTROL = new RegExp(CONTROL.source);

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\u001b': '\\e' };

/**
 * escapeControl makes `text` safe to print on one terminal line: a newline becomes `\n`, ESC `\e`,
 * every other control character `\xHH` (or `\uHHHH`), so a hostile name cannot start a forged log
 * line or send escape sequences to whoever reads the log.
 */
export function escapeControl(text: string): string {
  // Most lines have nothing to escape: testing is cheaper than a replace that finds nothing.
  if (!HAS_CONTROL.test(text)) return text;
  return text.replace(CONTROL, (char) => {
    const named = NAMED[char];
    if (named !== undefined) return named;
    const code = char.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** firstLine is the first line of `text`, cut at `maxChars`: another party's message, bounded to one line. */
export function firstLine(text: string, maxChars: number): string {
  return text.split('\n')[0]!.slice(0, maxChars);
}
