import type { Registry } from '../core/registry.js';

/**
 * UPSTREAM_KINDS are the resource kinds upstream mgmt has (0.0.15 through HEAD): a graph naming
 * one this registry lacks is told the kind is not supported yet, rather than that it is a typo.
 */
export const UPSTREAM_KINDS: ReadonlySet<string> = new Set([
  'augeas',
  'aws:ec2',
  'config:etcd',
  'consul:kv',
  'cron',
  'deploy:tar',
  'dhcp:host',
  'dhcp:range',
  'dhcp:server',
  'docker:container',
  'docker:image',
  'exec',
  'file',
  'firewalld',
  'graph',
  'group',
  'gzip',
  'hetzner:vm',
  'hostname',
  'http:server',
  'http:server:file',
  'http:server:flag',
  'http:server:proxy',
  'http:server:ui',
  'kv',
  'mount',
  'msg',
  'net',
  'noop',
  'nspawn',
  'password',
  'pippet',
  'pkg',
  'print',
  'svc',
  'sysctl',
  'tar',
  'test',
  'tftp:file',
  'tftp:server',
  'timer',
  'user',
  'value',
  'virt',
  'virt:builder',
]);

/** kindProblem explains why `kind` cannot be used: not supported by this version, or unknown. */
export function kindProblem(kind: string, registry: Registry): string {
  const known = [...registry.keys()].sort();
  if (UPSTREAM_KINDS.has(kind)) {
    return `resource kind \`${kind}\` is not supported by this version (supported: ${known.join(', ')})`;
  }
  const hint = didYouMean(kind, known);
  return `unknown resource kind \`${kind}\` (known kinds: ${known.join(', ')})${hint}`;
}

/** didYouMean suggests the closest candidate within two edits, as `; did you mean \`x\`?`, or "". */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  // Short words are a couple of edits from anything: allow fewer edits for them.
  let bestDistance = Math.min(3, Math.ceil(word.length / 2) + 1);
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best === undefined ? '' : `; did you mean \`${best}\`?`;
}

/** editDistance is the Levenshtein distance between two short words. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
