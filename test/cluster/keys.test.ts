import { describe, expect, it } from 'vitest';
import { ENDPOINTS_PREFIX, hostsUnder, joinUrls, NOMINATED_PREFIX, splitUrls, VOLUNTEERS_PREFIX } from '../../src/cluster/keys.js';

describe('splitUrls', () => {
  it.each<[string, string, string[]]>([
    ['one URL', 'http://127.0.0.1:2380', ['http://127.0.0.1:2380']],
    ['comma-separated URLs', 'http://a:1,http://b:2', ['http://a:1', 'http://b:2']],
    ['semicolon-separated URLs', 'http://a:1;http://b:2', ['http://a:1', 'http://b:2']],
    ['both separators, spaces and empty parts', ' http://a:1 ,, ;http://b:2; ', ['http://a:1', 'http://b:2']],
    ['an empty value', '', []],
    ['only separators', ',;,', []],
  ])('GIVEN %s WHEN split THEN the URLs come out trimmed and in order', (_what, value, urls) => {
    expect(splitUrls(value)).toEqual(urls);
  });
});

describe('joinUrls', () => {
  it('GIVEN a URL list WHEN joined THEN it is the classic comma-separated value, and splitUrls reads it back', () => {
    const urls = ['http://a:1', 'https://b:2', 'http://[::1]:3'];
    expect(joinUrls(urls)).toBe('http://a:1,https://b:2,http://[::1]:3');
    expect(splitUrls(joinUrls(urls))).toEqual(urls);
  });

  it('GIVEN no URLs WHEN joined THEN the value is empty, and reads back as no URLs', () => {
    expect(joinUrls([])).toBe('');
    expect(splitUrls(joinUrls([]))).toEqual([]);
  });
});

describe('hostsUnder', () => {
  it('GIVEN a range read of volunteers WHEN mapped THEN each host maps to its URL list', () => {
    const hosts = hostsUnder(VOLUNTEERS_PREFIX, {
      [`${VOLUNTEERS_PREFIX}h1`]: 'http://h1:2380',
      [`${VOLUNTEERS_PREFIX}h2`]: 'http://h2a:2380;http://h2b:2380',
      [`${VOLUNTEERS_PREFIX}h3`]: '',
    });
    expect(hosts).toEqual(
      new Map([
        ['h1', ['http://h1:2380']],
        ['h2', ['http://h2a:2380', 'http://h2b:2380']],
        ['h3', []],
      ]),
    );
  });

  it('GIVEN keys with `/` in the host part, an empty host, or another prefix WHEN mapped THEN they are ignored', () => {
    const hosts = hostsUnder(NOMINATED_PREFIX, {
      [`${NOMINATED_PREFIX}h1`]: 'http://h1:2380',
      [`${NOMINATED_PREFIX}h2/extra`]: 'http://x:1',
      [`${NOMINATED_PREFIX}/h3`]: 'http://x:2',
      [NOMINATED_PREFIX]: 'http://x:3',
      // Same length as a nomination key, so only the prefix check keeps it out.
      [`${ENDPOINTS_PREFIX}h4`]: 'http://x:4',
      '/_mgmt/nominatedX/h5': 'http://x:5',
    });
    expect([...hosts.keys()]).toEqual(['h1']);
  });

  it('GIVEN an empty range read WHEN mapped THEN no hosts are found', () => {
    expect(hostsUnder(ENDPOINTS_PREFIX, {}).size).toBe(0);
  });
});
