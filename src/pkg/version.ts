// Debian version numbers ([epoch:]upstream[-revision]) compared as dpkg does (deb-version(7)),
// so the pkg resource can tell "newest" and a downgrade without starting `dpkg --compare-versions`.

/** compareVersions returns < 0, 0 or > 0 as Debian version `a` is older than, equal to or newer than `b`. */
export function compareVersions(a: string, b: string): number {
  const x = splitVersion(a);
  const y = splitVersion(b);
  if (x.epoch !== y.epoch) return x.epoch < y.epoch ? -1 : 1;
  return sign(compareFragment(x.upstream, y.upstream)) || sign(compareFragment(x.revision, y.revision));
}

/** sameVersion says whether two version strings name the same version (`1.0` and `0:1.0` do). */
export function sameVersion(a: string, b: string): boolean {
  return a === b || compareVersions(a, b) === 0;
}

/** debFileVersion is a version as it appears in a .deb's file name in apt's archive cache (`:` as `%3a`). */
export function debFileVersion(version: string): string {
  return version.replace(/:/g, '%3a');
}

interface SplitVersion {
  readonly epoch: number;
  readonly upstream: string;
  readonly revision: string;
}

function splitVersion(version: string): SplitVersion {
  const colon = version.indexOf(':');
  const epoch = colon > 0 && /^\d+$/.test(version.slice(0, colon)) ? Number(version.slice(0, colon)) : 0;
  const rest = colon > 0 ? version.slice(colon + 1) : version;
  const dash = rest.lastIndexOf('-');
  return dash > 0 ? { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) } : { epoch, upstream: rest, revision: '' };
}

// dpkg's order of a non-digit character: `~` before the end, the end before letters, letters before
// everything else.
function order(code: number | undefined): number {
  if (code === undefined) return 0;
  if (isDigit(code)) return 0;
  if ((code >= 65 && code <= 90) || (code >= 97 && code <= 122)) return code;
  if (code === 126) return -1; // ~
  return code + 256;
}

function isDigit(code: number | undefined): boolean {
  return code !== undefined && code >= 48 && code <= 57;
}

// compareFragment is dpkg's verrevcmp: alternating runs of non-digits (by `order`) and digits (by value).
function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const ac = order(i < a.length ? a.charCodeAt(i) : undefined);
      const bc = order(j < b.length ? b.charCodeAt(j) : undefined);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a.charCodeAt(i) === 48) i++;
    while (b.charCodeAt(j) === 48) j++;
    while (isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a.charCodeAt(i))) return 1;
    if (isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}
