// How another host's exported file is held here (the file kind's collect trait). The agent runs
// as root: a collected file that copies this host's files, makes a set-uid file or hands a file to
// another user would give any host that can write to the store root on this one.

import { posix } from 'node:path';
import type { CollectTrait, PrivilegeUse } from '../core/collect.js';
import { parseFileMode } from './file-mode.js';
import { filePath, filePathProblem, type FilePlace } from './file-path.js';

/** CollectedFile is what the collect trait reads of a file's parameters. */
interface CollectedFile extends FilePlace {
  readonly source: string;
  readonly mode: string;
  readonly owner: string;
  readonly group: string;
}

/**
 * fileCollect returns the file kind's collect trait. It re-homes a collected file into its entry's
 * pattern directory under the base name of the path its fields name together (`path`, `dirname`
 * and `basename`), so no field can place it elsewhere; a path with no base name (`..`, `/`) is
 * refused. Its source, set-id mode bits and owner need allowances, and its path is claimed: no
 * two resources manage one.
 */
export function fileCollect<P extends CollectedFile>(): CollectTrait<P> {
  return {
    allowances: ['anypath', 'source', 'setuid', 'owner'],

    privileges(params) {
      const uses: PrivilegeUse[] = [];
      if (params.source !== '') uses.push({ field: 'source', allowance: 'source', reason: `it would copy this host's ${JSON.stringify(params.source)}` });
      if (params.mode !== '' && asksSetId(params.mode)) uses.push({ field: 'mode', allowance: 'setuid', reason: `mode ${JSON.stringify(params.mode)} sets set-uid or set-gid bits` });
      for (const field of ['owner', 'group'] as const) {
        if (params[field] !== '') uses.push({ field, allowance: 'owner', reason: `it would give the file to ${field} ${JSON.stringify(params[field])}` });
      }
      return uses;
    },

    rehome: {
      field: 'path',
      pattern: 'the directory collected files land in',

      patternProblems(pattern) {
        const problem = filePathProblem(pattern.endsWith('/') ? pattern : `${pattern}/`);
        return problem === undefined ? [] : [problem.replace(/^path /, '')];
      },

      place(params, pattern) {
        const path = filePath(params);
        const isDirectory = path.endsWith('/');
        const base = posix.basename(path);
        if (base === '' || base === '.' || base === '..' || base.includes('\0')) {
          return { refused: `its path "${path}" has no file name to re-home into ${pattern}`, field: 'path' };
        }
        const directory = posix.normalize(pattern.endsWith('/') ? pattern : `${pattern}/`);
        const rehomed = posix.normalize(directory + base + (isDirectory ? '/' : ''));
        // normalize cannot climb out with a plain base name, but the check keeps the promise explicit.
        if (!rehomed.startsWith(directory) || rehomed === directory) return { refused: `its path "${path}" would leave ${pattern}`, field: 'path' };
        return { params: { ...params, path: rehomed, dirname: '', basename: '' } };
      },
    },

    claim(params) {
      const path = filePath(params);
      return { what: 'path', key: path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path };
    },
  };
}

// A symbolic mode that leaves `u` or `g` alone keeps bits the file already has: only bits the mode
// itself sets count, for a file and for a directory. An invalid mode is left to the kind's validation.
function asksSetId(text: string): boolean {
  const mode = parseFileMode(text);
  if (typeof mode === 'string') return false;
  return [false, true].some((isDir) => (mode.apply(0, isDir) & 0o6000) !== 0);
}
