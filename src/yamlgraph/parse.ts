import { LineCounter, parseAllDocuments, type Node } from 'yaml';
import { InputError, resourceId } from '../errors.js';
import { conflictDiagnostic, dedupeResources } from '../graph/canonical.js';
import { COLLECT_ALLOWANCES, type CollectAllowance, type RehomeRule } from '../core/collect.js';
import { DEFAULT_META, type CollectSpec, type EdgeSpec, type GraphSpec, type Meta, type ResourceSpec, type VertexRef } from '../graph/spec.js';
import type { Registry } from '../core/registry.js';
import type { AnyResourceKind } from '../core/kind.js';
import { validateResource } from '../resources/validate.js';
import { escapeControl } from '../resources/values.js';
import { aliasProblem } from './aliases.js';
import { ParseContext } from './context.js';
import { ExactTree } from './exact-tree.js';
import { fastPathObstacle } from './fast-gate.js';
import { FastTree, loadFast } from './fast-tree.js';
import { mayHoldNul, readGraphText, refuseHostileText, refuseUnreadableText } from './input.js';
import { scanBlock } from './scan-block.js';
import { didYouMean, kindProblem } from './kinds.js';
import { parseMeta } from './meta.js';
import type { Entry } from './tree.js';
import { decodeValue, Mismatch } from './values.js';

/** ParseOptions tune how forgiving the YAML frontend is. */
export interface ParseOptions {
  /** Treat every warning (an ignored key, an unsupported meta parameter) as an error. */
  readonly strict?: boolean;
}

/**
 * parseGraph reads mgmt's classic YAML graph format into a validated
 * GraphSpec. It collects every problem in the file and throws them together as one InputError,
 * each with its file:line:column and, where it concerns a resource, its `kind[name]`. Every
 * resource, edge and collect entry of the spec carries its position.
 *
 * YAML 1.1 rules apply, as in upstream's yaml.v2: `yes`/`no` are booleans and `<<` merges maps.
 */
export function parseGraph(text: string, file: string, registry: Registry, options: ParseOptions = {}): GraphSpec {
  refuseHostileText(text, file);
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, {
    lineCounter: lines,
    version: '1.1',
    prettyErrors: false,
    // Warnings come back in doc.warnings; the default level would also print them to the process.
    logLevel: 'error',
  });
  if (docs.length === 0) throw new InputError({ pos: { file, line: 1, column: 1 }, message: 'the file is empty: a graph needs at least `graph: NAME`' });
  const first = docs[0]!;
  const tree = new ExactTree(file, first, lines);
  const ctx = new ParseContext<Node>(file, tree, options.strict === true);
  for (const doc of docs) {
    for (const err of doc.errors) ctx.error(err.pos[0], `invalid YAML: ${err.message}`);
  }
  if (docs.length > 1) {
    ctx.error(docs[1]!.range[0], `the file holds ${docs.length} YAML documents; a graph file holds exactly one`);
  }
  if (ctx.errors.length > 0) throw new InputError(ctx.errors);
  const bomb = aliasProblem(first, tree.anchors);
  if (bomb) throw new InputError({ message: bomb.message, ...(ctx.pos(bomb.at) ? { pos: ctx.pos(bomb.at)! } : {}) });
  for (const warning of first.warnings) ctx.warn(warning.pos[0], `YAML: ${warning.message}`);

  const spec = parseDocument(ctx, registry);
  if (ctx.errors.length > 0 || !spec) throw new InputError(ctx.errors);
  return spec;
}

/** ParsePath says which reader produced a spec: 'fast' (js-yaml, no positions) or 'exact' (the `yaml` package, positioned). */
export type ParsePath = 'fast' | 'exact';

/** ParsedGraph is a spec with the path that read it. */
export interface ParsedGraph {
  readonly spec: GraphSpec;
  readonly path: ParsePath;
  /** Why the fast path was not taken, when it was not. */
  readonly declined?: string;
}

/**
 * parseGraphFast returns the same spec as parseGraph, but reads a plain, valid file several times
 * faster: such a file takes the fast path (js-yaml), whose spec has no positions (`pos`). Only
 * diagnostics need positions, so a caller that finds a problem in a fast spec (as compileGraph
 * may) should parse again with parseGraph to report it. A file with anything unusual (anchors,
 * tags, merge keys, several documents) or anything to report (a syntax error, a warning, an
 * invalid value) is read by parseGraph here, so problems are reported exactly as it reports them.
 */
export function parseGraphFast(text: string, file: string, registry: Registry, options: ParseOptions = {}): ParsedGraph {
  // Refused before js-yaml sees it, as parseGraph would refuse it.
  refuseUnreadableText(text, file);
  const fast = fastSpec(text, file, registry, options.strict === true);
  if (typeof fast !== 'string') return { spec: fast, path: 'fast' };
  return { spec: parseGraph(text, file, registry, options), path: 'exact', declined: fast };
}

/** loadGraphFile reads a graph file from disk and parses it exactly; an unreadable file is an InputError naming the path. */
export async function loadGraphFile(path: string, registry: Registry, options: ParseOptions = {}): Promise<GraphSpec> {
  const text = await readGraphText(path);
  return parseGraph(text, path, registry, options);
}

/**
 * fastSpec reads text on the fast path: the spec when the file is plain and clean, else why not.
 * js-yaml refuses nesting deeper than FAST_MAX_DEPTH itself, so the exact path's nesting scan is
 * not needed here: a deep file is declined and the exact path refuses it.
 */
function fastSpec(text: string, file: string, registry: Registry, strict: boolean): GraphSpec | string {
  try {
    // The block scanner reads only what the gate lets through, as js-yaml reads it, several
    // times faster; what it declines goes through the gate and js-yaml as before.
    let root = scanBlock(text);
    if (root === undefined) {
      const obstacle = fastPathObstacle(text);
      if (obstacle !== undefined) return `the text has ${obstacle}`;
      root = loadFast(text);
    }
    const ctx = new ParseContext(file, new FastTree(root), strict, !mayHoldNul(text));
    const spec = parseDocument(ctx, registry);
    // Without positions a diagnostic would be worse than parseGraph's: let parseGraph report it.
    if (!spec || ctx.errors.length > 0 || ctx.warnings.length > 0) return 'the file has diagnostics';
    return spec;
  } catch (err) {
    // A syntax error, a deep nest (js-yaml throws a YAMLException, not a stack overflow) or a
    // scalar FastTree cannot vouch for: parseGraph reads the file and explains any problem.
    return err instanceof Error ? err.message : String(err);
  }
}

/** TOP_LEVEL_KEYS are the keys a graph document may have; `remote` is upstream's old SSH mode. */
const TOP_LEVEL_KEYS = ['graph', 'comment', 'resources', 'edges', 'collect', 'remote'];

/** parseDocument walks the top-level map; undefined when it is too broken to describe a graph. */
function parseDocument<N>(ctx: ParseContext<N>, registry: Registry): GraphSpec | undefined {
  const root = ctx.deref(ctx.tree.root());
  if (ctx.isNull(root)) {
    ctx.error(root ?? 0, 'the file is empty: a graph needs at least `graph: NAME`');
    return undefined;
  }
  if (!ctx.isMap(root)) {
    ctx.error(root, `the top level must be a map with \`graph\`, \`resources\` and \`edges\`, got ${ctx.describe(root)}`);
    return undefined;
  }
  let name: string | undefined;
  let comment: string | undefined;
  let resources: ResourceSpec[] = [];
  let edges: EdgeSpec[] = [];
  let collect: CollectSpec[] = [];
  let named = false;
  for (const entry of ctx.entries(root)) {
    switch (entry.key) {
      case 'graph':
        named = true;
        name = requiredString(entry, ctx, 'the graph name `graph`');
        break;
      case 'comment':
        comment = optionalString(entry, ctx);
        break;
      case 'resources':
        resources = parseResources(entry.value, ctx, registry);
        break;
      case 'edges':
        edges = parseEdges(entry.value, ctx);
        break;
      case 'collect':
        collect = parseCollect(entry.value, ctx, registry);
        break;
      case 'remote':
        ctx.warn(entry.keyNode, '`remote` (upstream\'s old SSH mode) is not supported and is ignored');
        break;
      default:
        ctx.warn(entry.keyNode, `unknown top-level key \`${entry.key}\`${didYouMean(entry.key, TOP_LEVEL_KEYS)}`);
    }
  }
  if (!named) {
    ctx.error(root, 'missing `graph`: every graph needs a name (`graph: NAME`)');
  }
  const deduped = dedupeResources(resources);
  for (const conflict of deduped.conflicts) ctx.errors.push(conflictDiagnostic(conflict));
  if (name === undefined) return undefined;
  return {
    name,
    file: ctx.file,
    ...(comment !== undefined ? { comment } : {}),
    resources: deduped.resources,
    edges,
    collect,
    warnings: ctx.warnings,
  };
}

/** parseResources reads `resources:`, a map from kind to a list of resources of that kind. */
function parseResources<N>(node: N | null, ctx: ParseContext<N>, registry: Registry): ResourceSpec[] {
  if (ctx.isNull(node)) return [];
  if (!ctx.isMap(node)) {
    ctx.error(node, `\`resources\` must be a map from resource kind to a list of resources, got ${ctx.describe(node)}`);
    return [];
  }
  const out: ResourceSpec[] = [];
  for (const { key: kind, keyNode, value } of ctx.entries(node)) {
    const def = registry.get(kind);
    if (!def) {
      ctx.error(keyNode, kindProblem(kind, registry));
      continue;
    }
    if (ctx.isNull(value)) continue;
    if (!ctx.isSeq(value)) {
      ctx.error(value, `\`resources.${kind}\` must be a list of ${kind} resources, got ${ctx.describe(value)}`);
      continue;
    }
    for (const item of ctx.items(value)) {
      const resource = parseResource(ctx.deref(item), def, ctx);
      if (resource) out.push(resource);
    }
  }
  return out;
}

/** parseResource reads one resource: its name, its parameters over the kind's defaults, its meta. */
function parseResource<N>(node: N | null, def: AnyResourceKind, ctx: ParseContext<N>): ResourceSpec | undefined {
  const kind = def.kind;
  if (!ctx.isMap(node)) {
    ctx.error(node, `a \`${kind}\` resource must be a map with a \`name\` and parameters, got ${ctx.describe(node)}`);
    return undefined;
  }
  const entries = ctx.entries(node);
  const nameEntry = entryOf(entries, 'name');
  if (!nameEntry) {
    ctx.error(node, `a \`${kind}\` resource has no \`name\``);
    return undefined;
  }
  const written = requiredString(nameEntry, ctx, `the \`name\` of a \`${kind}\` resource`);
  if (written === undefined) return undefined;
  // `@@name` exports the resource to other hosts under its plain name.
  const exported = written.startsWith('@@');
  const name = exported ? written.slice(2) : written;
  if (name === '') {
    ctx.error(nameEntry.value, `the name of a \`${kind}\` resource is only \`@@\`: an exported resource still needs a name`);
    return undefined;
  }

  // What a resource allocates is paid 10,000 times by a big graph: the `kind[name]` id of its
  // diagnostics and where each parameter was written are worked out only when one is reported, and
  // the input's values go straight into the kind's defaults (a new object each call), not into an
  // object of their own merged over a copy of them.
  const params = def.defaults(name) as Record<string, unknown>;
  let meta: Meta = DEFAULT_META;
  let typeErrors = 0;
  // Indexed loops here and below: a for-of in code V8 has not optimized yet makes an iterator
  // result per step, and most of a big graph's resources are read before it has.
  for (let i = 0; i < entries.length; i++) {
    const { key, keyNode, value } = entries[i]!;
    if (key === 'name') continue;
    if (key === 'meta') {
      meta = parseMeta(value, ctx, diagnosticId(kind, name));
      continue;
    }
    const param = Object.hasOwn(def.params, key) ? def.params[key] : undefined;
    if (!param) {
      ctx.warn(keyNode, `unknown parameter \`${key}\` for kind \`${kind}\`${didYouMean(key, Object.keys(def.params))}`, diagnosticId(kind, name));
      continue;
    }
    if (param.deprecated !== undefined) {
      ctx.warn(keyNode, `parameter \`${key}\` has no effect: ${param.deprecated}`, diagnosticId(kind, name));
      continue;
    }
    const decoded = decodeValue(value, param.type, ctx);
    if (decoded instanceof Mismatch) {
      ctx.error(value ?? keyNode, `\`${key}\`: ${decoded.reason}`, diagnosticId(kind, name));
      typeErrors += 1;
      continue;
    }
    if (decoded === undefined) continue;
    params[key] = decoded;
  }
  // validate on params with a wrongly typed value would only repeat the problem in other words.
  if (typeErrors === 0) {
    const problems = validateResource(def, name, params, ctx.nulFree);
    for (let i = 0; i < problems.length; i++) {
      const problem = problems[i]!;
      // A kind quotes the bad value in its reason: a newline in it must not start a line of its own.
      const at = problem.param === 'name' ? (nameEntry.value ?? nameEntry.keyNode) : (writtenValueOf(entries, problem.param, def, ctx) ?? node);
      ctx.error(at, `\`${problem.param}\`: ${escapeControl(problem.reason)}`, diagnosticId(kind, name));
    }
  }
  const pos = ctx.pos(node);
  return pos ? { kind, name, params, meta, exported, pos } : { kind, name, params, meta, exported };
}

/** diagnosticId is a resource's `kind[name]` for a diagnostic, with control characters escaped so that it stays on one line. */
function diagnosticId(kind: string, name: string): string {
  return resourceId(kind, escapeControl(name));
}

/** entryOf is a map's first entry with the key. */
function entryOf<N>(entries: readonly Entry<N>[], key: string): Entry<N> | undefined {
  for (let i = 0; i < entries.length; i++) if (entries[i]!.key === key) return entries[i];
  return undefined;
}

/**
 * writtenValueOf is where a parameter's value was taken from: the value of its last entry with a
 * value (merge keys may repeat a key); null when the input left the parameter at its default.
 */
function writtenValueOf<N>(entries: readonly Entry<N>[], param: string, def: AnyResourceKind, ctx: ParseContext<N>): N | null {
  // Only a declared, live parameter takes the input's value; `meta` is never one (parseMeta reads it).
  if (param === 'meta' || !Object.hasOwn(def.params, param) || def.params[param]!.deprecated !== undefined) return null;
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i]!;
    if (entry.key === param && !ctx.isNull(entry.value)) return entry.value;
  }
  return null;
}

/** parseEdges reads `edges:`, a list (or nothing) of `{name, from, to, notify}`. */
function parseEdges<N>(node: N | null, ctx: ParseContext<N>): EdgeSpec[] {
  if (ctx.isNull(node)) return [];
  if (!ctx.isSeq(node)) {
    ctx.error(node, `\`edges\` must be a list of edges, got ${ctx.describe(node)}`);
    return [];
  }
  const out: EdgeSpec[] = [];
  ctx.items(node).forEach((item, index) => {
    const edge = ctx.deref(item);
    if (!ctx.isMap(edge)) {
      ctx.error(edge ?? node, `edge #${index + 1} must be a map with \`name\`, \`from\` and \`to\`, got ${ctx.describe(edge)}`);
      return;
    }
    const entries = ctx.entries(edge);
    const nameEntry = entryOf(entries, 'name');
    const name = nameEntry ? optionalString(nameEntry, ctx) ?? '' : '';
    const label = name ? `edge ${name}` : `edge #${index + 1}`;
    let from: VertexRef | undefined;
    let to: VertexRef | undefined;
    let notify = false;
    let seenFrom = false;
    let seenTo = false;
    for (const entry of entries) {
      switch (entry.key) {
        case 'name':
          break;
        case 'from':
          seenFrom = true;
          from = parseRef(entry, ctx, label);
          break;
        case 'to':
          seenTo = true;
          to = parseRef(entry, ctx, label);
          break;
        case 'notify': {
          const decoded = decodeValue(entry.value, 'bool', ctx);
          if (decoded instanceof Mismatch) ctx.error(entry.value ?? entry.keyNode, `${label}: \`notify\`: ${decoded.reason}`);
          else notify = decoded === true;
          break;
        }
        default:
          ctx.warn(entry.keyNode, `${label}: unknown key \`${entry.key}\`${didYouMean(entry.key, ['name', 'from', 'to', 'notify'])}`);
      }
    }
    if (!seenFrom) missingEnd(edge, 'from', label, ctx);
    if (!seenTo) missingEnd(edge, 'to', label, ctx);
    const pos = ctx.pos(edge);
    if (from && to) out.push(pos ? { name, from, to, notify, pos } : { name, from, to, notify });
  });
  return out;
}

/** missingEnd reports an edge without its `from` or `to`. */
function missingEnd<N>(edge: N, end: string, label: string, ctx: ParseContext<N>): void {
  ctx.error(edge, `${label}: missing \`${end}\` (write \`${end}: {kind: KIND, name: NAME}\`)`);
}

/**
 * parseRef reads an edge end `{kind, name}` (the entry `from` or `to` of the edge `edgeLabel`);
 * the kind is lowercased as upstream does. Its label for messages is only written out for one.
 */
function parseRef<N>(entry: Entry<N>, ctx: ParseContext<N>, edgeLabel: string): VertexRef | undefined {
  const label = (): string => `${edgeLabel}: \`${entry.key}\``;
  const node = entry.value;
  if (!ctx.isMap(node)) {
    ctx.error(node ?? entry.keyNode, `${label()} must be a map \`{kind: KIND, name: NAME}\`, got ${ctx.describe(node)}`);
    return undefined;
  }
  let kind: string | undefined;
  let name: string | undefined;
  let seenKind = false;
  let seenName = false;
  for (const field of ctx.entries(node)) {
    if (field.key === 'kind') {
      seenKind = true;
      kind = requiredString(field, ctx, () => `${label()} \`kind\``)?.toLowerCase();
    } else if (field.key === 'name') {
      seenName = true;
      name = requiredString(field, ctx, () => `${label()} \`name\``);
    } else {
      ctx.warn(field.keyNode, `${label()}: unknown key \`${field.key}\`${didYouMean(field.key, ['kind', 'name'])}`);
    }
  }
  if (!seenKind) ctx.error(node, `${label()} has no \`kind\``);
  if (!seenName) ctx.error(node, `${label()} has no \`name\``);
  return kind !== undefined && name !== undefined ? { kind, name } : undefined;
}

/**
 * parseCollect reads `collect:`, a list of `{kind, pattern, allow}` asking for other hosts'
 * exported resources. Collected resources are hostile input, so a collect of a kind that is
 * re-homed (a file) must name where they land (`pattern`) unless it opts out with `allow:
 * [anypath]`, and each kind is collected by one entry only (so which privileges apply is never in
 * doubt).
 */
function parseCollect<N>(node: N | null, ctx: ParseContext<N>, registry: Registry): CollectSpec[] {
  if (ctx.isNull(node)) return [];
  if (!ctx.isSeq(node)) {
    ctx.error(node, `\`collect\` must be a list of \`{kind, pattern, allow}\`, got ${ctx.describe(node)}`);
    return [];
  }
  const out: CollectSpec[] = [];
  const labels = new Map<string, string>();
  ctx.items(node).forEach((item, index) => {
    const entryNode = ctx.deref(item);
    const label = `collect #${index + 1}`;
    if (!ctx.isMap(entryNode)) {
      ctx.error(entryNode ?? node, `${label} must be a map \`{kind: KIND, pattern: PATTERN}\`, got ${ctx.describe(entryNode)}`);
      return;
    }
    let kind: string | undefined;
    let pattern = '';
    let allow: CollectAllowance[] = [];
    let patternNode: N | null = null;
    let allowNode: N | null = null;
    let seenKind = false;
    for (const field of ctx.entries(entryNode)) {
      if (field.key === 'kind') {
        seenKind = true;
        kind = requiredString(field, ctx, `${label} \`kind\``)?.toLowerCase();
        if (kind !== undefined && !registry.has(kind)) {
          ctx.error(field.value, kindProblem(kind, registry));
          kind = undefined;
        }
      } else if (field.key === 'pattern') {
        pattern = optionalString(field, ctx) ?? '';
        patternNode = field.value;
      } else if (field.key === 'allow') {
        allow = parseAllowances(field, ctx, label);
        allowNode = field.value;
      } else {
        ctx.warn(field.keyNode, `${label}: unknown key \`${field.key}\`${didYouMean(field.key, ['kind', 'pattern', 'allow'])}`);
      }
    }
    if (!seenKind) ctx.error(entryNode, `${label} has no \`kind\``);
    if (kind === undefined) return;
    const earlier = labels.get(kind);
    if (earlier !== undefined) ctx.error(entryNode, `${label}: kind \`${kind}\` is already collected by ${earlier}; collect each kind once`);
    labels.set(kind, label);
    const collect = registry.get(kind)?.collect;
    for (const allowance of allow) {
      if (!(collect?.allowances ?? []).includes(allowance)) {
        ctx.warn(allowNode ?? entryNode, `${label}: \`allow: [${allowance}]\` has no effect on kind \`${kind}\` (${concerns(allowance, registry)})`);
      }
    }
    if (collect?.rehome) checkPattern(kind, collect.rehome, pattern, allow, ctx, label, patternNode ?? entryNode);
    const pos = ctx.pos(entryNode);
    out.push({ kind, pattern, allow, ...(pos ? { pos } : {}) });
  });
  return out;
}

/** parseAllowances reads a collect entry's `allow`, a list of COLLECT_ALLOWANCES. */
function parseAllowances<N>(field: Entry<N>, ctx: ParseContext<N>, label: string): CollectAllowance[] {
  const decoded = decodeValue(field.value, 'stringList', ctx);
  if (decoded instanceof Mismatch) {
    ctx.error(field.value ?? field.keyNode, `${label} \`allow\`: ${decoded.reason}`);
    return [];
  }
  const out: CollectAllowance[] = [];
  for (const word of (decoded as string[] | undefined) ?? []) {
    const allowance = COLLECT_ALLOWANCES.find((known) => known === word);
    if (allowance === undefined) {
      ctx.error(field.value ?? field.keyNode, `${label} \`allow\`: unknown allowance ${JSON.stringify(word)} (one of ${COLLECT_ALLOWANCES.join(', ')})${didYouMean(word, COLLECT_ALLOWANCES)}`);
    } else if (!out.includes(allowance)) {
      out.push(allowance);
    }
  }
  return out;
}

/** concerns names the kinds of the registry an allowance concerns, for a warning that it has no effect. */
function concerns(allowance: CollectAllowance, registry: Registry): string {
  const kinds = [...registry.values()].filter((def) => def.collect?.allowances.includes(allowance)).map((def) => def.kind);
  return kinds.length === 0 ? 'it concerns no kind here' : `it concerns ${kinds.join(', ')}`;
}

/**
 * checkPattern says what is wrong with the pattern of a collect of a kind that is re-homed (a
 * file): none without `anypath` (another host's export would choose any place on this one), or
 * one the kind's rule refuses (a directory path the file kind itself would not accept).
 */
function checkPattern<N, P>(kind: string, rehome: RehomeRule<P>, pattern: string, allow: readonly CollectAllowance[], ctx: ParseContext<N>, label: string, at: N): void {
  if (pattern === '') {
    if (!allow.includes('anypath')) {
      ctx.error(at, `${label}: a \`${kind}\` collect needs a \`pattern\`, ${rehome.pattern} (or \`allow: [anypath]\` to write wherever other hosts' exports say)`);
    }
    return;
  }
  if (allow.includes('anypath')) ctx.error(at, `${label}: \`allow: [anypath]\` and a \`pattern\` exclude each other`);
  for (const problem of rehome.patternProblems(pattern)) ctx.error(at, `${label} \`pattern\`: ${problem}`);
}

/** requiredString reads a non-empty string value, reporting anything else as `what` (written out only then, when it is a function). */
function requiredString<N>(entry: Entry<N>, ctx: ParseContext<N>, what: string | (() => string)): string | undefined {
  const decoded = decodeValue(entry.value, 'string', ctx);
  if (decoded instanceof Mismatch) {
    ctx.error(entry.value ?? entry.keyNode, `${typeof what === 'string' ? what : what()}: ${decoded.reason}`);
    return undefined;
  }
  if (typeof decoded !== 'string' || decoded === '') {
    ctx.error(entry.value ?? entry.keyNode, `${typeof what === 'string' ? what : what()} is empty`);
    return undefined;
  }
  return decoded;
}

/** optionalString reads a string value that may be left out (undefined) or be empty. */
function optionalString<N>(entry: Entry<N>, ctx: ParseContext<N>): string | undefined {
  const decoded = decodeValue(entry.value, 'string', ctx);
  if (!(decoded instanceof Mismatch)) return decoded as string | undefined;
  ctx.error(entry.value ?? entry.keyNode, `\`${entry.key}\`: ${decoded.reason}`);
  return undefined;
}
