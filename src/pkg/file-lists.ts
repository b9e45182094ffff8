// The files a package ships, as the pkg resource's automatic edges want them: absolute paths,
// directories ending with `/` (so `/etc/drbd.d/` finds a directory resource).

import { lstat } from 'node:fs/promises';

/**
 * parseDpkgList reads /var/lib/dpkg/info/<pkg>.list: one path per line, directories not marked,
 * and `/.` for the root, which is left out.
 */
export function parseDpkgList(text: string): string[] {
  return text.split('\n').filter((path) => path.startsWith('/') && path !== '/.');
}

/**
 * parseDebContents reads `dpkg-deb -c` (tar's long listing: mode, owner, size, date, time, path,
 * and ` -> target` for a symlink): paths made absolute, directories keeping tar's trailing `/`.
 */
export function parseDebContents(output: string): string[] {
  const paths: string[] = [];
  for (const line of output.split('\n')) {
    const match = /^(\S)\S*\s+\S+\s+\d+\s+\S+\s+\S+\s+\.(\/.*)$/.exec(line);
    if (!match) continue;
    let path = match[2]!;
    if (match[1] === 'l') path = path.replace(/ -> .*$/, '');
    else if (match[1] === 'h') path = path.replace(/ link to .*$/, '');
    if (path !== '/') paths.push(path);
  }
  return paths;
}

/**
 * markDirectories gives the directories among installed paths their trailing `/`: a path another
 * one lies under is a directory; a leaf is asked of the file system (a package may ship an empty
 * directory, such as /etc/drbd.d). A leaf that cannot be read stays a file.
 */
export async function markDirectories(paths: readonly string[]): Promise<string[]> {
  const parents = new Set<string>();
  for (const path of paths) {
    const cut = path.lastIndexOf('/');
    if (cut > 0) parents.add(path.slice(0, cut));
  }
  return Promise.all(
    paths.map(async (path) => {
      if (path.endsWith('/')) return path;
      if (parents.has(path)) return `${path}/`;
      try {
        const info = await lstat(path);
        return info.isDirectory() ? `${path}/` : path;
      } catch {
        return path;
      }
    }),
  );
}
