import { pathLengthProblem } from './values.js';

/** FilePlace is the part of a file's parameters that says where it is. */
export interface FilePlace {
  readonly path: string;
  readonly dirname: string;
  readonly basename: string;
}

/** filePath computes the managed path from `path`, `dirname` and `basename` (a directory ends with `/`). */
export function filePath(params: FilePlace): string {
  if (params.dirname === '' && params.basename === '') return params.path;
  const [dir, base] = splitPath(params.path);
  return (params.dirname || dir) + (params.basename || base);
}

/** filePathProblem says what is wrong with a managed path, starting with "path"; undefined when it is right. */
export function filePathProblem(path: string): string | undefined {
  if (path === '') return 'path is empty';
  if (!path.startsWith('/')) return `path "${path}" must be absolute`;
  if (!isNormalized(path)) return `path "${path}" must not contain ".", ".." or empty segments`;
  const tooLong = pathLengthProblem(path);
  return tooLong === undefined ? undefined : `path ${tooLong}`;
}

/** splitPath splits like upstream: "/a/b" → ["/a/", "b"], "/a/b/" → ["/a/", "b/"]. */
function splitPath(path: string): [string, string] {
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
  const cut = trimmed.lastIndexOf('/') + 1;
  return [trimmed.slice(0, cut), path.slice(cut)];
}

/** isNormalized says whether an absolute path has no ".", ".." or empty segment (one trailing "/" allowed), without splitting it. */
function isNormalized(path: string): boolean {
  const end = path.endsWith('/') ? path.length - 1 : path.length;
  for (let start = 1; start < end; ) {
    const slash = path.indexOf('/', start);
    const stop = slash < 0 || slash > end ? end : slash;
    const length = stop - start;
    if (length === 0) return false;
    if (path.charCodeAt(start) === 0x2e && (length === 1 || (length === 2 && path.charCodeAt(start + 1) === 0x2e))) return false;
    start = stop + 1;
    // A slash right before `end` leaves an empty last segment.
    if (start === end) return false;
  }
  return true;
}
