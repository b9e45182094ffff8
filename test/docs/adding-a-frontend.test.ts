import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { NEVER, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { runAgent, type AgentOptions } from '../../src/agent.js';
import { parseFlags } from '../../src/cli/flags.js';
import { InputError, UsageError } from '../../src/errors.js';
import type { LogEvent } from '../../src/log/events.js';
import { codeFrontend, type DeclaredGraph, helloFromFlags } from '../fixtures/frontends/hello.js';
import { helloRow } from '../fixtures/frontends/hello-row.js';
import { waitFor } from '../helpers/log.js';
import { useTempDirs } from '../helpers/tmp.js';
import { codeBlock } from './code-blocks.js';

const DOC = join(import.meta.dirname, '../../docs/adding-a-frontend.md');
const FIXTURES = join(import.meta.dirname, '../fixtures/frontends');

/** agentRun runs the agent on `options.frontend` as `mgmt run` would, keeping its JSON event log. */
function agentRun(options: Pick<AgentOptions, 'frontend'> & Partial<AgentOptions>) {
  const stdout = new PassThrough();
  let text = '';
  stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const events = (): LogEvent[] => text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as LogEvent);
  const base = { hostname: 'h1', convergedTimeout: 0, graphvizFilter: 'dot', tmpPrefix: true, noop: false, logFormat: 'json', verbose: false, stops: NEVER, reloads: NEVER } as const;
  const code = runAgent({ ...base, ...options }, { stdout, stderr: new PassThrough() });
  return { code, events };
}

describe('docs/adding-a-frontend.md', () => {
  const tempDir = useTempDirs();

  it('GIVEN the doc THEN its frontend is the tested fixture, imports written as from src/frontend/', async () => {
    const shown = codeBlock(await readFile(DOC, 'utf8'), 'ts', 'src/frontend/hello.ts');
    const fixture = await readFile(join(FIXTURES, 'hello.ts'), 'utf8');
    expect(shown).toBe(fixture.replaceAll("from '../../../src/frontend/", "from './").replaceAll("from '../../../src/", "from '../"));
  });

  it('GIVEN the doc THEN its command-table row is the tested fixture\'s, loading the module from src/frontend/', async () => {
    const shown = codeBlock(await readFile(DOC, 'utf8'), 'ts', 'src/cli/commands.ts');
    const fixture = await readFile(join(FIXTURES, 'hello-row.ts'), 'utf8');
    const row = fixture.slice(fixture.indexOf('frontendCommand({'), fixture.lastIndexOf('});') + 2);
    expect(shown).toBe(`${row.replace("import('./hello.js')", "import('../frontend/hello.js')")},\n`);
  });

  it('GIVEN `mgmt hello --path FILE --message TEXT` parsed with the row\'s flags WHEN the agent runs it THEN the file holds the message and the run converges', async () => {
    const path = join(await tempDir(), 'greeting');
    const { flags, positional } = parseFlags(['--path', path, '--message', 'hi there', '--converged-timeout', '0'], helloRow.flags, 'hello');
    expect(flags['converged-timeout']).toBe(0);
    const { frontend, origin } = helloFromFlags(flags, positional, { noop: false, sema: -1 });
    const run = agentRun({ frontend, origin });
    expect(await run.code).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe('hi there\n');
    expect(run.events().filter((e) => e.event === 'graph').map((e) => e.graph)).toEqual(['hello']);
    expect(run.events().at(-1)).toMatchObject({ event: 'exit', code: 0, reason: 'converged' });
  });

  it('GIVEN a relative --path THEN the factory refuses it before anything runs', () => {
    const { flags, positional } = parseFlags(['--path', 'greeting'], helloRow.flags, 'hello');
    expect(() => helloFromFlags(flags, positional, { noop: false, sema: -1 })).toThrow(new UsageError('mgmt hello: --path must be an absolute file path, not "greeting"'));
  });

  it('GIVEN a first graph with bad resources THEN the run fails with every problem at once and applies nothing', async () => {
    const declare = (): DeclaredGraph => ({ name: 'bad', resources: [{ kind: 'nosuch', name: 'x' }, { kind: 'file', name: 'relative', params: { mode: 'rwx' } }] });
    const run = agentRun({ frontend: codeFrontend(declare, { noop: false, sema: -1 }) });
    const error = await run.code.catch((err: unknown) => err);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toContain('nosuch[x]: unknown kind "nosuch"');
    expect((error as InputError).message).toContain('file[relative]:');
  });

  it('GIVEN a running graph WHEN a reload declares a new graph, then a broken one THEN the new one is swapped in and the broken one only logged', async () => {
    const dir = await tempDir();
    let declared: DeclaredGraph = { name: 'one', resources: [{ kind: 'file', name: join(dir, 'a'), params: { content: 'first' } }] };
    const reloads = new Subject<void>();
    const stops = new Subject<string>();
    const run = agentRun({ frontend: codeFrontend(() => declared, { noop: false, sema: -1 }), convergedTimeout: -1, reloads, stops });
    await waitFor(() => readFileOr(join(dir, 'a')) === 'first', 'the first graph to apply');
    declared = { name: 'two', resources: [{ kind: 'file', name: join(dir, 'b'), params: { content: 'second' } }] };
    reloads.next();
    await waitFor(() => readFileOr(join(dir, 'b')) === 'second', 'the second graph to apply');
    declared = { name: 'three', resources: [{ kind: 'nosuch', name: 'x' }] };
    reloads.next();
    await waitFor(() => run.events().some((e) => e.event === 'error' && e.phase === 'reload'), 'the broken graph to be logged');
    stops.next('test');
    expect(await run.code).toBe(0);
    expect(run.events().filter((e) => e.event === 'graph').map((e) => e.graph)).toEqual(['one', 'two']);
  });
});

/** readFileOr reads a file's text; '' when it does not exist yet. */
function readFileOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
