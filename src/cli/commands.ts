import type { Command } from './command.js';
import { frontendCommand } from './frontend-command.js';
import { ADMIN_FLAGS, CHECK_FLAGS, RUN_FLAGS, YAML_RUN_FLAGS } from './run-flags.js';

/**
 * COMMANDS is the command table: one row per command, its module imported only when it runs. A
 * frontend's `run` is one frontendCommand row (docs/adding-a-frontend.md).
 */
export const COMMANDS: readonly Command[] = [
  frontendCommand({
    name: 'run',
    summary: 'apply a graph and keep the host in that state',
    usage: 'mgmt run --yaml FILE [flags]',
    flags: YAML_RUN_FLAGS,
    frontend: async () => (await import('../frontend/yaml.js')).yamlFromFlags,
  }),
  {
    name: 'check',
    summary: 'validate and compile a graph without touching the system',
    usage: 'mgmt check --yaml FILE [--format text|json]',
    flags: CHECK_FLAGS,
    load: async () => (await import('./check-command.js')).checkCommand,
  },
  {
    name: 'token',
    summary: 'make a join token for a new host (on a server host)',
    usage: 'mgmt token create --prefix DIR [--ttl 15m] [--uses 1] [--host NAME] [--endpoints URLS]',
    flags: [
      ...ADMIN_FLAGS,
      { name: 'ttl', type: 'string', default: '15m', doc: 'how long the token works: 90s, 15m, 12h, 30d' },
      { name: 'uses', type: 'int', default: 1, doc: 'how many hosts may join with it' },
      { name: 'host', type: 'string', doc: 'only this host may join with it (it may replace an existing host of that name)' },
    ],
    load: async () => (await import('./token-command.js')).tokenCommand,
  },
  {
    name: 'host',
    summary: 'list the cluster\'s hosts, or revoke one (on a server host)',
    usage: 'mgmt host list --prefix DIR [--format text|json] | mgmt host revoke NAME --prefix DIR [--yes]',
    flags: [
      ...ADMIN_FLAGS,
      { name: 'format', aliases: ['log-format'], type: 'choice', choices: ['text', 'json'], default: 'text', doc: 'list: a table, or one JSON array' },
      { name: 'yes', type: 'bool', doc: 'revoke without asking (needed when stdin is not a terminal)' },
    ],
    load: async () => (await import('./host-command.js')).hostCommand,
  },
  {
    name: 'service',
    summary: 'run the agent as a systemd service: install, uninstall or status',
    usage: 'mgmt service install --yaml FILE [--session] [--name NAME] [--force] [run flags] | mgmt service uninstall|status [--session] [--name NAME]',
    flags: [
      { name: 'session', type: 'bool', doc: 'a unit of your user manager (systemd --user) instead of the system\'s' },
      { name: 'name', type: 'string', doc: 'the unit is mgmt-NAME.service instead of mgmt.service (several agents side by side)' },
      { name: 'force', type: 'bool', doc: 'replace or remove a unit file that mgmt did not write' },
      ...RUN_FLAGS,
    ],
    load: async () => (await import('./service-command.js')).serviceCommand,
  },
];

