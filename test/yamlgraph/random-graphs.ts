import { of } from 'rxjs';
import { createRegistry, type Registry } from '../../src/core/registry.js';
import { noop } from '../../src/resources/noop.js';
import type { ResourceKind } from '../../src/core/kind.js';

/** loose is a test-only kind with one parameter of each type and no validation, so any well-typed value is accepted. */
export const loose: ResourceKind<Record<string, unknown>> = {
  kind: 'loose',
  doc: 'a test kind that accepts any well-typed value',
  params: {
    text: { type: 'string', doc: 'any string' },
    other: { type: 'string', doc: 'any string' },
    flag: { type: 'bool', doc: 'on or off' },
    count: { type: 'int', doc: 'any integer' },
    size: { type: 'uint', doc: 'a whole number >= 0' },
    ratio: { type: 'number', doc: 'any number' },
    tags: { type: 'stringList', doc: 'labels' },
    labels: { type: 'stringMap', doc: 'key/value labels' },
  },
  defaults: () => ({ text: '', other: '', flag: false, count: 0, size: 0, ratio: 0, tags: [], labels: {} }),
  validate: () => [],
  init: () => ({ watch: () => of(undefined), checkApply: async () => true }),
};

/** looseRegistry holds `noop` and `loose`. */
export const looseRegistry: Registry = createRegistry([noop, loose]);

/** Random is a seeded source of choices, so a failing case can be replayed from its seed. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** next is a float in [0, 1) (mulberry32). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** int is a whole number in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** pick is one of the items. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** chance is true with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** TRICKY_SCALARS are texts whose meaning depends on YAML 1.1 rules, quoting or the parser. */
export const TRICKY_SCALARS: readonly string[] = [
  'a', 'hello world', '/tmp/x', 'yes', 'no', 'on', 'off', 'y', 'N', 'Yes', 'TRUE', 'false', 'True',
  '0644', '0755', '0x1f', '0b101', '0o17', '1_000', '012_3', '12:30', '1:20:30.5', '190:20:30',
  '.inf', '-.Inf', '+.INF', '.nan', '.NaN', '~', 'null', 'Null', 'NULL', '', '1e3', '-1.5e-3', '3.', '.5',
  '1.', '-0', '+0', '+12', '-7', '007', '9999999999999999999', '2001-12-14', '2001-12-14t21:59:43.10-05:00',
  '2002-12-14 21:59:43.10 -5', 'a b  c', 'a #b', 'a#b', 'a:b', 'a: b', 'http://h:80/p?q=1', 'é', '日本語', ' lead',
  'trail ', '@@x', '-x', '- x', '%x', 'x%', '`x', "it's", 'say "hi"', 'line1\nline2', 'a\n\nb', 'back\\slash',
  '"', "'", '[a]', '{a: 1}', ',', 'a,b', '|', '>', '#', '=', '<', '&x', '*x', '!x', '?', '? x', 'x?', ': x',
  '--- x', '...', 'tab\there', '\u00a0nbsp', 'cr\rlf', 'end\n', '\n', ' ',
];

/** plainSafe says whether text reads back as itself when written as a plain scalar (in flow collections too with `inFlow`). */
function plainSafe(text: string, inFlow: boolean): boolean {
  if (text === '' || text !== text.trim() || /^[-?:,[\]{}#&*!|>'"%@`]/.test(text)) return false;
  if (/: |:$| #|[\n\r\t\u0085\u2028\u2029\u00a0]/.test(text)) return false;
  return !inFlow || !/[,[\]{}]/.test(text);
}

/** blockSafe says whether text reads back as itself (give or take the final line break) from a block scalar. */
function blockSafe(text: string): boolean {
  return text !== '' && !/^[ \n]|[\r\t\u0085\u2028\u2029]/.test(text);
}

/**
 * renderScalar writes one scalar value in a random YAML style for a value at `indent` spaces. A
 * style that cannot carry the text is replaced by double quotes, except in about one case in
 * twenty, which is written raw on purpose: the paths must agree on broken files too.
 */
export function renderScalar(random: Random, value: string, indent: number): string {
  const pad = ' '.repeat(indent + 2);
  const raw = random.chance(0.05);
  const style = random.int(9);
  if (style <= 2 || style === 7 || style === 8) {
    if (!raw && !plainSafe(value, false)) return JSON.stringify(value);
    if (style === 7) return value.includes(' ') ? value.replace(' ', `\n${pad}`) : value;
    if (style === 8) return `${value} # a comment`;
    return value;
  }
  if (style === 3) return `'${value.replace(/'/g, "''")}'`;
  if (style === 4) {
    // Quoted scalars may go on over several lines: a break folds to a space, an empty line is a
    // newline, and a `\` before a break (double quotes only) joins the lines.
    const quoted = JSON.stringify(value);
    if (!value.includes(' ') || random.chance(0.5)) return quoted;
    return quoted.replace(' ', random.pick([`\n${pad}`, `\n\n${pad}`, `\\\n${pad}`, ` \\\n${pad}\\ `, `\n${pad}\n${pad}`]));
  }
  if (!raw && !blockSafe(value)) return JSON.stringify(value);
  const indicator = style === 5 ? '|' : '>';
  const chomp = random.pick(['', '-', '+']);
  return `${indicator}${chomp}\n${value.split('\n').map((line) => (line === '' ? '' : pad + line)).join('\n')}`;
}

/** randomValue is a scalar text for a parameter: mostly tricky, sometimes a plain word. */
function randomValue(random: Random): string {
  return random.chance(0.7) ? random.pick(TRICKY_SCALARS) : `w${random.int(1000)}`;
}

/** randomGraph writes a graph of noop and loose resources, edges and collect entries in varied YAML styles. */
export function randomGraph(random: Random): string {
  const lines: string[] = [];
  if (random.chance(0.3)) lines.push('---');
  if (random.chance(0.2)) lines.push('# a graph');
  lines.push(`graph: ${random.chance(0.8) ? `g${random.int(100)}` : renderScalar(random, randomValue(random), 0)}`);
  if (random.chance(0.3)) lines.push(`comment: ${renderScalar(random, randomValue(random), 0)}`);
  lines.push('resources:');
  const names: string[] = [];
  const count = 1 + random.int(5);
  lines.push('  loose:');
  for (let i = 0; i < count; i++) {
    const name = random.chance(0.8) ? `r${i}` : `${randomValue(random)}${i}`;
    names.push(name);
    if (random.chance(0.2)) {
      const pairs = [`name: ${JSON.stringify(name)}`];
      if (random.chance(0.7)) pairs.push(`text: ${flowScalar(random)}`);
      if (random.chance(0.5)) pairs.push(`count: ${random.pick(['1', '0x10', '-3', '0644', '1_0', '12:30', '"4"', "'5'"])}`);
      if (random.chance(0.5)) pairs.push(`flag: ${random.pick(['yes', 'no', 'on', 'off', 'true', 'y', '"yes"', 'ON'])}`);
      lines.push(`  - {${pairs.join(', ')}}`);
      continue;
    }
    lines.push(`  - name: ${JSON.stringify(name)}`);
    const params: [string, () => string][] = [
      ['text', () => renderScalar(random, randomValue(random), 4)],
      ['other', () => renderScalar(random, randomValue(random), 4)],
      ['flag', () => typed(random, random.pick(['yes', 'no', 'on', 'off', 'y', 'n', 'true', 'False', 'YES', 'On', '1', '~', '']))],
      ['count', () => typed(random, random.pick(['0', '1', '-12', '0644', '0x1f', '0b11', '1_000', '12:30', '1e3', '1.5', '+7', '~', '']))],
      ['size', () => typed(random, random.pick(['0', '1', '12', '0644', '0x1F', '-1', '1_0', '190:20:30', '~']))],
      ['ratio', () => typed(random, random.pick(['1', '.5', '1.5', '-2.5e3', '.inf', '-.inf', '.nan', '12:30.5', '3.', '0x10', '~']))],
      ['tags', () => randomList(random)],
      ['labels', () => randomMap(random)],
    ];
    for (const [key, value] of params) if (random.chance(0.5)) lines.push(`    ${key}: ${value()}`);
    if (random.chance(0.3)) {
      lines.push('    meta:');
      if (random.chance(0.5)) lines.push(`      noop: ${random.pick(['yes', 'true', 'on', 'no', 'n'])}`);
      if (random.chance(0.5)) lines.push(`      retry: ${random.pick(['-1', '0', '3', '0x3', '1_0'])}`);
      if (random.chance(0.5)) lines.push(`      limit: ${random.pick(['.inf', '.Inf', '2.5', '10'])}`);
      if (random.chance(0.5)) lines.push(`      burst: ${random.pick(['1', '5', '010'])}`);
      if (random.chance(0.5)) lines.push(`      sema: [${random.pick(['a', 'a:2', '"b:3"', 'lock:1, x'])}]`);
    }
  }
  if (random.chance(0.5)) {
    lines.push('  noop:');
    lines.push(`  - name: n0`);
    if (random.chance(0.5)) lines.push(`    comment: ${renderScalar(random, randomValue(random), 4)}`);
  }
  if (random.chance(0.6) && names.length > 1) {
    lines.push('edges:');
    for (let i = 1; i < names.length; i++) {
      if (!random.chance(0.6)) continue;
      lines.push(`- name: e${i}`);
      lines.push(`  from: {kind: ${random.pick(['loose', 'LOOSE', 'Loose'])}, name: ${JSON.stringify(names[i - 1])}}`);
      lines.push(random.chance(0.5) ? `  to: {kind: loose, name: ${JSON.stringify(names[i])}}` : `  to:\n    kind: loose\n    name: ${JSON.stringify(names[i])}`);
      if (random.chance(0.5)) lines.push(`  notify: ${random.pick(['yes', 'true', 'no', 'on', 'Off'])}`);
    }
  } else if (random.chance(0.3)) {
    lines.push('edges:');
  }
  if (random.chance(0.3)) {
    lines.push('collect:');
    lines.push(`- kind: ${random.pick(['noop', 'Loose'])}`);
    if (random.chance(0.5)) lines.push(`  pattern: ${renderScalar(random, randomValue(random), 2)}`);
  }
  const end = random.chance(0.8) ? '\n' : random.pick(['', '\n\n', '\n ', '\n  \n', ' ']);
  return `${lines.join(random.chance(0.1) ? '\r\n' : '\n')}${end}`;
}

/** mutate changes a few characters of text, to reach the corners where two YAML parsers might disagree. */
export function mutate(random: Random, text: string): string {
  const pieces = [' ', '  ', '\n', ':', ': ', '-', '- ', '"', "'", '#', ' #', '[', ']', '{', '}', ',', '|', '>', '\t', '\r', 'a', '0', '?', '~', '\\', '%', '@', '`', '.', '\n  ', '\n\n', 'yes', '\ufeff', '\u0085', '\u2028', '\x01'];
  let out = text;
  const edits = 1 + random.int(3);
  for (let i = 0; i < edits; i++) {
    const at = random.int(out.length + 1);
    switch (random.int(3)) {
      case 0:
        out = out.slice(0, at) + random.pick(pieces) + out.slice(at);
        break;
      case 1:
        out = out.slice(0, at) + out.slice(at + 1 + random.int(3));
        break;
      default:
        out = out.slice(0, at) + random.pick(pieces) + out.slice(at + 1);
    }
  }
  return out;
}

/** typed writes a value for a bool or number parameter: plain, as it must be to be one, but now and then in another style. */
function typed(random: Random, value: string): string {
  return random.chance(0.85) ? value : renderScalar(random, value, 4);
}

function flowScalar(random: Random): string {
  const value = randomValue(random);
  const style = random.int(3);
  if (style === 0 && (plainSafe(value, true) || random.chance(0.05))) return value;
  return style === 2 ? `'${value.replace(/'/g, "''")}'` : JSON.stringify(value);
}

function randomList(random: Random): string {
  const items = Array.from({ length: random.int(4) }, () => flowScalar(random));
  if (random.chance(0.5)) return `[${items.join(', ')}${items.length > 0 && random.chance(0.2) ? ',' : ''}]`;
  if (items.length === 0) return random.pick(['[]', '~', '']);
  return `\n${items.map((item) => `    - ${item}`).join('\n')}`;
}

function randomMap(random: Random): string {
  // Some keys are one YAML 1.1 value (`yes` and `on`, `1` and `01`), which the exact path refuses.
  const keys = random.chance(0.1)
    ? ['a', 'yes', 'on', '1', '01', '0x2', '~', 'null', '"~"', "'no'", '1.0', '"3"']
    : ['a', 'b', 'yes', 'off', '2', '~', '"null"', "'on'", 'k k', '__proto__', 'toString', '1.0', '"3"'];
  const count = random.int(4);
  // Distinct keys, except now and then: a duplicate key is an error on both paths.
  const chosen = random.chance(0.05) ? Array.from({ length: count }, () => random.pick(keys)) : shuffled(random, keys).slice(0, count);
  const pairs = chosen.map((key) => [key, flowScalar(random)] as const);
  if (random.chance(0.5)) return `{${pairs.map(([k, v]) => `${k}: ${v}`).join(', ')}}`;
  if (pairs.length === 0) return random.pick(['{}', '~', '']);
  return `\n${pairs.map(([k, v]) => `      ${k}: ${v}`).join('\n')}`;
}

function shuffled<T>(random: Random, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
