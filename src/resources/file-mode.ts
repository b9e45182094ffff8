// The `mode` parameter of the file kind: an octal number ("0644", "644", "4755") or a symbolic
// assignment list ("u=rw,go=r"). Like upstream (FileModeAllowAssign = false), symbolic modes may
// only assign with `=`: `+` and `-` describe a change rather than a state.

/** FileMode is a parsed mode: applying it to the current permission bits gives the desired ones. */
export interface FileMode {
  /** The text it was parsed from, for messages. */
  readonly text: string;
  /** apply returns the desired 12 permission bits given the current ones. */
  apply(current: number, isDir: boolean): number;
}

const WHO_BITS: Readonly<Record<string, number>> = { u: 0o4700, g: 0o2070, o: 0o1007 };
const PERM_BITS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  u: { r: 0o400, w: 0o200, x: 0o100, s: 0o4000, t: 0 },
  g: { r: 0o040, w: 0o020, x: 0o010, s: 0o2000, t: 0 },
  o: { r: 0o004, w: 0o002, x: 0o001, s: 0, t: 0o1000 },
};

/** parseFileMode parses a `mode` value; it returns a reason string when the value is invalid. */
export function parseFileMode(text: string): FileMode | string {
  if (/^[0-7]+$/.test(text)) {
    const bits = parseInt(text, 8);
    if (bits > 0o7777) return `mode "${text}" is out of range: at most 4 octal digits (e.g. "0644")`;
    return { text, apply: () => bits };
  }
  const clauses: Array<{ who: string[]; perms: string }> = [];
  for (const clause of text.split(',')) {
    const match = /^([ugoa]*)([=+-])([rwxXst]*)$/.exec(clause);
    if (match === null) {
      return `mode "${text}" is neither octal (e.g. "0644") nor symbolic (e.g. "u=rw,go=r"): bad clause "${clause}"`;
    }
    const [, who = '', op, perms = ''] = match;
    if (op !== '=') {
      return `mode "${text}": symbolic modes may only assign with "=" (e.g. "u=rwx,go=rx"), "${op}" describes a change, not a state`;
    }
    const whoList = who === '' || who.includes('a') ? ['u', 'g', 'o'] : [...new Set(who)];
    clauses.push({ who: whoList, perms });
  }
  return {
    text,
    apply(current, isDir) {
      let mode = current & 0o7777;
      for (const { who, perms } of clauses) {
        // X means x for a directory or for a file that some class may already execute.
        const executable = isDir || (mode & 0o111) !== 0;
        for (const w of who) {
          mode &= ~WHO_BITS[w]!;
          for (const p of perms) {
            const letter = p === 'X' ? (executable ? 'x' : '') : p;
            if (letter !== '') mode |= PERM_BITS[w]![letter]!;
          }
        }
      }
      return mode;
    },
  };
}

/** formatMode renders permission bits as four octal digits, the form used in messages. */
export function formatMode(bits: number): string {
  return (bits & 0o7777).toString(8).padStart(4, '0');
}
