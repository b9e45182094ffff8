import { Random, renderScalar, TRICKY_SCALARS } from './random-graphs.js';

// Graph-like YAML documents for the block scanner's differential tests: block maps and lists
// nested in every way indentation allows (any step, lists in their key's column, `- key:` maps),
// keys and scalars from every character class and quoting style, escapes valid and not, block
// scalars with each chomping, flow collections, empty values, comments and blank lines anywhere,
// CRLF now and then. Not every document is valid YAML, on purpose.

/** KEYS are map keys, plain and quoted, that YAML 1.1 reads in different ways. */
const KEYS: readonly string[] = [
  'name', 'path', 'content', 'graph', 'resources', 'k k', 'a:b', 'a#b', 'yes', 'on', 'no', '1', '01', '0x1', '1.0', '~', 'null',
  'true', '__proto__', 'toString', 'constructor', '12', '-x', 'é', '"quoted"', "'single'", '"a: b"', '"#"', "'it''s'", '""', '"~"',
  '"1"', '2001-12-14', '.inf', '@@x', '%x', 'x%', '`x', '-', '?', '[a]', '{a: 1}', '"\\x41"', '"a\\"b"',
];

/** ESCAPES are backslash escapes for double-quoted scalars, valid and not. */
const ESCAPES: readonly string[] = [
  '\\n', '\\t', '\\\\', '\\"', '\\/', '\\ ', '\\0', '\\a', '\\b', '\\e', '\\f', '\\r', '\\v', '\\N', '\\_', '\\L', '\\P',
  '\\x41', '\\x7f', '\\u00e9', '\\u2028', '\\U0001F600', '\\UFFFFFFFF', '\\x4', '\\xZZ', '\\q', '\\\'', '\\\t',
];

/** FLOWS are one-line flow collections, nested and not, valid and not. */
const FLOWS: readonly string[] = [
  '[]', '{}', '[a, b]', '[a, b,]', '[a,, b]', '[, a]', '{a: 1, b: "2"}', '{a: 1,}', '{kind: noop, name: n1}', '[{a: 1}, [b, c]]',
  '{a: {b: {c: [d]}}}', '["x # y", \'z\']', '[a: b]', '{a, b: c}', '{a:1}', '{"a":1}', '{a: }', '[-1, -a]', '[- a]', '[a #b]',
  '{yes: 1, on: 2}', '{a: 1, a: 2}', '[a]b', '{a: [1, 2}', '[ yes , ~ , 0644 ]', '{ "k": \'v\' }', '[a:b, c]', '{x: -}',
];

/** CLEAN_SCALARS are plain scalars a clean document uses: words, paths, numbers, booleans, nulls, dates. */
const CLEAN_SCALARS: readonly string[] = [
  'a', 'hello world', '/tmp/x', 'yes', 'no', 'on', 'off', 'y', 'N', 'TRUE', '0644', '0x1f', '1_000', '12:30', '.inf', '.nan', '~', 'null',
  '1e3', '-1.5e-3', '3.', '-7', '2001-12-14', 'a:b', 'a#b', 'http://h:80/p?q=1', 'é', '日本語', '@@x', '-x', 'x%', "it's", 'say "hi"', 'back\\slash',
];

/** randomKey is a map key in some style. */
function randomKey(random: Random, clean: boolean): string {
  if (clean) return random.pick(['name', 'path', 'content', 'mode', 'k', 'v', 'x', 'y', 'yes', '1', '"q k"', "'s'"]);
  return random.chance(0.6) ? random.pick(['name', 'path', 'content', 'mode', 'k', 'v', 'x', 'y']) + (random.chance(0.3) ? random.int(5) : '') : random.pick(KEYS);
}

/** doubleQuoted is a double-quoted scalar with a few escapes (some invalid) among tricky text. */
function doubleQuoted(random: Random): string {
  const parts: string[] = [];
  for (let i = random.int(4); i >= 0; i--) parts.push(random.chance(0.5) ? random.pick(ESCAPES) : JSON.stringify(random.pick(TRICKY_SCALARS)).slice(1, -1));
  return `"${parts.join(random.pick(['', ' ', ': ', ' # ']))}"`;
}

/** inlineValue is what may follow `key: ` or `- ` on the same line, for a value at `indent`. */
function inlineValue(random: Random, indent: number, clean: boolean): string {
  if (clean) {
    const word = random.pick(CLEAN_SCALARS);
    return random.pick([word, word, JSON.stringify(word), `'${word.replace(/'/g, "''")}'`, `[${word}, "${word}"]`, `{k: ${word}, j: [x]}`]);
  }
  switch (random.int(6)) {
    case 0:
      return doubleQuoted(random);
    case 1:
      return random.pick(FLOWS);
    default:
      return renderScalar(random, random.pick(TRICKY_SCALARS), indent);
  }
}

/** Writer collects a document's lines with blank lines and comments thrown in. */
class Writer {
  readonly lines: string[] = [];

  constructor(
    private readonly random: Random,
    /** clean documents use only what the block scanner reads, so that most of them are read. */
    readonly clean: boolean,
  ) {}

  line(text: string): void {
    this.lines.push(text);
    const random = this.random;
    if (random.chance(0.08)) this.lines.push(random.pick(['', ' ', '   ', '      ']));
    if (random.chance(0.08)) this.lines.push(`${' '.repeat(random.int(8))}# ${random.pick(['a comment', 'key: value', '- item', '"quoted', '|', ''])}`);
  }

  comment(): string {
    return this.random.chance(0.1) ? ` # ${this.random.pick(['c', 'a: b', '#', ''])}` : '';
  }
}

/** writeValue writes the value of a key or item whose collection stands at `owner`, after `head` (`key:` or `-`). */
function writeValue(random: Random, out: Writer, head: string, owner: number, depth: number, inMap: boolean): void {
  const choice = depth > 4 ? random.int(3) : random.int(8);
  if (choice <= 1) {
    out.line(`${head} ${inlineValue(random, owner, out.clean)}${out.comment()}`);
  } else if (choice === 2) {
    out.line(`${head}${random.chance(0.5) ? '' : ' '}${out.comment()}`);
  } else if (choice === 3) {
    const indicator = `${random.pick(['|', '>'])}${random.pick(['', '-', '+'])}`;
    out.line(`${head} ${indicator}${out.comment()}`);
    const pad = ' '.repeat(owner + 1 + random.int(3));
    for (let i = random.int(4); i >= 0; i--) {
      out.lines.push(random.pick([`${pad}${random.pick(out.clean ? CLEAN_SCALARS : TRICKY_SCALARS).replace(/[\r\n]/g, ' ')}`, `${pad}  more indented`, '', pad, `${pad}# not a comment`, out.clean ? `${pad}x: y` : `${pad}: colon`]));
    }
  } else {
    out.line(`${head}${out.comment()}`);
    const step = random.pick([1, 2, 2, 4]);
    const indent = inMap && random.chance(0.3) ? owner : owner + step;
    if (random.chance(0.5) || indent === owner) writeSeq(random, out, indent, depth + 1);
    else writeMap(random, out, indent, depth + 1, ' '.repeat(indent));
  }
}

/** writeMap writes a block map at column `indent`, its first key after `first` (spaces, or `- ` of a list item). */
function writeMap(random: Random, out: Writer, indent: number, depth: number, first: string): void {
  const count = 1 + random.int(4);
  const keys = Array.from({ length: count }, () => randomKey(random, out.clean));
  // A clean map has distinct keys, each in its column.
  const distinct = out.clean ? [...new Set(keys)] : keys;
  distinct.forEach((key, i) => {
    const lead = i === 0 ? first : ' '.repeat(Math.max(0, indent + (!out.clean && random.chance(0.03) ? random.pick([-1, 1]) : 0)));
    writeValue(random, out, `${lead}${key}${random.chance(0.05) ? ' ' : ''}:`, indent, depth, true);
  });
}

/** writeSeq writes a block list whose dashes stand at column `indent`. */
function writeSeq(random: Random, out: Writer, indent: number, depth: number): void {
  const pad = ' '.repeat(indent);
  for (let i = random.int(4); i >= 0; i--) {
    if (depth < 5 && random.chance(0.4)) {
      writeMap(random, out, indent + 2, depth + 1, `${pad}- `);
    } else if (random.chance(0.05) && !out.clean) {
      out.line(`${pad}- - ${inlineValue(random, indent, false)}`);
    } else {
      writeValue(random, out, `${pad}-`, indent, depth, false);
    }
  }
}

/** randomDocument writes one graph-like document. */
export function randomDocument(random: Random): string {
  const out = new Writer(random, random.chance(0.5));
  if (random.chance(0.2)) out.lines.push(random.pick(['---', '--- ', '# head', '']));
  writeMap(random, out, 0, 0, '');
  const eol = random.chance(0.1) ? '\r\n' : '\n';
  return out.lines.join(eol) + random.pick([eol, eol, eol, '', `${eol}${eol}`]);
}
