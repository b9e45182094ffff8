// The systemd unit `mgmt service install` writes: its text, how its command line is quoted for
// systemd's ExecStart= syntax, the marker that says mgmt wrote it, and where it goes.

import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/** UNIT_MARKER begins the first line of every unit file mgmt writes; a file without it is not mgmt's to replace or remove. */
export const UNIT_MARKER = '# Written by `mgmt service install`';

// Readiness may take long (a first pass that installs packages): the unit stays "activating" meanwhile
// rather than being killed. A stop takes the agent under a second, but leaving an etcd cluster takes
// up to 5 s more; what is still running after this is killed.
const TIMEOUT_STOP_SEC = 15;
// A crashed agent is started again after this long; a bad graph (exit 2) is not retried: it will not mend itself.
const RESTART_SEC = 5;

/** UnitSettings are what varies between the units mgmt writes. */
export interface UnitSettings {
  /** The command line: the node binary, its flags, the launcher, `run` and the run's flags, all absolute where they are paths. */
  readonly argv: readonly string[];
  /** Type=notify (the agent reports its readiness with systemd-notify) or Type=exec (ready once started). */
  readonly notify: boolean;
  /** NotifyAccess=main works for root, whose systemd-notify may speak for the agent's pid; anyone else needs all. */
  readonly notifyAccess: 'main' | 'all';
  /** A user unit (`systemd --user`), wanted by default.target, or a system unit, wanted by multi-user.target. */
  readonly session: boolean;
}

/** unitText renders the unit file of an agent service. */
export function unitText(settings: UnitSettings): string {
  const lines = [
    `${UNIT_MARKER}; \`mgmt service uninstall\` removes it. Install again to change it.`,
    '[Unit]',
    'Description=mgmt configuration management agent',
    // Clustering talks to other hosts: a system agent starts once the network is up (a user manager has no such target).
    ...(settings.session ? [] : ['Wants=network-online.target', 'After=network-online.target']),
    '',
    '[Service]',
    `Type=${settings.notify ? 'notify' : 'exec'}`,
    ...(settings.notify ? [`NotifyAccess=${settings.notifyAccess}`, 'TimeoutStartSec=infinity'] : []),
    `ExecStart=${execStartLine(settings.argv)}`,
    'Restart=on-failure',
    `RestartSec=${RESTART_SEC}`,
    'RestartPreventExitStatus=2',
    // SIGTERM to the agent alone: it stops its own commands (SIGTERM, then SIGKILL); whatever is left
    // in the unit's cgroup when it has exited is killed by systemd.
    'KillMode=mixed',
    `TimeoutStopSec=${TIMEOUT_STOP_SEC}`,
    'SyslogIdentifier=mgmt',
    '',
    '[Install]',
    `WantedBy=${settings.session ? 'default.target' : 'multi-user.target'}`,
    '',
  ];
  return lines.join('\n');
}

/** writtenByMgmt says whether a unit file's text is one mgmt wrote (its first line is the marker). */
export function writtenByMgmt(text: string): boolean {
  return text.startsWith(UNIT_MARKER);
}

/**
 * execStartLine quotes each argument for ExecStart=: in double quotes, with `\` and `"` escaped,
 * `%` doubled (no specifier is expanded) and `$` doubled (no variable is substituted). A control
 * character cannot be written so that every systemd reads it back: the caller rejects it first.
 */
export function execStartLine(argv: readonly string[]): string {
  return argv
    .map((arg) => {
      const bad = controlCharacter(arg);
      if (bad !== undefined) throw new Error(`execStartLine: ${JSON.stringify(arg)} holds the control character ${bad}`);
      return `"${arg.replace(/[\\"]/g, '\\$&').replace(/%/g, '%%').replace(/\$/g, '$$$$')}"`;
    })
    .join(' ');
}

/** controlCharacter names the first control character (a newline, a tab, ...) in `text` as `\xHH`, or is undefined when there is none. */
export function controlCharacter(text: string): string | undefined {
  const found = /[\x00-\x1f\x7f]/.exec(text);
  return found ? `\\x${found[0].charCodeAt(0).toString(16).padStart(2, '0')}` : undefined;
}

/**
 * unitDirectory is where the unit goes: /etc/systemd/system for the system manager; for the user
 * manager `$XDG_CONFIG_HOME/systemd/user` (an absolute XDG_CONFIG_HOME only, as the XDG spec
 * says), else `~/.config/systemd/user`.
 */
export function unitDirectory(session: boolean, env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (!session) return '/etc/systemd/system';
  const config = env.XDG_CONFIG_HOME;
  if (config !== undefined && isAbsolute(config)) return join(config, 'systemd', 'user');
  return join(env.HOME || homedir(), '.config', 'systemd', 'user');
}
