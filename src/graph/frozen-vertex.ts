import type { SourcePos } from '../errors.js';
import type { AnyResourceKind } from '../core/kind.js';
import { canonicalKey } from './canonical.js';
import type { Member, Vertex } from './graph.js';
import type { BuildVertex } from './mutable.js';
import type { Meta } from './spec.js';

/**
 * FrozenVertex is a vertex of a compiled graph. compileGraph builds each vertex as one from the
 * start and the compiled graph keeps it (a group's parent is made again, under its group id):
 * copying 10,000 vertices into new objects and maps was a fifth of compiling them. Until the
 * graph is compiled, autogroup may still add members and semaphores to a group's parent
 * (BuildVertex). Its key is computed on first use: only a graph swap compares vertices, and only
 * those whose ids it already runs. A class rather than an object literal with a getter: V8 makes
 * such a literal a dictionary-mode object, ~450 bytes of property table per vertex (4 MB at
 * 10,000 files) and a hash lookup on every read.
 */
export class FrozenVertex implements Vertex, BuildVertex {
  #key: string | undefined;

  constructor(
    readonly id: string,
    readonly kind: string,
    readonly name: string,
    readonly params: Readonly<Record<string, unknown>>,
    public meta: Meta,
    readonly def: AnyResourceKind,
    readonly members: Member[],
    readonly pos?: SourcePos,
  ) {}

  /** of freezes a build vertex under its final id. */
  static of(vertex: BuildVertex, id: string): FrozenVertex {
    return new FrozenVertex(id, vertex.kind, vertex.name, vertex.params, vertex.meta, vertex.def, vertex.members, vertex.pos);
  }

  /** key is the vertex's canonical key; the parent's params are in it already, the other members go in whole. */
  get key(): string {
    this.#key ??= canonicalKey(this.kind, this.name, this.params, this.meta, [this.members[0]!.id, ...this.members.slice(1)]);
    return this.#key;
  }
}
