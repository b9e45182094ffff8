// What `apt-cache policy NAME...` says the configured sources offer (run with LC_ALL=C):
//
//   mgmt-test-a:
//     Installed: 1.0
//     Candidate: 2.0
//     Version table:
//        2.0 500
//           500 file:/tmp/repo ./ Packages
//    *** 1.0 100
//           100 /var/lib/dpkg/status
//
// A name apt does not know gets no stanza at all.

import type { AvailableVersions } from './backend.js';

// The pseudo-source of the installed version: it offers nothing that can be installed.
const DPKG_STATUS_SOURCE = '/var/lib/dpkg/status';

/** parseAptPolicy returns what each package stanza of `apt-cache policy` output offers, by the stanza's name. */
export function parseAptPolicy(output: string): Map<string, AvailableVersions> {
  const result = new Map<string, AvailableVersions>();
  let name: string | undefined;
  let candidate: string | undefined;
  let versions: string[] = [];
  let current: string | undefined; // the version whose sources are being listed
  const flush = (): void => {
    if (name !== undefined) result.set(name, { candidate, versions });
    name = undefined;
    candidate = undefined;
    versions = [];
    current = undefined;
  };
  for (const line of output.split('\n')) {
    if (line === '') continue;
    if (!line.startsWith(' ')) {
      flush();
      if (line.endsWith(':')) name = line.slice(0, -1);
      continue;
    }
    if (name === undefined) continue;
    const field = /^ {2}(\w[\w ]*): ?(.*)$/.exec(line);
    if (field) {
      if (field[1] === 'Candidate') candidate = field[2] === '(none)' ? undefined : field[2]!.trim();
      continue;
    }
    const version = /^ (?:\*\*\*| {3}) (\S+) -?\d+$/.exec(line);
    if (version) {
      current = version[1]!;
      continue;
    }
    const source = /^ {8}-?\d+ (.+)$/.exec(line);
    if (source && current !== undefined && source[1]!.trim() !== DPKG_STATUS_SOURCE && !versions.includes(current)) versions.push(current);
  }
  flush();
  return result;
}

/**
 * policyFor finds the stanza of a requested name: apt prints a native or `all` package without its
 * architecture, so `foo:amd64` may come back as `foo`.
 */
export function policyFor(stanzas: ReadonlyMap<string, AvailableVersions>, name: string, nativeArch: string): AvailableVersions | undefined {
  const exact = stanzas.get(name);
  if (exact !== undefined) return exact;
  const colon = name.indexOf(':');
  if (colon < 0) return stanzas.get(`${name}:${nativeArch}`);
  const arch = name.slice(colon + 1);
  return arch === nativeArch || arch === 'all' ? stanzas.get(name.slice(0, colon)) : undefined;
}
