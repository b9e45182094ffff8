// A host's export set as etcd stores it (docs/cluster.md): chunks of one generation, then a pointer
// to that generation switched in one transaction. etcd allows 128 operations per transaction and
// 1.5 MiB per request, so 20,000 resources cannot be one key each in one transaction, nor one value.
//   /_mgmt/exported/$host/set                          {"generation", "chunks": {$kind: n}, "count"}
//   /_mgmt/exported/$host/chunks/$generation/$kind/$i  [{"name", "params"}, ...], i = 0..n-1
// The generation is a hash of the set, so an unchanged set is recognised and written no more.

import { createHash } from 'node:crypto';
import type { ExportedResource, ExportSpec } from './types.js';

/** CHUNK_BYTES is the size a chunk is filled to: a third of etcd's default request limit. */
export const CHUNK_BYTES = 512 * 1024;
/** MAX_RESOURCE_BYTES is the largest one exported resource may be as JSON (a chunk of its own). */
export const MAX_RESOURCE_BYTES = 1024 * 1024;
/** MAX_CHUNKS_PER_KIND bounds what a pointer may claim, so a hostile one cannot make collectors read forever. */
export const MAX_CHUNKS_PER_KIND = 100_000;

/** EncodedSet is one export set ready to write: its pointer value and its chunks by key suffix. */
export interface EncodedSet {
  readonly generation: string;
  /** The value of `$host/set`. */
  readonly pointer: string;
  /** `chunks/$generation/$kind/$i` to the chunk's JSON. */
  readonly chunks: ReadonlyMap<string, string>;
  /** The chunks' total size in bytes. */
  readonly bytes: number;
}

/** SetPointer is a parsed `$host/set` value. */
export interface SetPointer {
  readonly generation: string;
  readonly chunks: Readonly<Record<string, number>>;
}

/** encodeExportSet sorts a set by kind and name and cuts each kind into chunks of about CHUNK_BYTES. */
export function encodeExportSet(resources: readonly ExportSpec[]): EncodedSet {
  const byKind = new Map<string, string[]>();
  const sorted = [...resources].sort((a, b) => compare(a.kind, b.kind) || compare(a.name, b.name));
  for (const { kind, name, params } of sorted) {
    const entry = JSON.stringify({ name, params });
    if (Buffer.byteLength(entry) > MAX_RESOURCE_BYTES) {
      throw new Error(`cannot export ${kind}[${name}]: it is ${Buffer.byteLength(entry)} bytes as JSON, at most ${MAX_RESOURCE_BYTES} (etcd's request limit)`);
    }
    const entries = byKind.get(kind);
    if (entries) entries.push(entry);
    else byKind.set(kind, [entry]);
  }
  const perKind: [string, string[]][] = [...byKind].map(([kind, entries]) => [kind, cut(entries)]);
  const hash = createHash('sha256');
  for (const [kind, chunks] of perKind) for (const chunk of chunks) hash.update(`${kind}\0${chunk}\0`);
  const generation = hash.digest('hex').slice(0, 24);
  const chunks = new Map<string, string>();
  let bytes = 0;
  for (const [kind, values] of perKind) {
    values.forEach((value, i) => {
      chunks.set(`chunks/${generation}/${kind}/${i}`, value);
      bytes += Buffer.byteLength(value);
    });
  }
  const pointer = JSON.stringify({ generation, chunks: Object.fromEntries(perKind.map(([kind, values]) => [kind, values.length])), count: resources.length });
  return { generation, pointer, chunks, bytes };
}

/** cut joins JSON entries into arrays of about CHUNK_BYTES each (at least one entry each). */
function cut(entries: readonly string[]): string[] {
  const chunks: string[] = [];
  let current: string[] = [];
  let size = 2;
  for (const entry of entries) {
    const grown = size + Buffer.byteLength(entry) + 1;
    if (current.length > 0 && grown > CHUNK_BYTES) {
      chunks.push(`[${current.join(',')}]`);
      current = [];
      size = 2;
    }
    current.push(entry);
    size += Buffer.byteLength(entry) + 1;
  }
  if (current.length > 0) chunks.push(`[${current.join(',')}]`);
  return chunks;
}

/** parseSetPointer reads another host's `$host/set` value: hostile input, so every field is checked. */
export function parseSetPointer(value: string): SetPointer | string {
  let data: unknown;
  try {
    data = JSON.parse(value);
  } catch (err) {
    return (err as Error).message;
  }
  if (!isRecord(data) || typeof data.generation !== 'string' || !/^[0-9a-f]{1,64}$/.test(data.generation) || !isRecord(data.chunks)) {
    return 'expected {"generation": hex, "chunks": {kind: count}}';
  }
  for (const [kind, count] of Object.entries(data.chunks)) {
    if (kind === '' || kind.includes('/') || !Number.isSafeInteger(count) || (count as number) < 1 || (count as number) > MAX_CHUNKS_PER_KIND) {
      return `chunk count of kind ${JSON.stringify(kind)} must be 1 to ${MAX_CHUNKS_PER_KIND}, got ${JSON.stringify(count)}`;
    }
  }
  return { generation: data.generation, chunks: data.chunks as Record<string, number> };
}

/** parseChunk reads one chunk of another host's set; a malformed entry is reported and left out. */
export function parseChunk(host: string, kind: string, key: string, value: string, onProblem: (problem: string) => void): ExportedResource[] {
  let data: unknown;
  try {
    data = JSON.parse(value);
  } catch (err) {
    onProblem(`skipped exported chunk ${key}: ${(err as Error).message}`);
    return [];
  }
  if (!Array.isArray(data)) {
    onProblem(`skipped exported chunk ${key}: expected a JSON array of {"name", "params"}`);
    return [];
  }
  const found: ExportedResource[] = [];
  data.forEach((entry: unknown, i) => {
    if (isRecord(entry) && typeof entry.name === 'string' && entry.name !== '' && isRecord(entry.params)) {
      found.push({ host, kind, name: entry.name, params: entry.params });
    } else {
      onProblem(`skipped entry #${i} of exported chunk ${key}: expected {"name": non-empty string, "params": object}`);
    }
  });
  return found;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** compare orders strings by code unit, not locale, so every host sorts the same way. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
