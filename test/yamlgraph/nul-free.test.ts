import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { defaultRegistry } from '../../src/resources/index.js';
import { nulProblems } from '../../src/resources/values.js';
import { loadFast } from '../../src/yamlgraph/fast-tree.js';
import { mayHoldNul } from '../../src/yamlgraph/input.js';
import { parseGraphFast } from '../../src/yamlgraph/parse.js';
import { scanBlock } from '../../src/yamlgraph/scan-block.js';

// The fast path skips the NUL walk of every resource when mayHoldNul(text) is false: that must be
// a promise that no scalar the fast readers make holds a NUL, and no kind's defaults add one.

const BACKSLASH = '\\';

/** hasNulAnywhere says whether a loaded value holds a NUL in any key or string. */
function hasNulAnywhere(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\0');
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(([key, item]) => key.includes('\0') || hasNulAnywhere(item));
}

/** quotedLines is one `kN: "<escape>"` line per escape, as a document's lines. */
function quotedLines(escapes: readonly string[]): string[] {
  return escapes.map((escape, index) => `k${index}: "a${BACKSLASH}${escape}b"`);
}

describe('mayHoldNul', () => {
  it('GIVEN every \\x and \\u escape and every one-character escape WHEN mayHoldNul says no THEN neither fast reader reads a NUL', () => {
    const hex = (digits: number, count: number) => Array.from({ length: count }, (_, code) => code.toString(16).padStart(digits, '0'));
    const escapes = [...hex(2, 256).map((h) => `x${h}`), ...hex(4, 0x10000).map((h) => `u${h}`)];
    const single = Array.from({ length: 95 }, (_, code) => String.fromCharCode(0x20 + code));
    // One-character escapes js-yaml does not know are syntax errors: each is loaded on its own.
    for (const line of quotedLines(single).filter((text) => !mayHoldNul(text))) {
      let loaded: unknown;
      try {
        loaded = loadFast(line);
      } catch {
        continue;
      }
      expect(hasNulAnywhere(loaded), line).toBe(false);
      expect(hasNulAnywhere(scanBlock(`${line}\n`)), line).toBe(false);
    }
    const lines = quotedLines(escapes);
    const quiet = lines.filter((text) => !mayHoldNul(text));
    // Only \x00 and \u0000 are flagged among these.
    expect(lines.length - quiet.length).toBe(2);
    const text = `${quiet.join('\n')}\n`;
    expect(hasNulAnywhere(loadFast(text))).toBe(false);
    const scanned = scanBlock(text);
    expect(scanned).toBeDefined();
    expect(hasNulAnywhere(scanned)).toBe(false);
  });

  it('GIVEN a \\U escape WHEN checked THEN it may hold a NUL: the readers\' 32-bit arithmetic wraps \\UFFFF0000 to one', () => {
    const text = `k: "${BACKSLASH}UFFFF0000"\n`;
    expect(hasNulAnywhere(loadFast(text))).toBe(true);
    expect(hasNulAnywhere(scanBlock(text))).toBe(true);
    expect(mayHoldNul(text)).toBe(true);
    expect(mayHoldNul(`k: "${BACKSLASH}U00000041"\n`)).toBe(true);
    expect(mayHoldNul(`k: "a${BACKSLASH}0"\n`)).toBe(true);
    expect(mayHoldNul('k: a\0b\n')).toBe(true);
    expect(mayHoldNul(`k: "a${BACKSLASH}n"\n`)).toBe(false);
  });

  it('GIVEN every kind WHEN given a name without a NUL THEN its defaults hold none either', () => {
    for (const def of defaultRegistry.values()) expect(nulProblems('a', def.defaults('a') as Record<string, unknown>), def.kind).toEqual([]);
  });

  it('GIVEN a plain graph with a NUL escape in a value WHEN read fast THEN it is refused as the exact reader refuses it', () => {
    const text = `graph: g\nresources:\n  file:\n  - name: /tmp/a\n    content: "x${BACKSLASH}x00"\n`;
    expect(() => parseGraphFast(text, 'g.yaml', defaultRegistry)).toThrow(InputError);
    expect(() => parseGraphFast(text, 'g.yaml', defaultRegistry)).toThrow(
      'g.yaml:5:14: file[/tmp/a]: `content`: "x\\u0000" contains a NUL byte, which no path, name or command can hold',
    );
  });
});
