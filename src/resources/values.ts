// Rules for values that leave the agent: a path handed to the kernel, a name handed to getent or
// useradd, an id handed to chown. Each kind's validate() applies them, so `mgmt check` refuses what
// the system would refuse (or, worse, misread) at run time.

import type { ParamProblem } from '../core/params.js';

/** MAX_ID is the largest usable uid or gid: 2^32-1 means "no id" to the kernel (chown's -1). */
export const MAX_ID = 0xfffffffe;

/** PATH_MAX is the kernel's limit on a path, in bytes, counting the NUL that ends it. */
export const PATH_MAX = 4096;

/** NAME_MAX is the kernel's limit on one path component, in bytes. */
export const NAME_MAX = 255;

/** MAX_ACCOUNT_NAME is the longest user or group name the agent creates (useradd's limit on Debian). */
export const MAX_ACCOUNT_NAME = 32;

// The POSIX portable filename set, which POSIX also asks of user names: letters, digits, `.`, `_`
// and `-`, never a leading `-` (the tools would take it for an option), plus Samba's trailing `$`.
// It leaves out `:` and `,` and every control character, which would corrupt /etc/passwd's fields
// and useradd's -G list.
const ACCOUNT_NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/;
// C0, DEL and C1: a newline would start a forged line of its own, ESC or CSI a terminal sequence.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const EVERY_CONTROL = new RegExp(CONTROL.source, 'g');

/** isNumericId says whether a string is a uid or gid written in decimal. */
export function isNumericId(value: string): boolean {
  return /^[0-9]+$/.test(value);
}

/** idProblem says what is wrong with a uid or gid, or undefined when it is usable. */
export function idProblem(value: number): string | undefined {
  if (Number.isInteger(value) && value >= 0 && value <= MAX_ID) return undefined;
  return `must be a whole number from 0 to ${MAX_ID}, got ${JSON.stringify(value)} (${typeof value})`;
}

/**
 * accountNameProblem says what is wrong with a user or group name, or undefined when it is valid.
 * An all-digit name is refused: the tools, and this agent, would take it for an id.
 */
export function accountNameProblem(name: string, maxLength = MAX_ACCOUNT_NAME): string | undefined {
  if (name === '') return 'must not be empty';
  if (name.length > maxLength) return `${shorten(name)} is longer than ${maxLength} characters`;
  if (name === '.' || name === '..' || !ACCOUNT_NAME.test(name)) {
    return `${shorten(name)} is not a valid name (letters, digits, "_", "." and "-", not starting with "-", optionally ending in "$")`;
  }
  if (isNumericId(name)) return `${shorten(name)} is all digits, which would be taken for an id`;
  return undefined;
}

// An account that only names an existing one (an owner, an exec's user) may come from LDAP or sssd,
// whose names can be longer than the ones useradd makes: the kernel's LOGIN_NAME_MAX bounds them.
const MAX_REFERENCED_NAME = 255;

/**
 * accountRefProblem checks a reference to an existing user or group: a name, or an id in decimal
 * from 0 to MAX_ID; undefined = valid. Signs, hex and out-of-range numbers are refused, never
 * wrapped: 4294967295 would reach chown as -1, "leave the owner alone".
 */
export function accountRefProblem(ref: string): string | undefined {
  if (isNumericId(ref)) {
    return BigInt(ref) <= BigInt(MAX_ID) ? undefined : `${shorten(ref)} is out of range: an id is a whole number from 0 to ${MAX_ID}`;
  }
  return accountNameProblem(ref, MAX_REFERENCED_NAME);
}

/**
 * pathLengthProblem says which kernel limit a path breaks (the whole path under PATH_MAX bytes,
 * each component at most NAME_MAX bytes), or undefined when it breaks none.
 */
export function pathLengthProblem(path: string): string | undefined {
  // A UTF-16 unit is at most 3 bytes of UTF-8: most paths are too short to need counting.
  if (path.length * 3 <= NAME_MAX) return undefined;
  const bytes = Buffer.byteLength(path);
  if (bytes >= PATH_MAX) return `${shorten(path)} is ${bytes} bytes long: a path must be shorter than ${PATH_MAX} bytes (PATH_MAX)`;
  for (const component of path.split('/')) {
    const length = Buffer.byteLength(component);
    if (length > NAME_MAX) return `${shorten(path)} has a component of ${length} bytes, ${shorten(component)}: at most ${NAME_MAX} (NAME_MAX)`;
  }
  return undefined;
}

/** MAX_ARG_STRLEN is the kernel's limit on one argument or environment string, in bytes with its NUL. */
export const MAX_ARG_STRLEN = 131072;

/** argumentProblem says why a string cannot be one argument (or `NAME=value`) of a new process, or undefined. */
export function argumentProblem(value: string): string | undefined {
  // Up to 4 bytes of UTF-8 per UTF-16 unit: a short string needs no counting.
  if (value.length * 4 < MAX_ARG_STRLEN) return undefined;
  const bytes = Buffer.byteLength(value);
  return bytes < MAX_ARG_STRLEN ? undefined : `${shorten(value)} is ${bytes} bytes: one argument of a command must be shorter than ${MAX_ARG_STRLEN} (MAX_ARG_STRLEN)`;
}

/** controlCharProblem says that a value holds a control character (a newline, an escape), or undefined. */
export function controlCharProblem(value: string): string | undefined {
  return CONTROL.test(value) ? `${shorten(value)} contains a control character` : undefined;
}

/**
 * nulProblems lists every NUL byte in a resource's name and parameters: in each string, list
 * item, map key and map value. No path, name, command, argument or environment variable can hold
 * one (the system calls read a C string and stop at it, or Node refuses it), so a NUL is an error
 * for every kind, reported under the parameter that holds it (`name` for the name).
 */
export function nulProblems(name: string, params: Readonly<Record<string, unknown>>): ParamProblem[] {
  // Thousands of resources are checked at every load: only one with a NUL pays for the messages.
  if (!name.includes('\0') && !hasNul(params)) return [];
  const problems: ParamProblem[] = [];
  const inValue = (param: string, value: unknown, where: string): void => {
    if (typeof value === 'string') {
      if (value.includes('\0')) problems.push({ param, reason: `${where}${shorten(value)} contains a NUL byte, which no path, name or command can hold` });
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => inValue(param, item, `item ${index + 1} `));
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        inValue(param, key, 'key ');
        inValue(param, item, `the value of ${shorten(key)}: `);
      }
    }
  };
  inValue('name', name, 'the name ');
  // A parameter that defaults to the name (a file's path, an exec's cmd) would only repeat it.
  for (const [param, value] of Object.entries(params)) if (problems.length === 0 || value !== name) inValue(param, value, '');
  return problems;
}

/** hasNul says whether a value holds a NUL in any string, list item, map key or map value. */
function hasNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\0');
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(hasNul);
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    // Most parameters are strings, or flags: tested here, without a call each (10 per resource).
    if (key.includes('\0') || (typeof item === 'string' ? item.includes('\0') : typeof item === 'object' && item !== null && hasNul(item))) return true;
  }
  return false;
}

/** shorten quotes a value for a message, control characters escaped and long values cut. */
export function shorten(value: string): string {
  const max = 60;
  const cut = value.length > max ? `${value.slice(0, max)}...` : value;
  return `"${escapeControl(cut.replace(/["\\]/g, '\\$&'))}"`;
}

const PRINTABLE_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * escapeControl writes every control character of `text` as an escape (`\n`, `\u001b`), so a
 * hostile name stays on its line and sends nothing to the terminal; the rest is left as it is.
 */
export function escapeControl(text: string): string {
  return text.replace(EVERY_CONTROL, (c) => PRINTABLE_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
