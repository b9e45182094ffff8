import { readFileSync } from 'node:fs';
import { readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/core/registry.js';
import { writeFileAtomic } from '../../src/os/atomic-write.js';
import { loadGraph } from '../../src/frontend/yaml-load.js';
import { builtinKinds } from '../../src/resources/index.js';
import { validateResource } from '../../src/resources/validate.js';
import { line } from '../fixtures/kinds/line.js';
import { makeContext } from '../helpers/context.js';
import { idle, useEngines } from '../helpers/engine.js';
import { buildGraph } from '../helpers/graph.js';
import { waitFor } from '../helpers/log.js';
import { useTempDirs } from '../helpers/tmp.js';
import { codeBlock, indent } from './code-blocks.js';

const DOC = join(import.meta.dirname, '../../docs/adding-a-kind.md');
const FIXTURE = join(import.meta.dirname, '../fixtures/kinds/line.ts');

describe('docs/adding-a-kind.md', () => {
  const tempDir = useTempDirs();
  const makeEngine = useEngines();

  it('GIVEN the doc THEN its kind is the tested fixture, imports written as from src/resources/', async () => {
    const kind = codeBlock(await readFile(DOC, 'utf8'), 'ts', 'src/resources/line.ts');
    // The only difference: the fixture lives three directories below the repository, the doc's file in src/resources/.
    expect(kind).toBe((await readFile(FIXTURE, 'utf8')).replaceAll("from '../../../src/", "from '../"));
  });

  it('GIVEN the doc\'s YAML example WHEN it is loaded with the kind registered THEN it compiles to one line resource', async () => {
    const dir = await tempDir();
    const yaml = codeBlock(await readFile(DOC, 'utf8'), 'yaml', 'line.yaml');
    await writeFile(join(dir, 'line.yaml'), yaml);
    const loaded = await loadGraph(join(dir, 'line.yaml'), { registry: createRegistry([...builtinKinds(), line]) });
    expect([...loaded.graph.vertices.keys()]).toEqual(['line[motd-greeting]']);
    expect(loaded.warnings).toEqual([]);
  });

  it('GIVEN bad parameters THEN validate names each problem with the bad value', () => {
    const params = { ...line.defaults('relative'), state: 'gone' };
    expect(validateResource(line, 'relative', params).map((problem) => `${problem.param}: ${problem.reason}`)).toEqual([
      'path: must be an absolute path, not "relative"',
      'line: must not be empty',
      'state: must be exists or absent, not "gone"',
    ]);
  });

  it('GIVEN the doc THEN its test example is a test of this file, word for word', async () => {
    const example = codeBlock(await readFile(DOC, 'utf8'), 'ts', 'test/resources/line.test.ts');
    expect(await readFile(import.meta.filename, 'utf8')).toContain(indent(example, 2));
  });

  it('GIVEN a file without the line WHEN the engine runs the kind THEN the line is appended, and drift is repaired', async () => {
    const path = join(await tempDir(), 'motd');
    await writeFile(path, 'first\nsecond');
    const { engine } = makeEngine();
    await engine.swap(buildGraph([{ name: path, def: line, params: { line: 'hello' } }]));
    await idle(engine);
    expect(await readFile(path, 'utf8')).toBe('first\nsecond\nhello\n');
    // Drift: the file is replaced without the line; the watch sees it and checkApply repairs it. (Replaced
    // at once: a writeFile's truncate is an event too, and a check that read the empty file would
    // rightly converge on "hello" alone.)
    await writeFileAtomic(path, 'edited\n');
    await waitFor(() => readFileSync(path, 'utf8') === 'edited\nhello\n', 'the line to be added again');
  });

  it('GIVEN state absent WHEN the engine runs the kind THEN every copy of the line goes and the other lines stay', async () => {
    const dir = await tempDir();
    const path = join(dir, 'motd');
    await writeFile(path, 'keep\nhello\nalso\nhello\n');
    const { engine } = makeEngine();
    await engine.swap(buildGraph([{ name: path, def: line, params: { line: 'hello', state: 'absent' } }]));
    await idle(engine);
    expect(await readFile(path, 'utf8')).toBe('keep\nalso\n');
  });

  /** liveLine makes a file holding `text` and a live line resource that wants `hello` in it, driven directly. */
  async function liveLine(text: string) {
    const path = join(await tempDir(), 'motd');
    await writeFile(path, text);
    return { path, live: line.init({ ...line.defaults(path), line: 'hello' }, makeContext('line', path)) };
  }

  it('GIVEN noop WHEN the line is missing THEN checkApply reports it and changes nothing', async () => {
    const { path, live } = await liveLine('first\n');
    expect(await live.checkApply(false, new AbortController().signal)).toBe(false);
    expect(await readFile(path, 'utf8')).toBe('first\n');
  });

  it('GIVEN an aborted signal THEN checkApply throws before it writes', async () => {
    const { path, live } = await liveLine('first\n');
    await expect(live.checkApply(true, AbortSignal.abort())).rejects.toThrow();
    expect(await readFile(path, 'utf8')).toBe('first\n');
  });

  it('GIVEN a symlink at the path THEN checkApply refuses and the link\'s target is untouched', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'target'), 'secret\n');
    await symlink(join(dir, 'target'), join(dir, 'motd'));
    const live = line.init({ ...line.defaults(join(dir, 'motd')), line: 'hello' }, makeContext('line', join(dir, 'motd')));
    await expect(live.checkApply(true, new AbortController().signal)).rejects.toThrow(/not a regular file/);
    expect(await readFile(join(dir, 'target'), 'utf8')).toBe('secret\n');
  });
});
