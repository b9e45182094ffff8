// The etcd World: what hosts share, kept in an etcd cluster under the classic `/_mgmt` keys
// (DESIGN section 6), so the seed's `etcdctl` commands read and write the same data:
//   /_mgmt/exported/$host/resources/$kind/$name   JSON object of the resource's params
//   /_mgmt/strings/$key                           the string, as raw bytes
// Hosts and kinds may not contain `/` (the key is split on it); names may (file paths do).

import type { IOperation } from 'etcd3';
import { defer, EMPTY, type Observable, ReplaySubject, takeUntil } from 'rxjs';
import { EtcdConnection } from '../etcd/connection.js';
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
}

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

  constructor(options: EtcdWorldOptions) {
    checkSegment(options.hostname, 'hostname');
    this.hostname = options.hostname;
    this.ownsConnection = options.connection === undefined;
    this.connection = options.connection ?? new EtcdConnection({ endpoints: options.endpoints ?? [], timeoutMs: options.timeoutMs });
  }

  async exportResources(resources: readonly ExportSpec[]): Promise<void> {
    this.checkOpen();
    const wanted = new Map<string, string>();
    for (const { kind, name, params } of resources) {
      checkSegment(kind, 'kind');
      if (name === '') throw new Error(`the etcd world cannot export ${kind} with an empty name`);
      wanted.set(this.exportKey(kind, name), JSON.stringify(params));
    }
    const run = this.exporting.then(() => this.connection.bounded('export resources', () => this.replaceExports(wanted)));
    this.exporting = run.catch(() => {});
    await run;
  }

  async collectResources(kinds: readonly string[], onProblem: (problem: string) => void = () => {}): Promise<ExportedResource[]> {
    this.checkOpen();
    const wanted = new Set(kinds);
    if (wanted.size === 0) return [];
    const all = await this.connection.bounded('collect resources', (client) => client.getAll().prefix(EXPORTED_PREFIX).strings());
    const found: ExportedResource[] = [];
    for (const [key, value] of Object.entries(all)) {
      const res = parseExport(key, value, onProblem);
      if (res !== undefined && wanted.has(res.kind)) found.push(res);
    }
    return found.sort((a, b) => compare(a.host, b.host) || compare(a.kind, b.kind) || compare(a.name, b.name));
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
    await this.connection.bounded(`set string ${JSON.stringify(key)}`, (client) => client.put(stringKey(key)).value(value).exec());
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

  /** replaceExports makes this host's exported keys exactly `wanted`, in one etcd transaction. */
  private async replaceExports(wanted: ReadonlyMap<string, string>): Promise<void> {
    const client = this.connection.client;
    const current = await client.getAll().prefix(this.hostPrefix()).strings();
    const ops: IOperation[] = [];
    for (const key of Object.keys(current)) {
      if (!wanted.has(key)) ops.push(client.delete().key(key));
    }
    // Unchanged keys are not rewritten, so re-exporting the same set wakes no watcher.
    for (const [key, value] of wanted) {
      if (current[key] !== value) ops.push(client.put(key).value(value));
    }
    if (ops.length === 0) return;
    // etcd rejects a txn whose puts overlap a delete range, so stale keys are deleted one by one
    // rather than by prefix. The comparison always holds (a missing key has version 0): the txn is
    // used for its atomicity, and this instance's exports are already serialized.
    await client.if(this.hostPrefix(), 'Version', '>', -1).then(...ops).commit();
  }

  private watch(what: string, build: Parameters<EtcdConnection['watch']>[1]): Observable<void> {
    return defer(() => (this.closed || this.connection.isClosed ? EMPTY : this.connection.watch(what, build))).pipe(takeUntil(this.closed$));
  }

  private hostPrefix(): string {
    return `${EXPORTED_PREFIX}${this.hostname}/`;
  }

  private exportKey(kind: string, name: string): string {
    return `${this.hostPrefix()}resources/${kind}/${name}`;
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

// Code-unit order, not locale order, so every host sorts the same way.
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
