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
});
