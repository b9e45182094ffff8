import { describe, expect, it } from 'vitest';
import { parseAptPolicy, policyFor } from '../../src/pkg/apt-policy.js';

const OUTPUT = `mgmt-test-a:
  Installed: 1.0
  Candidate: 2.0
  Version table:
     2.0 500
        500 file:/tmp/repo ./ Packages
 *** 1.0 500
        500 file:/tmp/repo ./ Packages
        100 /var/lib/dpkg/status
local-only:
  Installed: 0.5
  Candidate: 0.5
  Version table:
 *** 0.5 100
        100 /var/lib/dpkg/status
virtual:
  Installed: (none)
  Candidate: (none)
  Version table:
libfoo:i386:
  Installed: (none)
  Candidate: 3.0
  Package pin: 3.0
  Version table:
     3.0 990
        500 http://deb.debian.org/debian bookworm/main i386 Packages
`;

describe('parseAptPolicy', () => {
  const stanzas = parseAptPolicy(OUTPUT);

  it('GIVEN two versions offered THEN the candidate and both versions are read', () => {
    expect(stanzas.get('mgmt-test-a')).toEqual({ candidate: '2.0', versions: ['2.0', '1.0'] });
  });

  it('GIVEN a version only dpkg knows THEN no source offers it', () => {
    expect(stanzas.get('local-only')).toEqual({ candidate: '0.5', versions: [] });
  });

  it('GIVEN a virtual package THEN it has no candidate and no versions', () => {
    expect(stanzas.get('virtual')).toEqual({ candidate: undefined, versions: [] });
  });

  it('GIVEN a foreign architecture with a pin THEN its stanza keeps the architecture', () => {
    expect(stanzas.get('libfoo:i386')).toEqual({ candidate: '3.0', versions: ['3.0'] });
  });

  it('GIVEN no output (every name unknown) THEN nothing is read', () => {
    expect(parseAptPolicy('').size).toBe(0);
  });
});

describe('policyFor', () => {
  const stanzas = parseAptPolicy(OUTPUT);
  it('GIVEN a name with the native architecture THEN the bare stanza answers', () => {
    expect(policyFor(stanzas, 'mgmt-test-a:amd64', 'amd64')?.candidate).toBe('2.0');
    expect(policyFor(stanzas, 'libfoo:i386', 'amd64')?.candidate).toBe('3.0');
    expect(policyFor(stanzas, 'mgmt-test-a:i386', 'amd64')).toBeUndefined();
    expect(policyFor(stanzas, 'nothere', 'amd64')).toBeUndefined();
  });
});
