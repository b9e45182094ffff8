import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main, reportError } from '../../src/cli/main.js';
import { InputError } from '../../src/errors.js';

class Captured extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

async function runMain(argv: string[]) {
  const stdout = new Captured();
  const stderr = new Captured();
  const code = await main(argv, { stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('mgmt command line', () => {
  it('GIVEN no command THEN usage on stdout and exit 2', async () => {
    const result = await runMain([]);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('usage: mgmt <command>');
  });

  it('GIVEN an unknown command THEN a usage error and exit 2', async () => {
    const result = await runMain(['deploy']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('mgmt: unknown command "deploy"');
  });

  it('GIVEN run --help THEN the flag table and exit 0', async () => {
    const result = await runMain(['run', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--converged-timeout N');
  });

  it('GIVEN --version THEN the version', async () => {
    expect((await runMain(['--version'])).stdout).toMatch(/^mgmt \d+\.\d+\.\d+\n$/);
  });

  it('GIVEN an expected error THEN its message alone; GIVEN anything else THEN "this is a bug" with the stack', () => {
    const stderr = new Captured();
    expect(reportError(new InputError({ message: 'bad' }), { stdout: new Captured(), stderr })).toBe(2);
    expect(stderr.text).toBe('bad\n');
    const bug = new Captured();
    expect(reportError(new TypeError('oops'), { stdout: new Captured(), stderr: bug })).toBe(70);
    expect(bug.text).toMatch(/internal error \(this is a bug, please report it\):\nTypeError: oops\n\s+at /);
  });

  it('finding 10: GIVEN a second graph file after --yaml (or after a positional graph) THEN exit 2 naming it, nothing run', async () => {
    for (const argv of [
      ['run', '--yaml', 'a.yaml', 'b.yaml'],
      ['run', 'a.yaml', 'b.yaml'],
      ['check', '--yaml', 'a.yaml', 'b.yaml'],
    ]) {
      const result = await runMain(argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr).toBe(`mgmt ${argv[0]}: unexpected argument "b.yaml" (one graph: --yaml FILE)\n`);
    }
  });

  it('finding 10: GIVEN --sema 0 (or below -1) THEN exit 2 before the graph is read; the help says N > 0', async () => {
    for (const sema of ['0', '-2']) {
      const result = await runMain(['run', '--yaml', '/nonexistent/graph.yaml', '--sema', sema]);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(`mgmt run: --sema must be a number above 0 (or -1 for no limit), not ${sema}\n`);
    }
    expect((await runMain(['run', '--help'])).stdout).toMatch(/--sema N +at most N checkApply runs at once \(N > 0; -1 = no limit\)/);
  });
});
