// One error family for the whole agent. The top-level catch in src/cli turns an
// expected error (any MgmtError) into a one-line message and an exit code, and
// anything else into "this is a bug" with its stack.

/** SourcePos is a place in an input file: 1-based line and column. */
export interface SourcePos {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** formatPos renders a SourcePos as `file:line:column` (the form editors jump to). */
export function formatPos(pos: SourcePos | undefined): string {
  if (!pos) return '';
  return `${pos.file}:${pos.line}:${pos.column}`;
}

/** resourceId builds the one canonical `kind[name]` string that names a resource everywhere. */
export function resourceId(kind: string, name: string): string {
  return `${kind}[${name}]`;
}

/** MgmtError is the base of every expected failure; `exitCode` is what the CLI exits with. */
export class MgmtError extends Error {
  readonly exitCode: number;
  constructor(message: string, options: { cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Diagnostic is one problem found in the input, with where it is and which resource it concerns. */
export interface Diagnostic {
  readonly message: string;
  readonly pos?: SourcePos;
  /** The resource id `kind[name]` the problem belongs to, when there is one. */
  readonly resource?: string;
}

/** formatDiagnostic renders `file:line:col: kind[name]: message`, leaving out the parts it lacks. */
export function formatDiagnostic(d: Diagnostic): string {
  const parts: string[] = [];
  if (d.pos) parts.push(formatPos(d.pos));
  if (d.resource) parts.push(d.resource);
  parts.push(d.message);
  return parts.join(': ');
}

/** InputError is a bad graph or bad command line: one or more diagnostics, exit code 2. */
export class InputError extends MgmtError {
  readonly diagnostics: readonly Diagnostic[];
  constructor(diagnostics: Diagnostic | readonly Diagnostic[], options: { cause?: unknown } = {}) {
    const list = Array.isArray(diagnostics) ? (diagnostics as readonly Diagnostic[]) : [diagnostics as Diagnostic];
    super(list.map(formatDiagnostic).join('\n'), { ...options, exitCode: 2 });
    this.diagnostics = list;
  }
}

/** UsageError is a bad command line (unknown flag, missing value); exit code 2. */
export class UsageError extends MgmtError {
  constructor(message: string) {
    super(message, { exitCode: 2 });
  }
}

/** ResourcePhase names the part of a resource's life an error happened in. */
export type ResourcePhase = 'validate' | 'init' | 'watch' | 'checkApply' | 'cleanup';

/** ResourceError is a failure of one resource; its message starts with the resource id. */
export class ResourceError extends MgmtError {
  readonly resource: string;
  readonly phase: ResourcePhase;
  constructor(resource: string, phase: ResourcePhase, message: string, options: { cause?: unknown } = {}) {
    super(`${resource}: ${phase}: ${message}`, { ...options, exitCode: 1 });
    this.resource = resource;
    this.phase = phase;
  }
}

/** ExitError asks the CLI to exit with a code after printing a message (empty = print nothing). */
export class ExitError extends MgmtError {
  constructor(exitCode: number, message = '') {
    super(message, { exitCode });
  }
}

/** errorMessage extracts a readable message from anything thrown. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * causesOf lists an error and the errors it wraps (`cause`), outermost first, at most `max` of them
 * (a wrapped library error says what the wrapper's one line leaves out).
 */
export function causesOf(err: unknown, max = 5): Error[] {
  const causes: Error[] = [];
  for (let e = err; e instanceof Error && causes.length < max; e = e.cause) causes.push(e);
  return causes;
}
