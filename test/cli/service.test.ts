// `mgmt service`: the unit it writes and how it quotes the command line (pure), and the command
// lines it refuses before anything is written (real processes; no systemd is reached).

import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFlags } from '../../src/cli/flags.js';
import { RUN_FLAGS } from '../../src/cli/run-flags.js';
import { launcherNodeFlags, runArguments } from '../../src/cli/service-args.js';
import { execStartLine, unitDirectory, unitText, writtenByMgmt } from '../../src/cli/service-unit.js';
import { MGMT_BIN, runMgmt } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/tmp.js';

describe('the unit file', () => {
  it('GIVEN arguments with spaces, quotes, backslashes, % and $ THEN each is one double-quoted word with nothing for systemd to expand', () => {
    expect(execStartLine(['/usr/bin/node', 'a b', 'say "hi"', 'back\\slash', '100%', '$HOME', "it's"])).toBe(
      '"/usr/bin/node" "a b" "say \\"hi\\"" "back\\\\slash" "100%%" "$$HOME" "it\'s"',
    );
  });

  it('GIVEN an argument with a newline or another control character THEN it is refused, not written', () => {
    expect(() => execStartLine(['/bin/x', 'a\nb'])).toThrow(/control character \\x0a/);
    expect(() => execStartLine(['/bin/x', 'a\tb'])).toThrow(/control character \\x09/);
  });

  it('GIVEN a system and a user unit THEN the text says how the agent is started, restarted, stopped and made ready', () => {
    expect(unitText({ argv: ['/usr/bin/node', '/opt/mgmt/bin/mgmt.js', 'run', '--yaml=/etc/mgmt/graph.yaml'], notify: true, notifyAccess: 'main', session: false })).toMatchInlineSnapshot(`
      "# Written by \`mgmt service install\`; \`mgmt service uninstall\` removes it. Install again to change it.
      [Unit]
      Description=mgmt configuration management agent
      Wants=network-online.target
      After=network-online.target

      [Service]
      Type=notify
      NotifyAccess=main
      TimeoutStartSec=infinity
      ExecStart="/usr/bin/node" "/opt/mgmt/bin/mgmt.js" "run" "--yaml=/etc/mgmt/graph.yaml"
      Restart=on-failure
      RestartSec=5
      RestartPreventExitStatus=2
      KillMode=mixed
      TimeoutStopSec=15
      SyslogIdentifier=mgmt

      [Install]
      WantedBy=multi-user.target
      "
    `);
    const user = unitText({ argv: ['/usr/bin/node'], notify: false, notifyAccess: 'all', session: true });
    expect(user).toContain('\nType=exec\n');
    expect(user).not.toMatch(/NotifyAccess|network-online|TimeoutStartSec/);
    expect(user).toContain('\nWantedBy=default.target\n');
    expect(writtenByMgmt(user)).toBe(true);
    expect(writtenByMgmt('[Service]\nExecStart=/bin/true\n')).toBe(false);
  });

  it('GIVEN the system or the user manager THEN the unit goes in its directory, honouring an absolute XDG_CONFIG_HOME', () => {
    expect(unitDirectory(false, { HOME: '/home/a', XDG_CONFIG_HOME: '/cfg' })).toBe('/etc/systemd/system');
    expect(unitDirectory(true, { HOME: '/home/a', XDG_CONFIG_HOME: '/cfg' })).toBe('/cfg/systemd/user');
    expect(unitDirectory(true, { HOME: '/home/a', XDG_CONFIG_HOME: 'relative' })).toBe('/home/a/.config/systemd/user');
    expect(unitDirectory(true, { HOME: '/home/a' })).toBe('/home/a/.config/systemd/user');
  });

  it('GIVEN the launcher THEN the service starts node with the flags of its first line', async () => {
    expect(launcherNodeFlags(await readFile(MGMT_BIN, 'utf8'))).toEqual(['--max-semi-space-size=4']);
    expect(launcherNodeFlags('#!/usr/bin/env node\n')).toEqual([]);
    expect(launcherNodeFlags('// no interpreter line\n')).toEqual([]);
  });

  it('GIVEN run flags THEN those given are kept as --name=value, defaults left out, and paths made absolute', () => {
    const { flags } = parseFlags(
      ['--yaml', 'g.yaml', '--prefix=state', '--seeds', 'a:1', '--seeds', 'b:2', '--noop', '--sema', '-1', '--converged-timeout', '5', '--etcd-binary', 'etcd', '--graphviz', 'out/g.dot'],
      RUN_FLAGS,
      'run',
    );
    expect(runArguments(flags, RUN_FLAGS, 'service install')).toEqual([
      `--yaml=${resolve('g.yaml')}`,
      '--converged-timeout=5',
      `--graphviz=${resolve('out/g.dot')}`,
      `--prefix=${resolve('state')}`,
      '--noop',
      '--seeds=a:1',
      '--seeds=b:2',
      '--etcd-binary=etcd',
    ]);
    const { flags: newline } = parseFlags(['--hostname', 'a\nb'], RUN_FLAGS, 'run');
    expect(() => runArguments(newline, RUN_FLAGS, 'service install')).toThrow(/^mgmt service install: --hostname "a\\nb" holds the control character \\x0a/);
  });
});

describe('mgmt service refuses, writing nothing', () => {
  const tempDir = useTempDirs();

  /** refused runs `mgmt service ARGS --session` with HOME in a temp dir, so a unit would land in it. */
  const serviceIn = async (home: string, args: readonly string[]) => runMgmt(['service', ...args, '--session'], { env: { HOME: home, XDG_CONFIG_HOME: '', DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' } });

  it('GIVEN bad command lines THEN each is one line on stderr, exit 2, and no unit directory', async () => {
    const home = await tempDir();
    const good = join(home, 'good.yaml');
    await writeFile(good, 'graph: g\nresources:\n  noop:\n  - name: n\n');
    const bad = join(home, 'bad.yaml');
    await writeFile(bad, 'graph: g\nresources:\n  file:\n  - name: /tmp/f\n    mode: banana\n');
    const cases: [string[], RegExp][] = [
      [['install'], /^mgmt service install: --yaml FILE is required\n$/],
      [['install', '--yaml', join(home, 'missing.yaml')], /missing\.yaml/],
      [['install', '--yaml', bad], /bad\.yaml:5:\d+: file\[\/tmp\/f\]: .*mode/],
      [['install', '--yaml', good, '--bogus'], /^mgmt service: unknown flag --bogus/],
      [['install', '--yaml', good, '--sema', '0'], /^mgmt service install: --sema must be a number above 0/],
      [['install', '--yaml', good, '--client-urls', 'nonsense'], /^mgmt service install: --client-urls: nonsense needs a port\n$/],
      [['install', '--yaml', good, '--token', 'secret'], /^mgmt service install: --token would be readable by every user in the unit: use --token-file\n$/],
      [['install', '--yaml', good, '--hostname', 'a\tb'], /hostname/],
      [['install', '--yaml', good, '--graphviz', 'a\nb.dot'], /^mgmt service install: --graphviz "a\\nb.dot" holds the control character \\x0a, which a systemd unit cannot hold\n$/],
      [['install', '--yaml', good, '--name', 'a b'], /^mgmt service install: --name "a b": use letters, digits/],
      [['uninstall', '--yaml', good], /^mgmt service uninstall: --yaml=.* is for install only\n$/],
      [[], /^mgmt service: say what to do: install, uninstall or status\n$/],
      [['start'], /^mgmt service: unknown action "start"/],
    ];
    for (const [args, message] of cases) {
      const result = await serviceIn(home, args);
      expect({ args, code: result.code, stderr: result.stderr }).toMatchObject({ code: 2, stderr: expect.stringMatching(message) });
      expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
    expect(existsSync(join(home, '.config'))).toBe(false);
  });

  it('GIVEN a unit file mgmt did not write, or a link in its place THEN install and uninstall leave it alone', async () => {
    const home = await tempDir();
    const graph = join(home, 'graph.yaml');
    await writeFile(graph, 'graph: g\nresources:\n  noop:\n  - name: n\n');
    const unitDir = join(home, '.config', 'systemd', 'user');
    await mkdir(unitDir, { recursive: true });
    const foreign = '[Service]\nExecStart=/usr/bin/other\n';
    await writeFile(join(unitDir, 'mgmt.service'), foreign);
    for (const args of [['install', '--yaml', graph], ['uninstall']]) {
      const result = await serviceIn(home, args);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/mgmt\.service was not written by mgmt \(its first line is not the mgmt marker\): not mgmt's to replace or remove \(--force does it anyway\)\n$/);
    }
    expect(await readFile(join(unitDir, 'mgmt.service'), 'utf8')).toBe(foreign);
    const { symlink } = await import('node:fs/promises');
    await symlink('/dev/null', join(unitDir, 'mgmt-masked.service'));
    const masked = await serviceIn(home, ['uninstall', '--name', 'masked']);
    expect(masked.code).toBe(2);
    expect(masked.stderr).toMatch(/mgmt-masked\.service is a symbolic link/);
  });

  it('GIVEN no unit file WHEN uninstalled THEN there is nothing to do: exit 0 without asking systemd', async () => {
    const home = await tempDir();
    const result = await serviceIn(home, ['uninstall', '--name', 'web']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`mgmt service uninstall: ${join(home, '.config/systemd/user/mgmt-web.service')} does not exist: nothing to do\n`);
  });

  it('GIVEN a good graph but no reachable manager WHEN installed THEN it fails with the bus named, and writes no unit', async () => {
    const home = await tempDir();
    const graph = join(home, 'graph.yaml');
    await writeFile(graph, 'graph: g\nresources:\n  noop:\n  - name: n\n');
    const result = await serviceIn(home, ['install', '--yaml', graph]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^mgmt service install: cannot talk to the user manager at unix:path=\/nonexistent\/bus: .*\n$/);
    expect(existsSync(join(home, '.config', 'systemd', 'user', 'mgmt.service'))).toBe(false);
  });
});
