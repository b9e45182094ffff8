import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { compareVersions, debFileVersion, sameVersion } from '../../src/pkg/version.js';

// Pairs whose order deb-version(7) spells out, plus the corners of dpkg's own test suite.
const ORDERED: readonly [string, string][] = [
  ['1.0', '1.1'],
  ['1.0', '1.0-1'],
  ['1.0~rc1', '1.0'],
  ['1.0~~', '1.0~'],
  ['1.0', '1.0a'],
  ['1.0a', '1.0+'],
  ['1.9', '1.10'],
  ['1:0.1', '2:0.0'],
  ['9.9', '1:0.1'],
  ['5.2.15-2+b8', '5.2.15-2+b13'],
  ['2.14-1', '2.14-1+b2'],
  ['1.0-1', '1.0-1.1'],
  ['0.001', '0.1a'],
];

describe('compareVersions', () => {
  it.each(ORDERED)('GIVEN %s and %s THEN the first is older', (older, newer) => {
    expect(compareVersions(older, newer)).toBeLessThan(0);
    expect(compareVersions(newer, older)).toBeGreaterThan(0);
  });

  it('GIVEN equal versions spelt differently THEN they are the same', () => {
    expect(compareVersions('0:1.0', '1.0')).toBe(0);
    expect(compareVersions('1.01', '1.1')).toBe(0);
    expect(sameVersion('1.0', '0:1.0')).toBe(true);
    expect(sameVersion('1.0', '1.0-1')).toBe(false);
  });

  it('GIVEN the pairs WHEN dpkg --compare-versions judges them THEN it agrees', () => {
    for (const [older, newer] of ORDERED) {
      expect(() => execFileSync('dpkg', ['--compare-versions', older, 'lt', newer]), `${older} < ${newer}`).not.toThrow();
    }
  });

  it('GIVEN an epoch THEN the archive file name spells its colon %3a', () => {
    expect(debFileVersion('1:2.0-1')).toBe('1%3a2.0-1');
  });
});
