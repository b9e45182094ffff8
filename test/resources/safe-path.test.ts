import type { Stats } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { linkWriter } from '../../src/resources/safe-path.js';

const stats = (uid: number, mode: number): Stats => ({ uid, mode }) as Stats;

describe('linkWriter: who other than root could swap a symlink (the unsafe-transition rule)', () => {
  it.each([
    ['root\'s link in root\'s 0755 directory (/var/run -> /run)', stats(0, 0o40755), stats(0, 0o120777), undefined],
    ['any link in a directory owned by uid 1000', stats(1000, 0o40755), stats(0, 0o120777), 1000],
    ['a directory owned by uid 1000 even when 0555 (its owner can chmod it)', stats(1000, 0o40555), stats(0, 0o120777), 1000],
    ['a group-writable root directory', stats(0, 0o40775), stats(0, 0o120777), 'anyone'],
    ['a world-writable directory without the sticky bit', stats(0, 0o40777), stats(0, 0o120777), 'anyone'],
    ['root\'s link in sticky /tmp', stats(0, 0o41777), stats(0, 0o120777), undefined],
    ['uid 1000\'s link in sticky /tmp', stats(0, 0o41777), stats(1000, 0o120777), 1000],
    ['uid 1000\'s link in a sticky directory uid 2000 owns', stats(2000, 0o41777), stats(1000, 0o120777), 'anyone'],
  ] as const)('GIVEN %s THEN the writer is %s', (_, dir, link, writer) => {
    expect(linkWriter(dir, link)).toBe(writer);
  });
});
