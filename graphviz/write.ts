import { spawn } from 'node:child_process';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { tempSuffix } from '../src/resources/file-io.js';
import { toDot, type DotGraph, type ToDotOptions } from './to-dot.js';

/** GRAPHVIZ_FILTERS are the graphviz layout programs `--graphviz-filter` accepts, as in mgmt. */
export const GRAPHVIZ_FILTERS = ['dot', 'neato', 'twopi', 'circo', 'fdp', 'sfdp', 'patchwork', 'osage'] as const;

/** GraphvizFilter is one of GRAPHVIZ_FILTERS. */
export type GraphvizFilter = (typeof GRAPHVIZ_FILTERS)[number];

/** isGraphvizFilter tells whether `name` is one of GRAPHVIZ_FILTERS. */
export function isGraphvizFilter(name: string): name is GraphvizFilter {
  return (GRAPHVIZ_FILTERS as readonly string[]).includes(name);
}

/** GraphvizErrorReason says which way writeGraphviz failed, so the CLI can choose an exit code. */
export type GraphvizErrorReason = 'invalid-filter' | 'not-installed' | 'render-failed';

/**
 * GraphvizError is an expected failure of writeGraphviz. `graphviz/` may not import src/errors.ts,
 * so the caller wraps it (a UsageError for `invalid-filter`, a MgmtError otherwise).
 */
export class GraphvizError extends Error {
  readonly reason: GraphvizErrorReason;
  constructor(reason: GraphvizErrorReason, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GraphvizError';
    this.reason = reason;
  }
}

/** WriteGraphvizOptions tunes writeGraphviz. */
export interface WriteGraphvizOptions extends ToDotOptions {
  /** The layout program that renders an image, one of GRAPHVIZ_FILTERS; empty or absent means `dot`. */
  readonly filter?: string;
  /** Aborting kills a running layout program and rejects with the abort reason. */
  readonly signal?: AbortSignal;
}

// Image formats chosen by the file's extension; anything else is written as DOT.
const IMAGE_FORMATS: Readonly<Record<string, string>> = { '.svg': 'svg', '.png': 'png' };

// Enough of the program's stderr to say what went wrong, without holding a runaway log in memory.
const MAX_STDERR_CHARS = 4000;

/**
 * writeGraphviz writes the graph as DOT to `file`, or, when `file` ends in `.svg` or `.png`,
 * writes the DOT next to it (same name, `.dot` extension) and renders the image from it with the
 * chosen graphviz filter program.
 *
 * - Every file is replaced atomically: written to a temp file in the same directory, then renamed,
 *   so a viewer never sees half a graph. The DOT stays even when rendering fails, to debug with.
 * - The filter is checked first, for every file type, so a typo fails before anything is written:
 *   `invalid graphviz filter selected: "x"` (reason `invalid-filter`).
 * - The program runs with an argument array, never a shell. Missing, it fails with reason
 *   `not-installed` and says to install the Debian package `graphviz`; failing, with reason
 *   `render-failed` and its stderr.
 */
export async function writeGraphviz(graph: DotGraph, file: string, options: WriteGraphvizOptions = {}): Promise<void> {
  const filter = options.filter || 'dot';
  if (!isGraphvizFilter(filter)) {
    throw new GraphvizError(
      'invalid-filter',
      `invalid graphviz filter selected: ${JSON.stringify(filter)}; use one of ${GRAPHVIZ_FILTERS.join(', ')}`,
    );
  }
  options.signal?.throwIfAborted();

  // Absolute paths: a file named like `-Tx` must reach the program as a path, not as an option.
  const target = resolve(file);
  const extension = extname(target);
  const format = IMAGE_FORMATS[extension.toLowerCase()];
  const dotFile = format ? `${target.slice(0, -extension.length)}.dot` : target;
  await writeFileAtomic(dotFile, toDot(graph, options));
  if (!format) return;

  const temp = tempPathFor(target);
  try {
    await runFilter(filter, [`-T${format}`, '-o', temp, dotFile], target, options.signal);
    await rename(temp, target);
  } finally {
    await rm(temp, { force: true });
  }
}

async function writeFileAtomic(file: string, data: string): Promise<void> {
  const temp = tempPathFor(file);
  try {
    await writeFile(temp, data, { flag: 'wx' });
    await rename(temp, file);
  } finally {
    await rm(temp, { force: true });
  }
}

// A hidden, unique name in the target's own directory, so that rename() is atomic (same file system).
function tempPathFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${tempSuffix()}.tmp`);
}

function runFilter(program: GraphvizFilter, args: string[], image: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'ignore', 'pipe'], signal });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < MAX_STDERR_CHARS) stderr += chunk;
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') {
        reject(
          new GraphvizError(
            'not-installed',
            `cannot render ${image}: the graphviz program "${program}" was not found on PATH; ` +
              'install the Debian package graphviz (apt-get install graphviz)',
            { cause: error },
          ),
        );
      } else {
        // An abort arrives here too; it is not graphviz's failure, so it passes as it is.
        reject(error);
      }
    });
    child.on('close', (code, killedBy) => {
      if (code === 0) return resolvePromise();
      const how = killedBy ? `was killed by ${killedBy}` : `exited with code ${code}`;
      const detail = stderr.trim().slice(0, MAX_STDERR_CHARS);
      const message = `graphviz ${program} failed to render ${image}: it ${how}${detail ? `: ${detail}` : ''}`;
      reject(new GraphvizError('render-failed', message));
    });
  });
}
