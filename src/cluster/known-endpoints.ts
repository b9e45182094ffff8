// The etcd client URLs this host last saw, kept under its prefix: a host started again without
// --seeds (its original bootstrap command) finds the cluster it belonged to there, instead of
// starting etcd from data the cluster may have removed (issue 11 point 7). The URLs came from etcd,
// that is from other hosts: only plain http(s) URLs with a port are kept, and a bounded number.

import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** KNOWN_ENDPOINTS_FILE is the file under the prefix, one client URL a line. */
export const KNOWN_ENDPOINTS_FILE = 'cluster-endpoints';

const MAX_ENDPOINTS = 64;
const MAX_URL_CHARS = 256;

/** knownEndpointsPath is where a prefix keeps the endpoints it last saw. */
export function knownEndpointsPath(prefix: string): string {
  return join(prefix, KNOWN_ENDPOINTS_FILE);
}

/** readKnownEndpoints returns the client URLs saved under `prefix`, sorted; none when there is no file. */
export async function readKnownEndpoints(prefix: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(knownEndpointsPath(prefix), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return cleanEndpoints(text.split('\n'));
}

// Saves of one prefix run one after another: they share the temp file's name (two at once made
// the second rename find the temp file gone).
const saving = new Map<string, Promise<void>>();

/**
 * saveKnownEndpoints replaces the saved URLs with `urls` (the usable ones), so a crash leaves the
 * old list or the new one; saves of one prefix are written in the order they were asked for.
 */
export function saveKnownEndpoints(prefix: string, urls: readonly string[]): Promise<void> {
  const target = knownEndpointsPath(prefix);
  const saved = (saving.get(target) ?? Promise.resolve()).catch(() => undefined).then(() => writeEndpoints(target, urls));
  saving.set(target, saved);
  saved.then(
    () => saving.get(target) === saved && saving.delete(target),
    () => saving.get(target) === saved && saving.delete(target),
  );
  return saved;
}

async function writeEndpoints(target: string, urls: readonly string[]): Promise<void> {
  const temp = `${target}.${process.pid}.tmp`;
  try {
    // A temp file left by a crashed agent of the same pid goes; 'wx' follows no link planted there.
    await unlink(temp).catch(() => undefined);
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(cleanEndpoints(urls).map((url) => `${url}\n`).join(''));
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

/** cleanEndpoints keeps the distinct `http(s)://host:port` URLs among `values`, sorted and bounded. */
export function cleanEndpoints(values: readonly string[]): string[] {
  const urls = new Set<string>();
  for (const value of values) {
    const text = value.trim();
    if (text === '' || text.length > MAX_URL_CHARS) continue;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      continue;
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.port === '' || url.username !== '' || url.password !== '') continue;
    urls.add(`${url.protocol}//${url.host}`);
  }
  return [...urls].sort().slice(0, MAX_ENDPOINTS);
}
