import { open } from 'node:fs/promises';
import { Lexer } from 'yaml';
import { InputError, type SourcePos } from '../errors.js';

// Hostile or accidental input (a huge log file, a binary, a YAML bomb) must be refused with one
// clear line, fast, before the YAML parser spends seconds or gigabytes on it.

/** MAX_GRAPH_BYTES is the largest graph file accepted: 8 MiB is far beyond any real graph. */
export const MAX_GRAPH_BYTES = 8 * 1024 * 1024;

/** MAX_FLOW_DEPTH is how deep `[`/`{` may nest; the YAML parser recurses per level. */
export const MAX_FLOW_DEPTH = 64;

/**
 * MAX_BLOCK_DEPTH bounds the estimated depth of indented (block) YAML: `? ? ? ...` or a staircase
 * of `?` lines a few thousand deep runs the yaml parser out of memory and kills the process.
 */
export const MAX_BLOCK_DEPTH = 200;

/** readGraphText reads a graph file as UTF-8 text, refusing a missing, huge or binary file. */
export async function readGraphText(path: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new InputError({ message: `cannot read graph file ${path}: ${ioReason(err)}` }, { cause: err });
  }
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw new InputError({ message: `cannot read graph file ${path}: it is a directory` });
    if (stat.isFile() && stat.size > MAX_GRAPH_BYTES) throw tooBig(path, stat.size);
    // Read until the end, but never more than one byte past the limit: devices and pipes have no
    // size to check up front, and a file may grow while it is read.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(Math.max(stat.size + 1, 64 * 1024), MAX_GRAPH_BYTES + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > MAX_GRAPH_BYTES) throw tooBig(path, undefined);
    }
    return decodeGraphBytes(Buffer.concat(chunks, total), path);
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError({ message: `cannot read graph file ${path}: ${ioReason(err)}` }, { cause: err });
  } finally {
    await handle.close();
  }
}

/** decodeGraphBytes turns file content into text, refusing anything that is not UTF-8 text. */
export function decodeGraphBytes(bytes: Uint8Array, file: string): string {
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw notText(file, `it contains a NUL byte at offset ${nul}`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw notText(file, 'it is not valid UTF-8');
  }
}

/**
 * refuseHostileText throws an InputError when text is too large, binary, or nested deeply enough
 * to exhaust the YAML parser; it scans tokens only, so it costs a fraction of a parse.
 */
export function refuseHostileText(text: string, file: string): void {
  refuseUnreadableText(text, file);
  const deep = findExcessiveNesting(text);
  if (deep) {
    throw new InputError({ pos: positionOf(text, deep.offset, file), message: `refused: ${deep.reason}` });
  }
}

/**
 * refuseUnreadableText throws an InputError when text is too large or binary: the checks every
 * reader needs, cheap enough to run before any of them.
 */
export function refuseUnreadableText(text: string, file: string): void {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_GRAPH_BYTES) throw tooBig(file, bytes);
  const nul = text.indexOf('\0');
  if (nul >= 0) throw notText(file, `it contains a NUL character at ${describeOffset(text, nul)}`);
}

/**
 * NUL_ESCAPE matches a double-quoted escape that can put a NUL into a YAML scalar: `\0`, `\x00`,
 * `\u0000`, and any `\U`, whose 32-bit arithmetic can wrap around to 0 in the fast readers.
 * Single-quoted, plain and block scalars have no escapes; a backslash there (or an escaped
 * backslash) only makes a false alarm.
 */
const NUL_ESCAPE = /\\(?:0|x00|u0000|U)/;

/** mayHoldNul says whether a YAML text could give some scalar (a key, a value, a list item) a NUL; false is a promise that none has one. */
export function mayHoldNul(text: string): boolean {
  // Two searches that each look for one character first, faster than one that looks for either.
  return text.includes('\0') || NUL_ESCAPE.test(text);
}

/**
 * findExcessiveNesting returns where and why text nests too deeply, or undefined when it does not.
 * It estimates block depth from indentation plus the indicators (`-`, `?`, `:`) on each line, which
 * over-counts real nesting by up to about two: a real graph nests less than ten levels.
 */
function findExcessiveNesting(text: string): { offset: number; reason: string } | undefined {
  let offset = 0;
  let flowDepth = 0;
  let scalarNext = false;
  let atLineStart = true;
  let indent = 0;
  // One entry per open indentation level: its column and the deepest block level reached on it.
  const levels: { indent: number; depth: number }[] = [];
  const deeper = (start: number): { offset: number; reason: string } | undefined => {
    const top = levels[levels.length - 1]!;
    top.depth += 1;
    return top.depth > MAX_BLOCK_DEPTH ? { offset: start, reason: `YAML nested more than ${MAX_BLOCK_DEPTH} levels deep` } : undefined;
  };
  for (const token of new Lexer().lex(text)) {
    // The lexer marks what follows with zero-width control tokens: \x1f = the next token is a
    // scalar's source (whose content may hold any bracket), \x02 and \x18 carry no text.
    if (token === '\x02' || token === '\x18') continue;
    const start = offset;
    if (token !== '\x1f') offset += token.length;
    if (scalarNext) {
      scalarNext = false;
      // A block scalar's body ends with its line break; a multi-line plain scalar ends mid-line.
      if (token.endsWith('\n')) {
        atLineStart = true;
        indent = 0;
      }
      continue;
    }
    if (token === '\n' || token === '\r\n' || token === '') {
      atLineStart = true;
      indent = 0;
      continue;
    }
    if (/^[ \t]+$/.test(token)) {
      if (atLineStart) indent = token.length;
      continue;
    }
    if (token.startsWith('#')) continue;
    if (token === '---' || token === '...') {
      levels.length = 0;
      continue;
    }
    if (atLineStart && flowDepth === 0) {
      // A line opens a level when it is indented past the one above, else it is a sibling.
      atLineStart = false;
      while (levels.length > 0 && levels[levels.length - 1]!.indent > indent) levels.pop();
      const top = levels[levels.length - 1];
      if (top && top.indent === indent) levels.pop();
      levels.push({ indent, depth: (levels[levels.length - 1]?.depth ?? 0) + 1 });
    }
    atLineStart = false;
    switch (token) {
      case '\x1f':
        scalarNext = true;
        break;
      case '[':
      case '{':
        flowDepth += 1;
        if (flowDepth > MAX_FLOW_DEPTH) return { offset: start, reason: `YAML nested more than ${MAX_FLOW_DEPTH} levels deep` };
        break;
      case ']':
      case '}':
        flowDepth = Math.max(0, flowDepth - 1);
        break;
      case '-':
      case '?':
      case ':': {
        // Inside `[...]`/`{...}` a colon separates a key from its value; brackets count that nesting.
        if (flowDepth > 0) break;
        const tooDeep = levels.length > 0 ? deeper(start) : undefined;
        if (tooDeep) return tooDeep;
        break;
      }
      default:
        // A quoted scalar may span lines; what follows it is still on a line of its own content.
        break;
    }
  }
  return undefined;
}

/** positionOf computes the 1-based position of an offset (used before a LineCounter exists). */
function positionOf(text: string, offset: number, file: string): SourcePos {
  let line = 1;
  let lineStart = 0;
  for (let at = text.indexOf('\n'); at >= 0 && at < offset; at = text.indexOf('\n', at + 1)) {
    line += 1;
    lineStart = at + 1;
  }
  return { file, line, column: offset - lineStart + 1 };
}

function describeOffset(text: string, offset: number): string {
  const pos = positionOf(text, offset, '');
  return `line ${pos.line}, column ${pos.column}`;
}

function tooBig(file: string, size: number | undefined): InputError {
  const limit = `the limit is ${MAX_GRAPH_BYTES} bytes (8 MiB)`;
  const what = size === undefined ? `more than ${MAX_GRAPH_BYTES} bytes` : `${size} bytes (${(size / 1024 / 1024).toFixed(1)} MiB)`;
  return new InputError({ message: `${file}: refused: the graph file is ${what}; ${limit}` });
}

function notText(file: string, why: string): InputError {
  return new InputError({ message: `${file}: refused: not a text file (${why})` });
}

function ioReason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return err instanceof Error ? err.message : String(err);
}
