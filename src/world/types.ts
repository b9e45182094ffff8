import type { Observable } from 'rxjs';

/** ExportedResource is one resource a host exported (`@@name`), as stored in the World. */
export interface ExportedResource {
  /** The host that exported it. */
  readonly host: string;
  readonly kind: string;
  /** The name without `@@`. */
  readonly name: string;
  /** Its parameters (JSON), merged over the kind's defaults by the exporting host. */
  readonly params: Readonly<Record<string, unknown>>;
}

/** ExportSpec is a resource this host exports: kind, name and parameters. */
export type ExportSpec = Omit<ExportedResource, 'host'>;

/**
 * World is what hosts share: exported resources, string keys, and (with etcd) cluster membership.
 * Two implementations: local (in-process, persisted under --prefix; the embedded default) and etcd.
 * Key layout in etcd (docs/cluster.md): a host's export set is `/_mgmt/exported/$host/set`, a pointer
 * to chunks `/_mgmt/exported/$host/chunks/$generation/$kind/$i` switched in one transaction (a
 * hand-written `/_mgmt/exported/$host/resources/$kind/$name` is collected too), and strings are
 * `/_mgmt/strings/$key`.
 */
export interface World {
  /** This host's name. */
  readonly hostname: string;
  /** exportResources replaces this host's whole exported set in one atomic step, whatever its size. */
  exportResources(resources: readonly ExportSpec[]): Promise<void>;
  /**
   * collectResources returns every host's exported resources of the given kinds (this host
   * included), sorted by host, kind and name. A malformed entry from another host is skipped and
   * reported through `onProblem`, never thrown.
   */
  collectResources(kinds: readonly string[], onProblem?: (problem: string) => void): Promise<ExportedResource[]>;
  /** watchResources emits once when the watch is ready, then whenever any host's exports change. */
  watchResources(): Observable<void>;
  /** strGet reads a string key; undefined when it does not exist. */
  strGet(key: string): Promise<string | undefined>;
  /** strSet writes a string key. */
  strSet(key: string, value: string): Promise<void>;
  /** strDel deletes a string key (no error when it does not exist). */
  strDel(key: string): Promise<void>;
  /** strWatch emits once when the watch is ready, then whenever the key changes. */
  strWatch(key: string): Observable<void>;
  /** close releases the World's connections and watches. */
  close(): Promise<void>;
}
