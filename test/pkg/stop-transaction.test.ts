import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { descendants, scriptsToStop, type ProcessInfo } from '../../src/pkg/stop-transaction.js';

const proc = (pid: number, ppid: number, session: number, ...args: string[]): ProcessInfo => ({ pid, ppid, session, args });

describe('scriptsToStop', () => {
  it('GIVEN apt-get downloading (no other session below it) THEN no script is stopped (apt-get has its SIGINT)', () => {
    expect(scriptsToStop(100, [proc(101, 100, 100, '/usr/lib/apt/methods/http')])).toEqual([]);
    expect(scriptsToStop(100, [])).toEqual([]);
  });

  it('GIVEN dpkg running a preinst THEN the script and what it started get SIGTERM, never apt-get nor dpkg', () => {
    const tree = [
      proc(200, 100, 200, '/usr/bin/dpkg', '--unpack', 'x.deb'),
      proc(201, 200, 200, '/bin/sh', '/var/lib/dpkg/tmp.ci/preinst', 'install'),
      proc(202, 201, 200, 'sleep', '30'),
    ];
    expect(scriptsToStop(100, tree)).toEqual([201, 202]);
  });

  it('GIVEN dpkg unwinding a package (a script called with abort-*) THEN that script and its children are left alone', () => {
    const tree = [
      proc(200, 100, 200, '/usr/bin/dpkg', '--unpack', 'x.deb'),
      proc(203, 200, 200, '/bin/sh', '/var/lib/dpkg/info/x.postrm', 'abort-install'),
      proc(204, 203, 200, 'rm', '-f', '/etc/x'),
    ];
    expect(scriptsToStop(100, tree)).toEqual([]);
  });

  it('GIVEN dpkg alone (unpacking files) THEN nobody is signalled yet: dpkg is waited for', () => {
    expect(scriptsToStop(100, [proc(200, 100, 200, '/usr/bin/dpkg', '--unpack', 'x.deb')])).toEqual([]);
  });
});

describe('descendants', () => {
  it('GIVEN a real process with a child and a grandchild THEN both are listed from /proc with their sessions', async () => {
    const child = spawn('/bin/sh', ['-c', 'sleep 30 & wait'], { detached: true, stdio: 'ignore' });
    try {
      let found: ProcessInfo[] = [];
      for (let tries = 0; tries < 200 && !found.some((p) => p.args[0] === 'sleep'); tries++) {
        found = await descendants(child.pid!);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(found.map((p) => p.args)).toEqual([['sleep', '30']]);
      expect(found[0]!.session).toBe(child.pid);
    } finally {
      process.kill(-child.pid!, 'SIGKILL');
    }
  });
});
