// The seed's exchange of exported files (seeds/000, "graph3c.yaml"): every host keeps some files,
// exports others (`@@`), and collects every host's exported files into its own directory.

import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LogEvent } from '../../src/log/events.js';
import type { MgmtProcess } from './cli.js';
import { waitFor } from './log.js';

/** ExchangeFiles names the files a host keeps to itself and the ones it exports. */
export interface ExchangeFiles {
  /** Applied on this host only. */
  readonly locals: readonly string[];
  /** Exported with `@@`: applied on every collecting host (this one included), not directly here. */
  readonly exports: readonly string[];
}

/** seedFiles are upstream's exchange demo's four files of a host: f1 and f2 kept, f3 and f4 exported. */
export function seedFiles(host: string): ExchangeFiles {
  return { locals: [`f1${host}`, `f2${host}`], exports: [`f3${host}`, `f4${host}`] };
}

/** exchangeDir is the directory a host keeps its files in and collects into (upstream's /tmp/mgmtA). */
export function exchangeDir(root: string, host: string): string {
  return join(root, `mgmt${host}`);
}

/** fileContent is what host `host` writes into its file `name`, so a collected copy shows who made it. */
export function fileContent(host: string, name: string): string {
  return `i am ${name}, from host ${host}\n`;
}

/**
 * writeExchangeGraph writes (or rewrites: a running agent reloads it) the YAML graph of `host`
 * under `root`: its files in its exchange directory, collecting `kind: file` there. It returns
 * the YAML's path.
 */
export async function writeExchangeGraph(root: string, host: string, files: ExchangeFiles): Promise<string> {
  const dir = exchangeDir(root, host);
  await mkdir(dir, { recursive: true });
  const entry = (name: string, exported: boolean): string =>
    `  - {name: "${exported ? '@@' : ''}${name}", path: "${dir}/${name}", content: ${JSON.stringify(fileContent(host, name))}, state: exists}\n`;
  const yaml = join(root, `${host}.yaml`);
  await writeFile(
    yaml,
    `graph: exchange-${host}
resources:
  file:
${files.locals.map((name) => entry(name, false)).join('')}${files.exports.map((name) => entry(name, true)).join('')}collect:
- kind: file
  pattern: "${dir}/"
edges: []
`,
  );
  return yaml;
}

/** expectedFiles maps each file a host should hold to its content: its own locals, and every export of every host. */
export function expectedFiles(host: string, own: ExchangeFiles, exporters: Readonly<Record<string, ExchangeFiles>>): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of own.locals) files[name] = fileContent(host, name);
  for (const [exporter, theirs] of Object.entries(exporters)) for (const name of theirs.exports) files[name] = fileContent(exporter, name);
  return files;
}

/** listFiles lists a directory's entries, sorted, leaving out the file resource's in-flight `.name.mgmt-*` temp files. */
export function listFiles(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((name) => !/^\..*\.mgmt-[0-9a-z]+$/.test(name))
      .sort();
  } catch {
    return [];
  }
}

/** waitForFiles waits until `dir` holds exactly the files of `want`, each with its content. */
export async function waitForFiles(dir: string, want: Readonly<Record<string, string>>, what: string, timeoutMs = 60_000): Promise<void> {
  const names = Object.keys(want).sort();
  const matches = (): boolean => {
    if (listFiles(dir).join('\n') !== names.join('\n')) return false;
    return names.every((name) => {
      try {
        return readFileSync(join(dir, name), 'utf8') === want[name];
      } catch {
        return false;
      }
    });
  };
  try {
    await waitFor(matches, what, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}: ${dir} holds [${listFiles(dir).join(', ')}], wanted [${names.join(', ')}]`);
  }
}

/** lastEvent is the latest event of a kind a process logged at or after index `since`. */
export function lastEvent(proc: MgmtProcess, event: string, since = 0): LogEvent | undefined {
  for (let i = proc.events.length - 1; i >= since; i--) if (proc.events[i]!.event === event) return proc.events[i];
  return undefined;
}

/**
 * waitForLast waits until the latest event of a kind (logged at or after `since`) is one `accept`
 * takes: what a host did last, not what it passed through on the way.
 */
export async function waitForLast(
  proc: MgmtProcess,
  event: string,
  accept: (event: LogEvent) => boolean,
  what: string,
  since = 0,
  timeoutMs = 60_000,
): Promise<LogEvent> {
  try {
    await waitFor(() => {
      const last = lastEvent(proc, event, since);
      return last !== undefined && accept(last);
    }, what, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}; the last ${event} event is ${JSON.stringify(lastEvent(proc, event, since))}`);
  }
  return lastEvent(proc, event, since)!;
}
