// The etcd World: what hosts share, kept in an etcd cluster under the classic `/_mgmt` keys
// (docs/cluster.md):
//   /_mgmt/exported/$host/set                          the host's export set: a pointer to one generation
//   /_mgmt/exported/$host/chunks/$generation/$kind/$i  that generation's resources (export-set.ts)
//   /_mgmt/exported/$host/resources/$kind/$name        one resource written by hand (etcdctl), as before
//   /_mgmt/strings/$key                                the string, as raw bytes
// Hosts and kinds may not contain `/` (the key is split on it); names may (file paths do).

import { Range } from 'etcd3';
import { defer, EMPTY, type Observable, ReplaySubject, takeUntil } from 'rxjs';
import { EtcdConnection } from '../etcd/connection.js';
import { isNoSpace, recoverSpace } from '../etcd/space.js';
import { compare, encodeExportSet, parseChunk, parseSetPointer, type EncodedSet } from './export-set.js';
import type { ExportedResource, ExportSpec, World } from './types.js';

/** EtcdWorldOptions says which host this is and which etcd cluster it shares. */
export interface EtcdWorldOptions {
  /** This host's name; its exports live under `/_mgmt/exported/<hostname>/`. */
  readonly hostname: string;
  /** The etcd client URLs, e.g. `http://127.0.0.1:2379` (ignored when `connection` is given). */
  readonly endpoints?: readonly string[];
  /** A connection shared with the cluster logic; the World then does not close it. */
  readonly connection?: EtcdConnection;
  /** How long one operation (or establishing a watch) may take before it fails; default 5000 ms. */
  readonly timeoutMs?: number;
  /** Receives what the World did about the store (a NOSPACE alarm met and cleared), for the agent's log. */
  readonly onEvent?: (event: EtcdWorldEvent) => void;
}

// A type, not an interface, so it fits the agent's ClusterEvent (which has an index signature).
/** EtcdWorldEvent is one thing the World did about etcd's store; the agent logs it as a `cluster` event. */
export type EtcdWorldEvent = {
  readonly level: 'warn' | 'error';
  /** `nospace`: a write met the NOSPACE alarm; the World compacted, defragmented and disarmed it. */
  readonly action: 'nospace';
  readonly message: string;
};

// A set this small goes in the one transaction that switches the pointer (etcd allows 128
// operations and 1.5 MiB per request); a larger one writes its chunks first, one request each.
const INLINE_CHUNKS = 100;
const INLINE_BYTES = 1024 * 1024;
// Another writer of this host's set (a second agent with the same --hostname) makes the switch fail.
const SWITCH_ATTEMPTS = 3;

/** EXPORTED_PREFIX is the etcd key prefix under which every host's exported resources live. */
export const EXPORTED_PREFIX = '/_mgmt/exported/';
/** STRINGS_PREFIX is the etcd key prefix of the World's string keys. */
export const STRINGS_PREFIX = '/_mgmt/strings/';

/** EtcdWorld is the World of a clustered host: exports and strings in etcd, watched with etcd watches. */
export class EtcdWorld implements World {
  readonly hostname: string;
  private readonly connection: EtcdConnection;
  private readonly ownsConnection: boolean;
  private closed = false;
  // Replays its one value, so a watch subscribed after close completes at once.
  private readonly closed$ = new ReplaySubject<void>(1);
  // Exports run one after another, so two calls of this instance cannot interleave their read and txn.
  private exporting: Promise<unknown> = Promise.resolve();
  // One recovery from NOSPACE at a time, shared by the writes that met it.
  private recovering: Promise<void> | undefined;
  private readonly onEvent: (event: EtcdWorldEvent) => void;

  constructor(options: EtcdWorldOptions) {
    checkSegment(options.hostname, 'hostname');
    this.hostname = options.hostname;
    this.ownsConnection = options.connection === undefined;
    this.connection = options.connection ?? new EtcdConnection({ endpoints: options.endpoints ?? [], timeoutMs: options.timeoutMs });
    this.onEvent = options.onEvent ?? (() => {});
  }

  async exportResources(resources: readonly ExportSpec[]): Promise<void> {
    this.checkOpen();
    for (const { kind, name } of resources) {
      checkSegment(kind, 'kind');
      if (name === '') throw new Error(`the etcd world cannot export ${kind} with an empty name`);
    }
    const set = encodeExportSet(resources);
    const run = this.exporting.then(() => this.replaceExports(set, resources.length === 0));
    this.exporting = run.catch(() => {});
    await run;
  }

  async collectResources(kinds: readonly string[], onProblem: (problem: string) => void = () => {}): Promise<ExportedResource[]> {
    this.checkOpen();
    const wanted = new Set(kinds);
    if (wanted.size === 0) return [];
    try {
      return await this.collectAtOneRevision(wanted, onProblem);
    } catch (err) {
      // The revision read at was compacted away meanwhile (a slow read of a large set): read anew.
      if (!/compacted/.test(String(err))) throw err;
      return await this.collectAtOneRevision(wanted, onProblem);
    }
  }

  private async collectAtOneRevision(wanted: ReadonlySet<string>, onProblem: (problem: string) => void): Promise<ExportedResource[]> {
    // Keys first, then the values at that revision: a set switched meanwhile is read as it was.
    const listing = await this.connection.bounded('list exported resources', (client) =>
      client.kv.range({ key: Buffer.from(EXPORTED_PREFIX), range_end: Range.prefix(EXPORTED_PREFIX).end, keys_only: true }),
    );
    const revision = listing.header.revision;
    const hosts = new Map<string, { set: boolean; chunks: Set<string>; classic: Set<string> }>();
    for (const { key } of listing.kvs) {
      const text = key.toString();
      const match = /^([^/]+)\/(?:(set)|chunks\/[^/]+\/[^/]+\/\d+|resources\/([^/]+)\/.+)$/s.exec(text.slice(EXPORTED_PREFIX.length));
      if (match === null) {
        onProblem(`skipped exported key ${text}: expected ${EXPORTED_PREFIX}$host/resources/$kind/$name, $host/set or $host/chunks/...`);
        continue;
      }
      const host = hosts.get(match[1]!) ?? { set: false, chunks: new Set<string>(), classic: new Set<string>() };
      hosts.set(match[1]!, host);
      if (match[2] !== undefined) host.set = true;
      else if (match[3] !== undefined) host.classic.add(match[3]);
      else host.chunks.add(text);
    }
    const found = await Promise.all(
      [...hosts].map(([host, keys]) => (keys.set ? this.readSet(host, keys.chunks, keys.classic.size, wanted, revision, onProblem) : this.readClassic(host, keys.classic, wanted, revision, onProblem))),
    );
    return found.flat().sort((a, b) => compare(a.host, b.host) || compare(a.kind, b.kind) || compare(a.name, b.name));
  }

  watchResources(): Observable<void> {
    return this.watch('watch exported resources', (client) => client.watch().prefix(EXPORTED_PREFIX));
  }

  async strGet(key: string): Promise<string | undefined> {
    this.checkOpen();
    const value = await this.connection.bounded(`get string ${JSON.stringify(key)}`, (client) => client.get(stringKey(key)).string());
    return value ?? undefined;
  }

  async strSet(key: string, value: string): Promise<void> {
    this.checkOpen();
    await this.writing(() => this.connection.bounded(`set string ${JSON.stringify(key)}`, (client) => client.put(stringKey(key)).value(value).exec()));
  }

  async strDel(key: string): Promise<void> {
    this.checkOpen();
    await this.connection.bounded(`delete string ${JSON.stringify(key)}`, (client) => client.delete().key(stringKey(key)).exec());
  }

  strWatch(key: string): Observable<void> {
    const etcdKey = stringKey(key);
    return this.watch(`watch string ${JSON.stringify(key)}`, (client) => client.watch().key(etcdKey));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // The watches complete first (their teardowns cancel them), so closing the client does not
    // turn them into errors.
    this.closed$.next();
    this.closed$.complete();
    if (this.ownsConnection) this.connection.close();
  }

  /**
   * replaceExports makes `set` this host's export set: its chunks, then one transaction that points
   * `$host/set` at them and deletes every other generation and hand-written key of this host.
   */
  private async replaceExports(set: EncodedSet, empty: boolean): Promise<void> {
    const prefix = this.hostPrefix();
    const setKey = `${prefix}set`;
    for (let attempt = 1; ; attempt++) {
      const current = await this.connection.bounded('read the export set', (client) => client.get(setKey).exec());
      const pointer = current.kvs[0];
      // Unchanged sets are not rewritten, so re-exporting the same set wakes no watcher.
      if (pointer?.value.toString() === set.pointer) return;
      const inline = set.chunks.size <= INLINE_CHUNKS && set.bytes <= INLINE_BYTES;
      if (!inline) {
        for (const [suffix, value] of set.chunks) {
          await this.writing(() => this.connection.bounded(`write export chunk ${suffix}`, (client) => client.put(prefix + suffix).value(value).exec()));
        }
      }
      const committed = await this.writing(() =>
        this.connection.bounded('switch the export set', (client) => {
          const chunks = `${prefix}chunks/`;
          const generation = Range.prefix(`${chunks}${set.generation}/`);
          // Ranges around the new generation: etcd refuses a transaction whose puts overlap a delete.
          const clear = [
            client.delete().range(new Range(chunks, generation.start)),
            client.delete().range(new Range(generation.end, Range.prefix(chunks).end)),
            client.delete().prefix(`${prefix}resources/`),
          ];
          const puts = empty ? [client.delete().key(setKey)] : [...(inline ? [...set.chunks].map(([suffix, value]) => client.put(prefix + suffix).value(value)) : []), client.put(setKey).value(set.pointer)];
          // The pointer is still the one read above: no other writer of this host's set came between.
          return client.if(setKey, 'Mod', '==', pointer?.mod_revision ?? '0').then(...puts, ...clear).commit();
        }),
      );
      if (committed.succeeded) return;
      if (attempt >= SWITCH_ATTEMPTS) {
        throw new Error(`cannot export the resources of ${this.hostname}: its export set changed ${attempt} times while it was written; is another agent running with --hostname ${this.hostname}?`);
      }
    }
  }

  /** readSet reads the chunks of a host's current generation, of the wanted kinds, as of `revision`. */
  private async readSet(host: string, chunkKeys: ReadonlySet<string>, classic: number, wanted: ReadonlySet<string>, revision: string, onProblem: (problem: string) => void): Promise<ExportedResource[]> {
    const setKey = `${EXPORTED_PREFIX}${host}/set`;
    if (classic > 0) onProblem(`skipped the exported keys under ${EXPORTED_PREFIX}${host}/resources/: ${host} publishes its exports as a set (${setKey})`);
    const value = await this.connection.bounded(`read ${setKey}`, (client) => client.get(setKey).revision(revision).string());
    const pointer = value === null ? 'it vanished' : parseSetPointer(value);
    if (typeof pointer === 'string') {
      onProblem(`skipped exported set ${setKey}: ${pointer}`);
      return [];
    }
    const reads: Promise<ExportedResource[]>[] = [];
    for (const [kind, count] of Object.entries(pointer.chunks)) {
      if (!wanted.has(kind)) continue;
      const keys = Array.from({ length: count }, (_, i) => `${EXPORTED_PREFIX}${host}/chunks/${pointer.generation}/${kind}/${i}`);
      // Only keys that exist are read: a pointer cannot make collectors wait on what is not there.
      const missing = keys.find((key) => !chunkKeys.has(key));
      if (missing !== undefined) {
        onProblem(`skipped the exported ${kind} resources of ${host}: ${missing} is missing from its set`);
        continue;
      }
      for (const key of keys) {
        reads.push(
          this.connection
            .bounded(`read ${key}`, (client) => client.get(key).revision(revision).string())
            .then((chunk) => (chunk === null ? [] : parseChunk(host, kind, key, chunk, onProblem))),
        );
      }
    }
    return (await Promise.all(reads)).flat();
  }

  /** readClassic reads a host's hand-written `resources/$kind/$name` keys of the wanted kinds, as of `revision`. */
  private async readClassic(host: string, kinds: ReadonlySet<string>, wanted: ReadonlySet<string>, revision: string, onProblem: (problem: string) => void): Promise<ExportedResource[]> {
    const reads = [...kinds].filter((kind) => wanted.has(kind)).map(async (kind) => {
      const prefix = `${EXPORTED_PREFIX}${host}/resources/${kind}/`;
      const all = await this.connection.bounded(`read ${prefix}`, (client) => client.getAll().prefix(prefix).revision(revision).strings());
      // The prefix itself (a name-less key) was reported with the listing.
      return Object.entries(all).flatMap(([key, value]) => (key === prefix ? [] : (parseExport(key, value, onProblem) ?? [])));
    });
    return (await Promise.all(reads)).flat();
  }

  /** writing runs a write; when etcd refuses it for lack of space, it frees space once and tries again. */
  private async writing<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (!isNoSpace(err)) throw err;
      this.recovering ??= this.recoverSpace().finally(() => (this.recovering = undefined));
      await this.recovering;
      try {
        return await write();
      } catch (again) {
        if (!isNoSpace(again)) throw again;
        const message = `etcd is still out of space after compaction and defragmentation: the data it holds exceeds its quota (etcd's --quota-backend-bytes); export less or raise the quota`;
        this.onEvent({ level: 'error', action: 'nospace', message });
        throw new Error(message, { cause: again });
      }
    }
  }

  private async recoverSpace(): Promise<void> {
    this.onEvent({ level: 'warn', action: 'nospace', message: 'etcd refused a write: its NOSPACE alarm is raised (the quota is reached); compacting, defragmenting and disarming it' });
    let done: Awaited<ReturnType<typeof recoverSpace>>;
    try {
      done = await recoverSpace(this.connection);
    } catch (err) {
      this.onEvent({ level: 'error', action: 'nospace', message: `cannot clear etcd's NOSPACE alarm: ${(err as Error).message}` });
      throw err;
    }
    this.onEvent({
      level: 'warn',
      action: 'nospace',
      message: `etcd's NOSPACE alarm cleared: history compacted to revision ${done.revision}, ${done.defragmented.join(', ')} defragmented, ${done.disarmed} alarm(s) disarmed`,
    });
  }

  private watch(what: string, build: Parameters<EtcdConnection['watch']>[1]): Observable<void> {
    return defer(() => (this.closed || this.connection.isClosed ? EMPTY : this.connection.watch(what, build))).pipe(takeUntil(this.closed$));
  }

  private hostPrefix(): string {
    return `${EXPORTED_PREFIX}${this.hostname}/`;
  }

  private checkOpen(): void {
    if (this.closed || this.connection.isClosed) throw new Error(`the etcd world of ${this.hostname} is closed`);
  }
}

/** stringKey is the etcd key of a World string key. */
function stringKey(key: string): string {
  if (key === '') throw new Error('the etcd world cannot store an empty key');
  return `${STRINGS_PREFIX}${key}`;
}

/** checkSegment refuses a host or kind that could not be parsed back out of an export key. */
function checkSegment(value: string, what: string): void {
  if (value === '' || value.includes('/')) {
    throw new Error(`the etcd world cannot use ${what} ${JSON.stringify(value)}: it must be non-empty and contain no "/"`);
  }
}

/** parseExport reads one exported key and value; a malformed one is reported and left out. */
function parseExport(key: string, value: string, onProblem: (problem: string) => void): ExportedResource | undefined {
  const match = /^([^/]+)\/resources\/([^/]+)\/(.+)$/s.exec(key.slice(EXPORTED_PREFIX.length));
  if (!key.startsWith(EXPORTED_PREFIX) || match === null) {
    onProblem(`skipped exported key ${key}: expected ${EXPORTED_PREFIX}$host/resources/$kind/$name`);
    return undefined;
  }
  let params: unknown;
  try {
    params = JSON.parse(value);
  } catch (err) {
    onProblem(`skipped exported resource ${key}: ${(err as Error).message}`);
    return undefined;
  }
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    onProblem(`skipped exported resource ${key}: expected a JSON object of params, got ${value.slice(0, 40)}`);
    return undefined;
  }
  return { host: match[1]!, kind: match[2]!, name: match[3]!, params: params as Record<string, unknown> };
}

