import { errorMessage, type Diagnostic } from '../errors.js';
import type { AutoEdgeSearch, AutoEdgeTrait, ResourceUid } from '../core/autoedge.js';
import { compareStrings } from './canonical.js';
import { edgeKey, type Edge } from './graph.js';
import type { BuildVertex, MutableGraph } from './mutable.js';
import { UidIndex } from './uid-index.js';

/** AutoEdgeOptions tunes the autoedge stage. */
export interface AutoEdgeOptions {
  /** Called once for each resource whose automatic edges were skipped because its kind's trait failed. */
  readonly onWarning?: (warning: Diagnostic) => void;
}

/** AutoEdgeStats says what the autoedge stage did. */
export interface AutoEdgeStats {
  /** Vertices that took part: their kind has the trait and their meta autoedge is on. */
  readonly participants: number;
  /** Edges added. */
  readonly added: number;
  /** Matches left alone because the pair already had an edge (in either direction). */
  readonly kept: number;
  /** Resources skipped with a warning because their uids or search failed. */
  readonly skipped: number;
}

// A search that never says "done" would hang the compiler; no real one comes close (a path has
// at most ~2048 levels, and each round of a package search climbs one).
const MAX_ROUNDS = 10_000;
const FOUND_ONE: readonly boolean[] = Object.freeze([true]);
const MISSED_ONE: readonly boolean[] = Object.freeze([false]);

/**
 * addAutoEdges adds the edges resources imply: each participant's wanted
 * uids are looked up in a hash index of every participant's offered uids, so the stage costs
 * O(uids + lookups) rather than upstream's pairwise scan. Participants run in id order and the
 * lowest id offering a uid is the one found, so the result is deterministic. A pair that already
 * has an edge keeps it (a user's edge always wins); a kind whose trait throws costs that resource
 * its automatic edges, with a warning, never the graph. Cycles are left for the topological sort.
 */
export function addAutoEdges(graph: MutableGraph, options: AutoEdgeOptions = {}): AutoEdgeStats {
  let skipped = 0;
  const skip = (vertex: BuildVertex, err: unknown): void => {
    skipped += 1;
    options.onWarning?.({
      message: `automatic edges skipped: ${errorMessage(err)}`,
      resource: vertex.id,
      ...(vertex.pos ? { pos: vertex.pos } : {}),
    });
  };

  // Every participant is asked for both before any matching, like upstream: a package reads its
  // file list here, and one that cannot is then no candidate either. Vertices and their searches
  // sit in two parallel arrays: at 10,000 files a pair object each is measurable garbage.
  const vertices: BuildVertex[] = [];
  const searches: AutoEdgeSearch[] = [];
  const index = new UidIndex();
  const participants = participatingVertices(graph);
  // Indexed loops, not for-of: this runs once, cold, where a for-of makes an iterator result per step.
  for (let p = 0; p < participants.length; p++) {
    const vertex = participants[p]!;
    const trait: AutoEdgeTrait<unknown> = vertex.def.autoedge!; // participatingVertices checked it
    let uids: readonly ResourceUid[];
    let search: AutoEdgeSearch;
    try {
      uids = trait.uids(vertex.params, vertex.name);
      search = trait.search(vertex.params, vertex.name);
    } catch (err) {
      skip(vertex, err);
      continue;
    }
    for (let u = 0; u < uids.length; u++) index.add(uids[u]!, vertex.id);
    vertices.push(vertex);
    searches.push(search);
  }

  let added = 0;
  let kept = 0;
  // The sameAs of the searches whose every uid asked was offered by nobody: the others like them
  // would miss the same way, whoever asks (10,000 files of one directory climb to `/` once).
  const barren = new Set<object>();
  for (let i = 0; i < vertices.length; i++) {
    const vertex = vertices[i]!;
    const search = searches[i]!;
    const sameAs = search.sameAs;
    if (sameAs !== undefined && barren.has(sameAs)) continue;
    const self = vertex.id;
    let offered = false;
    // Edges go in as they are found, so a later round sees them; a search that throws half-way
    // has them taken out again, leaving no partial set behind. Most searches find one edge or
    // none, so the list is made only when needed and no bigger than needed.
    let mine: Edge[] | undefined;
    let keptHere = 0;
    try {
      for (let round = 0; ; round++) {
        if (round === MAX_ROUNDS) throw new Error(`its search did not end after ${MAX_ROUNDS} rounds`);
        const wanted = search.next();
        if (wanted === undefined) break;
        // A round of one uid (a file's parent) is told with one of two shared lists.
        const found = wanted.length === 1 ? undefined : new Array<boolean>(wanted.length);
        let foundOne = false;
        for (let j = 0; j < wanted.length; j++) {
          const uid = wanted[j]!;
          const holder = index.lowest(uid);
          if (holder !== undefined) offered = true;
          // A resource may offer what it also wants: then the next holder is the one found, as
          // upstream's scan that skips itself would.
          const other = holder === self ? index.runnerUp(uid) : holder;
          if (found) found[j] = other !== undefined;
          else foundOne = other !== undefined;
          if (other === undefined) continue;
          if (graph.edge(self, other) || graph.edge(other, self)) keptHere += 1;
          else {
            const from = uid.reversed ? other : self;
            const to = uid.reversed ? self : other;
            const edge: Edge = { from, to, name: edgeKey(from, to), notify: false };
            graph.setEdge(edge);
            if (mine === undefined) mine = [edge];
            else mine.push(edge);
          }
        }
        if (!search.test(found ?? (foundOne ? FOUND_ONE : MISSED_ONE))) break;
      }
    } catch (err) {
      for (const edge of mine ?? []) graph.removeEdge(edge.from, edge.to);
      skip(vertex, err);
      continue;
    }
    added += mine?.length ?? 0;
    kept += keptHere;
    if (sameAs !== undefined && !offered) barren.add(sameAs);
  }
  return { participants: vertices.length, added, kept, skipped };
}

/** participatingVertices lists, sorted by id, the vertices whose kind has the trait and whose meta allows it. */
function participatingVertices(graph: MutableGraph): BuildVertex[] {
  if (graph.idOrdered) {
    // A compiled graph's vertices are in id order already: they need no sort.
    const vertices: BuildVertex[] = [];
    graph.vertices.forEach((vertex) => {
      if (participates(vertex)) vertices.push(vertex);
    });
    return vertices;
  }
  // Sorting the ids and looking the vertices up again is measurably faster at 10,000 vertices
  // than sorting the vertices by a field: the comparisons stay on the strings.
  const ids: string[] = [];
  graph.vertices.forEach((vertex) => {
    if (participates(vertex)) ids.push(vertex.id);
  });
  ids.sort(compareStrings);
  return ids.map((id) => graph.vertices.get(id)!);
}

/** participates says whether a vertex's kind has the trait and its meta allows it. */
function participates(vertex: BuildVertex): boolean {
  return vertex.def.autoedge !== undefined && vertex.meta.autoedge !== false;
}
