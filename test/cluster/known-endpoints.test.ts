import { readFile, stat, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { cleanEndpoints, knownEndpointsPath, readKnownEndpoints, saveKnownEndpoints } from '../../src/cluster/known-endpoints.js';
import { useTempDirs } from '../helpers/tmp.js';

// The endpoints a host last saw, kept under its prefix for a restart without --seeds (issue 11
// point 7). They came from other hosts through etcd: only plain client URLs are kept.
describe('known endpoints', () => {
  const tempDir = useTempDirs();

  it('issue 11 point 7: GIVEN the endpoints a host followed WHEN saved and read back THEN the same URLs come back, sorted, in a file only the agent reads', async () => {
    const prefix = await tempDir();
    await saveKnownEndpoints(prefix, ['http://127.0.0.1:2381', 'http://127.0.0.1:2379', 'http://127.0.0.1:2381']);
    expect(await readKnownEndpoints(prefix)).toEqual(['http://127.0.0.1:2379', 'http://127.0.0.1:2381']);
    expect((await stat(knownEndpointsPath(prefix))).mode & 0o777).toBe(0o600);
    // A later list replaces the earlier one.
    await saveKnownEndpoints(prefix, ['https://10.0.0.2:2379']);
    expect(await readFile(knownEndpointsPath(prefix), 'utf8')).toBe('https://10.0.0.2:2379\n');
  });

  it('issue 11 point 7: GIVEN endpoint lists saved at once (the endpoints watch fired twice) THEN every save succeeds and the last list asked for is kept', async () => {
    const prefix = await tempDir();
    const lists = Array.from({ length: 5 }, (_, i) => [`http://127.0.0.1:${2400 + i}`]);
    await Promise.all(lists.map((urls) => saveKnownEndpoints(prefix, urls)));
    expect(await readKnownEndpoints(prefix)).toEqual(['http://127.0.0.1:2404']);
  });

  it('GIVEN a prefix that never saved any WHEN read THEN there are none', async () => {
    expect(await readKnownEndpoints(await tempDir())).toEqual([]);
  });

  it('GIVEN hostile values among the URLs WHEN cleaned THEN only http(s) URLs with a port and no credentials are kept, at most 64', () => {
    expect(
      cleanEndpoints([
        'http://127.0.0.1:2379/some/path',
        'file:///etc/passwd',
        'http://user:secret@127.0.0.1:2379',
        'http://127.0.0.1',
        'not a url',
        `http://${'a'.repeat(300)}:1`,
        '  https://[::1]:2379  ',
      ]),
    ).toEqual(['http://127.0.0.1:2379', 'https://[::1]:2379']);
    expect(cleanEndpoints(Array.from({ length: 100 }, (_, i) => `http://127.0.0.1:${20000 + i}`))).toHaveLength(64);
  });

  it('GIVEN a file edited by hand with junk lines WHEN read THEN the junk is skipped', async () => {
    const prefix = await tempDir();
    await writeFile(knownEndpointsPath(prefix), 'http://127.0.0.1:2379\n\x1b[31mred\nftp://x:1\n');
    expect(await readKnownEndpoints(prefix)).toEqual(['http://127.0.0.1:2379']);
  });
});
