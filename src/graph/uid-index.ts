import type { ResourceUid } from '../core/autoedge.js';

/**
 * UidIndex finds the lowest and the second-lowest vertex id offering a uid. Uids are only listed
 * as they are added, by type and key length, and a hash map of one such bucket is made when a
 * uid of that length is first looked for: the searches mostly ask for other lengths than most
 * uids offered (10,000 files ask for their parent directories), so most keys are never hashed
 * (adding 10,000 files of one directory takes ~0.8x the time, median of 30 cold runs).
 */
export class UidIndex {
  private readonly types = new Map<string, Bucket[]>();
  // The buckets of the type added last: a graph's uids come in long runs of one type.
  private lastType: string | undefined;
  private lastBuckets: Bucket[] = [];

  /** add records that `id` offers `uid`; ids must come in ascending order. */
  add(uid: ResourceUid, id: string): void {
    if (uid.type !== this.lastType) this.lastBuckets = this.bucketsOf((this.lastType = uid.type));
    (this.lastBuckets[uid.key.length] ??= new Bucket()).add(uid.key, id);
  }

  /** lowest returns the lowest id offering `uid`, if any. */
  lowest(uid: ResourceUid): string | undefined {
    return this.types.get(uid.type)?.[uid.key.length]?.holders().first.get(uid.key);
  }

  /** runnerUp returns the second-lowest id offering `uid`, if any. */
  runnerUp(uid: ResourceUid): string | undefined {
    return this.types.get(uid.type)?.[uid.key.length]?.holders().second.get(uid.key);
  }

  private bucketsOf(type: string): Bucket[] {
    let buckets = this.types.get(type);
    if (buckets === undefined) this.types.set(type, (buckets = []));
    return buckets;
  }
}

/** Holders maps each key of a bucket to its lowest and second-lowest holder. */
interface Holders {
  readonly first: Map<string, string>;
  readonly second: Map<string, string>;
}

/** Bucket is the uids of one type and key length, in the order they were added, hashed on first use. */
class Bucket {
  private readonly keys: string[] = [];
  private readonly ids: string[] = [];
  #holders: Holders | undefined;

  /** add lists that `id` offers `key`. */
  add(key: string, id: string): void {
    if (this.#holders !== undefined) throw new Error(`uid index: ${key} was added after the lookups began`);
    this.keys.push(key);
    this.ids.push(id);
  }

  /** holders hashes the bucket's keys, once; no uid may be added after. */
  holders(): Holders {
    if (this.#holders !== undefined) return this.#holders;
    const first = new Map<string, string>();
    const second = new Map<string, string>();
    const { keys, ids } = this;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const id = ids[i]!;
      const holder = first.get(key);
      if (holder === undefined) first.set(key, id);
      else if (holder !== id && !second.has(key)) second.set(key, id);
    }
    this.#holders = { first, second };
    return this.#holders;
  }
}
