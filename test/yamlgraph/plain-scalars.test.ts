import { describe, expect, it } from 'vitest';
import { isScalar, parseDocument, type YAMLMap } from 'yaml';
import { isPlainString, resolvePlain } from '../../src/yamlgraph/plain-scalars.js';
import { Random, TRICKY_SCALARS } from './random-graphs.js';

/** composed is what the `yaml` package itself makes of `text` as a plain scalar under YAML 1.1 (the reference), or undefined when it is not one. */
function composed(text: string): { value: unknown } | undefined {
  const doc = parseDocument(`k: ${text}\n`, { version: '1.1' });
  const value = (doc.contents as YAMLMap | null)?.items[0]?.value;
  if (doc.errors.length > 0 || !isScalar(value) || value.type !== 'PLAIN' || value.source !== text) return undefined;
  return { value: value.value };
}

/** randomText is a short text made of the characters YAML 1.1 scalars are spelt with. */
function randomText(random: Random): string {
  // Half of them number-like, where the rules are subtlest.
  const alphabet = random.chance(0.5) ? '0123456789+-._:eE' : '0123456789+-._:eExXbBoOtTZ~nNuUlLyYsSfFaArR ';
  return Array.from({ length: 1 + random.int(12) }, () => random.pick([...alphabet])).join('').trim();
}

/** PLAIN_TEXTS are texts that read back as one plain scalar: the tricky ones, then generated ones. */
const PLAIN_TEXTS = [
  ...TRICKY_SCALARS.filter((text) => text !== '' && /^[\w~.+/@-][^\n\r\t#:]*$/.test(text) && text === text.trim()),
  ...Array.from({ length: 3000 }, (_, i) => randomText(new Random(i + 1))).filter((text) => text !== '' && !/^[-:?]( |$)|: |:$/.test(text)),
];

describe('resolvePlain', () => {
  it('GIVEN plain scalars YAML 1.1 reads specially WHEN resolved THEN each gets its YAML 1.1 value', () => {
    expect(resolvePlain('yes')).toEqual({ value: true });
    expect(resolvePlain('Off')).toEqual({ value: false });
    expect(resolvePlain('0644')).toEqual({ value: 420 });
    expect(resolvePlain('0x1f')).toEqual({ value: 31 });
    expect(resolvePlain('1_000')).toEqual({ value: 1000 });
    expect(resolvePlain('12:30')).toEqual({ value: 750 });
    expect(resolvePlain('.inf')).toEqual({ value: Number.POSITIVE_INFINITY });
    expect(resolvePlain('~')).toEqual({ value: null });
    expect(resolvePlain('')).toEqual({ value: null });
    expect(resolvePlain('2001-12-14')).toEqual({ value: new Date('2001-12-14T00:00:00Z') });
    expect(resolvePlain('/tmp/x')).toEqual({ value: '/tmp/x' });
  });

  it('GIVEN thousands of scalar texts WHEN resolved THEN each value is what the yaml package composes', () => {
    let checked = 0;
    let special = 0;
    for (const text of PLAIN_TEXTS) {
      const reference = composed(text);
      if (!reference) continue;
      checked += 1;
      if (typeof reference.value !== 'string') special += 1;
      expect(resolvePlain(text), text).toEqual(reference);
      expect(isPlainString(text), text).toBe(typeof reference.value === 'string');
    }
    expect(checked).toBeGreaterThan(2000);
    // Enough of them are numbers, booleans, nulls or dates for the check to mean something.
    expect(special).toBeGreaterThan(300);
  });
});
