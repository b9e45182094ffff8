import { isAlias, isMap, isPair, isSeq, visit, type Alias, type Document, type Node } from 'yaml';

/**
 * MAX_ALIAS_EXPANSION is how many nodes aliases may add to a document when expanded. The yaml
 * package's own `maxAliasCount` (default 100) counts references instead and so refuses a real
 * graph that points 101 resources at one `meta: *defaults`; a billion-laughs bomb adds ~10^8.
 */
export const MAX_ALIAS_EXPANSION = 1_000_000;

/** resolveAliases pairs every alias with the latest node anchored under its name before it, as YAML says. */
export function resolveAliases(doc: Document): Map<Alias, Node> {
  const latest = new Map<string, Node>();
  const resolved = new Map<Alias, Node>();
  visit(doc, {
    Node(_key, node) {
      if (isAlias(node)) {
        const target = latest.get(node.source);
        if (target) resolved.set(node, target);
      } else if (node.anchor) {
        latest.set(node.anchor, node);
      }
    },
  });
  return resolved;
}

/** AliasProblem is an alias that cannot be expanded safely, and why. */
export interface AliasProblem {
  readonly at: Node;
  readonly message: string;
}

/**
 * aliasProblem measures what expanding every alias would cost, without expanding anything (each
 * node's expanded size is computed once), and reports a bomb or an alias inside its own anchor.
 */
export function aliasProblem(doc: Document, anchors: ReadonlyMap<Alias, Node>): AliasProblem | undefined {
  if (anchors.size === 0) return undefined;
  const sizes = new Map<Node, number>();
  const open = new Set<Node>();
  let added = 0;
  // Recursion is safe here: the input guard has already bounded how deep the document nests.
  const size = (node: unknown): number => {
    if (isAlias(node)) {
      const target = anchors.get(node);
      if (!target) return 1;
      if (open.has(target)) throw new Stop({ at: node, message: `the alias \`*${node.source}\` is inside the node it names, so it never ends` });
      const expanded = size(target);
      added += expanded;
      if (added > MAX_ALIAS_EXPANSION) {
        throw new Stop({ at: node, message: `refused: expanding the YAML's aliases adds more than ${MAX_ALIAS_EXPANSION} nodes (an alias bomb?)` });
      }
      return expanded;
    }
    if (node === null || typeof node !== 'object') return 1;
    const known = sizes.get(node as Node);
    if (known !== undefined) return known;
    open.add(node as Node);
    let total = 1;
    if (isMap(node) || isSeq(node)) for (const item of node.items) total += size(item);
    else if (isPair(node)) total += size(node.key) + size(node.value);
    open.delete(node as Node);
    sizes.set(node as Node, total);
    return total;
  };
  try {
    size(doc.contents);
    return undefined;
  } catch (err) {
    if (err instanceof Stop) return err.problem;
    throw err;
  }
}

/** Stop unwinds the size walk as soon as a problem is found. */
class Stop {
  constructor(readonly problem: AliasProblem) {}
}
