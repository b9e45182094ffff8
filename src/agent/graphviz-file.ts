import { rename, rm } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { toDot, type DotGraph, type ToDotOptions } from '../../graphviz/to-dot.js';
import { tempPathFor, writeFileAtomic } from '../os/atomic-write.js';
import { describeExit, runToExit, type ProcessResult } from '../os/process.js';

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
 * GraphvizError is an expected failure of writeGraphviz, with its reason: the caller wraps it
 * (a UsageError for `invalid-filter`, a MgmtError otherwise), as the exit codes differ.
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

// Enough of the program's stderr (its end) to say what went wrong, without holding a runaway log in memory.
const MAX_STDERR_BYTES = 4000;

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

async function runFilter(program: GraphvizFilter, args: string[], image: string, signal?: AbortSignal): Promise<void> {
  let result: ProcessResult;
  try {
    result = await runToExit({ file: program, args, stdout: 'ignore', tailBytes: MAX_STDERR_BYTES }, { signal });
  } catch (error) {
    // An abort is not graphviz's failure, so it passes as it is.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || signal?.aborted) throw error;
    throw new GraphvizError(
      'not-installed',
      `cannot render ${image}: the graphviz program "${program}" was not found on PATH; ` +
        'install the Debian package graphviz (apt-get install graphviz)',
      { cause: error },
    );
  }
  if (result.code === 0) return;
  const detail = result.stderr.trim();
  const message = `graphviz ${program} failed to render ${image}: it ${describeExit(result)}${detail ? `: ${detail}` : ''}`;
  throw new GraphvizError('render-failed', message);
}
